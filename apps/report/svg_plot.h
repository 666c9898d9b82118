// render_svg: a small, dependency-free SVG line-chart renderer, for `fkemu bench --plot FILE.svg`
// (latency CDFs; watch notification latency against the number of watchers, on a log x axis).
//
// The document holds the charts stacked vertically. Each chart has a title, a framed plot area
// (<rect class="plot-area">) with grid lines, "nice" ticks (steps of 1, 2 or 5 times a power of ten
// on a linear axis, whole decades on a log axis), tick labels, axis labels and a legend to the
// right of the plot area. Every series is one <polyline class="series-line"> through its points in
// the given order (plus a circle per point when it has at most kMaxMarkers points), coloured from a
// fixed colour-blind-friendly palette (Okabe-Ito), cycling; after each full cycle of the palette
// the lines are also dashed differently, so that series stay distinguishable.
//
// The axes span the data (rounded outwards to the ticks), so every point lies inside the plot area.
// Text is XML-escaped; the output is a pure function of the input: fixed-precision number
// formatting with std::to_chars, no locale, no clock.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace fkemu {

struct PlotSeries {
  std::string label;
  std::vector<std::pair<double, double>> points;  // (x, y), joined in this order
};

struct PlotChart {
  std::string title, x_label, y_label;
  bool log_x = false;  // log10 x axis; every x must then be > 0
  std::vector<PlotSeries> series;
};

// Series with at most this many points get a marker per point.
inline constexpr size_t kMaxMarkers = 40;

// One standalone SVG document (starting with "<svg", no XML declaration) with the charts stacked
// vertically, top to bottom. Errors (BadArguments, naming chart and series by 1-based position and
// label): no charts, a chart without series, a series without points, a non-finite coordinate, an
// x <= 0 on a log axis, a data range too large to represent.
Result<std::string> render_svg(const std::vector<PlotChart>& charts);

}  // namespace fkemu
