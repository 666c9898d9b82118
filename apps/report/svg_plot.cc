// render_svg: validation, axis ticks, layout and the SVG text of the charts.
#include "apps/report/svg_plot.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <locale>
#include <sstream>
#include <string_view>
#include <system_error>

namespace fkemu {

namespace {

// Layout, in SVG user units (pixels). Each chart occupies a band of the document; inside it the
// plot area starts kPlotLeft from the left and kPlotTop from the band's top.
constexpr double kPlotLeft = 80;
constexpr double kPlotWidth = 560;
constexpr double kPlotTop = 50;
constexpr double kPlotHeight = 320;
constexpr double kBandBelowPlot = 60;  // tick labels and the x label under the plot area
constexpr double kLegendGap = 24;      // between the plot area and the legend
constexpr double kLegendRow = 18;
constexpr double kLegendSwatch = 24;
constexpr double kMinWidth = 900;
constexpr double kRightPad = 20;
constexpr double kFontSize = 12;                // the document's font-size
constexpr double kCharWidth = 0.6 * kFontSize;  // estimate of a glyph's advance, for the width
constexpr double kTickLength = 5;
constexpr double kMinorTickLength = 3;
constexpr int kTargetIntervals = 5;  // a linear axis gets about this many tick intervals
constexpr int kMaxLabelledDecades = 10;

// Okabe & Ito, "Color Universal Design" (2008): distinguishable with the common colour-vision
// deficiencies. Yellow last: it is the weakest on white.
constexpr std::string_view kPalette[] = {"#0072B2", "#E69F00", "#009E73", "#D55E00",
                                         "#CC79A7", "#56B4E9", "#000000", "#F0E442"};
constexpr size_t kPaletteSize = sizeof(kPalette) / sizeof(kPalette[0]);
// Dash pattern per full cycle of the palette ("" = solid).
constexpr std::string_view kDashes[] = {"", "8 4", "2 3", "8 3 2 3"};
constexpr size_t kDashesSize = sizeof(kDashes) / sizeof(kDashes[0]);

Result<std::string> fail(const std::string& what) {
  return Result<std::string>(Code::BadArguments, "svg plot: " + what);
}

std::string quoted(std::string_view s) {
  std::string out(1, '"');
  out.append(s);
  out.push_back('"');
  return out;
}

// Text as XML character data or attribute value. Characters XML 1.0 does not allow (control
// characters other than tab, newline, carriage return) become '?'.
std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          out.push_back('?');
        } else {
          out.push_back(c);
        }
    }
  }
  return out;
}

// Code points of UTF-8 text (continuation bytes not counted), for the width estimate.
size_t text_length(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// "-0", "-0.00" -> "0", "0.00": a value that rounds to zero has no sign.
void drop_negative_zero(std::string* s) {
  if (s->empty() || (*s)[0] != '-') return;
  if (s->find_first_not_of("0.", 1) == std::string::npos) s->erase(0, 1);
}

// v with exactly `decimals` digits after the point; locale-independent.
std::string fixed(double v, int decimals) {
  char buf[512];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed, decimals);
  std::string s = r.ec == std::errc() ? std::string(buf, r.ptr) : std::string("0");
  drop_negative_zero(&s);
  return s;
}

// v rounded to `decimals` digits, trailing zeros (and a trailing point) removed: "0.2", "1",
// "-3.5".
std::string trimmed(double v, int decimals) {
  std::string s = fixed(v, decimals);
  if (s.find('.') != std::string::npos) {
    s.erase(s.find_last_not_of('0') + 1);
    if (s.back() == '.') s.pop_back();
  }
  drop_negative_zero(&s);
  return s;
}

// A coordinate, to 1/100 pixel.
std::string px(double v) { return trimmed(v, 2); }

// 10^e as a label: "1", "10", ..., "0.1", "0.01", ..., else "1e<e>".
// (Appending rather than "1" + std::string: GCC 12 warns falsely about the latter, -Wrestrict.)
std::string decade_text(int e) {
  std::string s;
  if (e >= 0 && e <= 15) {
    s.push_back('1');
    s.append(static_cast<size_t>(e), '0');
  } else if (e < 0 && e >= -6) {
    s.append("0.");
    s.append(static_cast<size_t>(-e - 1), '0');
    s.push_back('1');
  } else {
    s.append("1e");
    s.append(std::to_string(e));
  }
  return s;
}

struct Tick {
  double value;       // data value (log axis: the value itself, not its logarithm)
  std::string label;  // empty: a minor tick, drawn without label or grid line
};

struct Axis {
  bool log = false;
  double lo = 0, hi = 1;  // data range; log axis: decade exponents
  std::vector<Tick> ticks;

  // Position in [0, 1] along the axis.
  double fraction(double v) const {
    const double t = log ? std::log10(v) : v;
    return (t - lo) / (hi - lo);
  }
};

Result<Axis> linear_axis(double mn, double mx) {
  if (mn == mx) {
    if (mn == 0) {
      mx = 1;
    } else {
      const double d = std::fabs(mn) * 0.1;
      mn -= d;
      mx += d;
    }
  }
  const double range = mx - mn;
  if (!std::isfinite(range)) return Result<Axis>(Code::BadArguments, "data range too large");
  const double raw = range / kTargetIntervals;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10 * mag;
  for (double m : {1.0, 2.0, 5.0}) {
    if (m * mag >= raw * (1 - 1e-9)) {
      step = m * mag;
      break;
    }
  }
  const double k0 = std::floor(mn / step + 1e-9);
  const double k1 = std::ceil(mx / step - 1e-9);
  if (!(step > 0) || !std::isfinite(step) || !(k1 - k0 >= 1) || k1 - k0 > 100 ||
      std::fabs(k0) > 1e15 || std::fabs(k1) > 1e15) {
    return Result<Axis>(Code::BadArguments, "cannot place ticks on the data range");
  }
  Axis axis;
  axis.lo = k0 * step;
  axis.hi = k1 * step;
  // Scientific notation where fixed would be unreadable; else just enough decimals for the step.
  const bool general = step >= 1e7 || step < 1e-6;
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  const auto n = static_cast<int64_t>(k1 - k0);
  for (int64_t k = 0; k <= n; ++k) {
    const double v = (k0 + static_cast<double>(k)) * step;
    std::string label;
    if (general) {
      char buf[64];
      const auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::general, 6);
      label.assign(buf, r.ptr);
      drop_negative_zero(&label);
    } else {
      label = trimmed(v, decimals);
    }
    axis.ticks.push_back({v, label});
  }
  return axis;
}

Result<Axis> log_axis(double mn, double mx) {
  auto pow10 = [](int e) { return std::pow(10.0, e); };
  int e0 = static_cast<int>(std::floor(std::log10(mn)));
  while (pow10(e0) > mn) --e0;
  while (pow10(e0 + 1) <= mn) ++e0;
  int e1 = static_cast<int>(std::ceil(std::log10(mx)));
  while (pow10(e1) < mx) ++e1;
  while (e1 - 1 >= e0 && pow10(e1 - 1) >= mx) --e1;
  if (e1 <= e0) e1 = e0 + 1;
  Axis axis;
  axis.log = true;
  axis.lo = e0;
  axis.hi = e1;
  const int decades = e1 - e0;
  const int stride = (decades + kMaxLabelledDecades - 1) / kMaxLabelledDecades;
  for (int e = e0; e <= e1; ++e) {
    if ((e - e0) % stride == 0) axis.ticks.push_back({pow10(e), decade_text(e)});
    if (stride == 1 && e < e1) {
      for (int m = 2; m <= 9; ++m) axis.ticks.push_back({m * pow10(e), ""});
    }
  }
  return axis;
}

// Checks every chart; the message names the first problem.
Status validate(const std::vector<PlotChart>& charts) {
  if (charts.empty()) return Status(Code::BadArguments, "svg plot: no charts");
  for (size_t c = 0; c < charts.size(); ++c) {
    const PlotChart& chart = charts[c];
    const std::string where = "chart " + std::to_string(c + 1) + " " + quoted(chart.title);
    if (chart.series.empty())
      return Status(Code::BadArguments, "svg plot: " + where + ": no series");
    for (size_t s = 0; s < chart.series.size(); ++s) {
      const PlotSeries& series = chart.series[s];
      const std::string in =
          where + ", series " + std::to_string(s + 1) + " " + quoted(series.label);
      if (series.points.empty())
        return Status(Code::BadArguments, "svg plot: " + in + ": no points");
      for (size_t p = 0; p < series.points.size(); ++p) {
        const auto [x, y] = series.points[p];
        const std::string point = "point " + std::to_string(p + 1);
        if (!std::isfinite(x) || !std::isfinite(y)) {
          return Status(Code::BadArguments,
                        "svg plot: " + in + ": " + point + " has a non-finite coordinate");
        }
        if (chart.log_x && x <= 0) {
          std::ostringstream text;
          text.imbue(std::locale::classic());
          text << x;
          return Status(Code::BadArguments, "svg plot: " + in + ": " + point + " has x = " +
                                                text.str() + " on a log axis (must be > 0)");
        }
      }
    }
  }
  return Status::ok();
}

// The band of one chart: everything drawn, at vertical offset `top`.
struct Band {
  const PlotChart* chart = nullptr;
  Axis x, y;
  double top = 0;
  double height = 0;
};

void draw_chart(const Band& band, double legend_x, std::ostringstream& out) {
  const PlotChart& chart = *band.chart;
  const double left = kPlotLeft;
  const double right = kPlotLeft + kPlotWidth;
  const double top = band.top + kPlotTop;
  const double bottom = top + kPlotHeight;
  auto to_x = [&](double v) { return left + band.x.fraction(v) * kPlotWidth; };
  auto to_y = [&](double v) { return bottom - band.y.fraction(v) * kPlotHeight; };

  out << "<g class=\"chart\">\n";
  out << "<text class=\"title\" x=\"" << px(left + kPlotWidth / 2) << "\" y=\"" << px(band.top + 28)
      << "\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">"
      << xml_escape(chart.title) << "</text>\n";

  // Grid lines at the labelled ticks.
  out << "<g class=\"grid\" stroke=\"#DDDDDD\" stroke-width=\"1\">\n";
  for (const Tick& t : band.x.ticks) {
    if (t.label.empty()) continue;
    const std::string x = px(to_x(t.value));
    out << "<line x1=\"" << x << "\" y1=\"" << px(top) << "\" x2=\"" << x << "\" y2=\""
        << px(bottom) << "\"/>\n";
  }
  for (const Tick& t : band.y.ticks) {
    if (t.label.empty()) continue;
    const std::string y = px(to_y(t.value));
    out << "<line x1=\"" << px(left) << "\" y1=\"" << y << "\" x2=\"" << px(right) << "\" y2=\""
        << y << "\"/>\n";
  }
  out << "</g>\n";

  // Axes: tick marks outside the plot area, labels below / to the left.
  out << "<g class=\"x-axis\" stroke=\"#000000\" stroke-width=\"1\">\n";
  for (const Tick& t : band.x.ticks) {
    const std::string x = px(to_x(t.value));
    const double len = t.label.empty() ? kMinorTickLength : kTickLength;
    out << "<line x1=\"" << x << "\" y1=\"" << px(bottom) << "\" x2=\"" << x << "\" y2=\""
        << px(bottom + len) << "\"/>\n";
    if (!t.label.empty()) {
      out << "<text class=\"tick-label\" x=\"" << x << "\" y=\"" << px(bottom + kTickLength + 13)
          << "\" text-anchor=\"middle\" stroke=\"none\">" << xml_escape(t.label) << "</text>\n";
    }
  }
  out << "</g>\n";
  out << "<g class=\"y-axis\" stroke=\"#000000\" stroke-width=\"1\">\n";
  for (const Tick& t : band.y.ticks) {
    const std::string y = px(to_y(t.value));
    const double len = t.label.empty() ? kMinorTickLength : kTickLength;
    out << "<line x1=\"" << px(left - len) << "\" y1=\"" << y << "\" x2=\"" << px(left)
        << "\" y2=\"" << y << "\"/>\n";
    if (!t.label.empty()) {
      out << "<text class=\"tick-label\" x=\"" << px(left - kTickLength - 3) << "\" y=\""
          << px(to_y(t.value) + 4) << "\" text-anchor=\"end\" stroke=\"none\">"
          << xml_escape(t.label) << "</text>\n";
    }
  }
  out << "</g>\n";

  out << "<text class=\"axis-label x-label\" x=\"" << px(left + kPlotWidth / 2) << "\" y=\""
      << px(bottom + 44) << "\" text-anchor=\"middle\">" << xml_escape(chart.x_label)
      << "</text>\n";
  const std::string yl_x = px(22);
  const std::string yl_y = px(top + kPlotHeight / 2);
  out << "<text class=\"axis-label y-label\" x=\"" << yl_x << "\" y=\"" << yl_y
      << "\" text-anchor=\"middle\" transform=\"rotate(-90 " << yl_x << " " << yl_y << ")\">"
      << xml_escape(chart.y_label) << "</text>\n";

  // The series, then the frame over their ends.
  for (size_t i = 0; i < chart.series.size(); ++i) {
    const PlotSeries& s = chart.series[i];
    const std::string_view colour = kPalette[i % kPaletteSize];
    const std::string_view dash = kDashes[(i / kPaletteSize) % kDashesSize];
    out << "<g class=\"series\">\n";
    out << "<polyline class=\"series-line\" fill=\"none\" stroke=\"" << colour
        << "\" stroke-width=\"2\" stroke-linejoin=\"round\" stroke-linecap=\"round\"";
    if (!dash.empty()) out << " stroke-dasharray=\"" << dash << "\"";
    out << " points=\"";
    for (size_t p = 0; p < s.points.size(); ++p) {
      if (p > 0) out << ' ';
      out << px(to_x(s.points[p].first)) << ',' << px(to_y(s.points[p].second));
    }
    out << "\"/>\n";
    if (s.points.size() <= kMaxMarkers) {
      for (const auto& [x, y] : s.points) {
        out << "<circle class=\"marker\" cx=\"" << px(to_x(x)) << "\" cy=\"" << px(to_y(y))
            << "\" r=\"3\" fill=\"" << colour << "\"/>\n";
      }
    }
    out << "</g>\n";
  }
  out << "<rect class=\"plot-area\" x=\"" << px(left) << "\" y=\"" << px(top) << "\" width=\""
      << px(kPlotWidth) << "\" height=\"" << px(kPlotHeight)
      << "\" fill=\"none\" stroke=\"#000000\" stroke-width=\"1\"/>\n";

  out << "<g class=\"legend\">\n";
  for (size_t i = 0; i < chart.series.size(); ++i) {
    const double y = top + 12 + kLegendRow * static_cast<double>(i);
    const std::string_view dash = kDashes[(i / kPaletteSize) % kDashesSize];
    out << "<line x1=\"" << px(legend_x) << "\" y1=\"" << px(y) << "\" x2=\""
        << px(legend_x + kLegendSwatch) << "\" y2=\"" << px(y) << "\" stroke=\""
        << kPalette[i % kPaletteSize] << "\" stroke-width=\"2\"";
    if (!dash.empty()) out << " stroke-dasharray=\"" << dash << "\"";
    out << "/>\n";
    out << "<text class=\"legend-label\" x=\"" << px(legend_x + kLegendSwatch + 6) << "\" y=\""
        << px(y + 4) << "\">" << xml_escape(chart.series[i].label) << "</text>\n";
  }
  out << "</g>\n";
  out << "</g>\n";
}

}  // namespace

Result<std::string> render_svg(const std::vector<PlotChart>& charts) {
  if (Status st = validate(charts); !st.is_ok()) return st;

  std::vector<Band> bands;
  double height = 0;
  size_t longest_label = 0;
  for (size_t c = 0; c < charts.size(); ++c) {
    const PlotChart& chart = charts[c];
    double x_min = std::numeric_limits<double>::infinity(), x_max = -x_min;
    double y_min = x_min, y_max = -x_min;
    for (const PlotSeries& s : chart.series) {
      longest_label = std::max(longest_label, text_length(s.label));
      for (const auto& [x, y] : s.points) {
        x_min = std::min(x_min, x);
        x_max = std::max(x_max, x);
        y_min = std::min(y_min, y);
        y_max = std::max(y_max, y);
      }
    }
    const std::string where = "chart " + std::to_string(c + 1) + " " + quoted(chart.title);
    Result<Axis> x = chart.log_x ? log_axis(x_min, x_max) : linear_axis(x_min, x_max);
    if (!x) return fail(where + ": x axis: " + x.status().message());
    Result<Axis> y = linear_axis(y_min, y_max);
    if (!y) return fail(where + ": y axis: " + y.status().message());
    Band band;
    band.chart = &chart;
    band.x = std::move(x).value();
    band.y = std::move(y).value();
    band.top = height;
    const double legend_height = 12 + kLegendRow * static_cast<double>(chart.series.size());
    band.height = kPlotTop + std::max(kPlotHeight, legend_height) + kBandBelowPlot;
    height += band.height;
    bands.push_back(std::move(band));
  }
  const double legend_x = kPlotLeft + kPlotWidth + kLegendGap;
  const double width =
      std::max(kMinWidth, std::ceil(legend_x + kLegendSwatch + 6 +
                                    kCharWidth * static_cast<double>(longest_label) + kRightPad));

  std::ostringstream out;
  out.imbue(std::locale::classic());
  const std::string w = px(width), h = px(height);
  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h
      << "\" viewBox=\"0 0 " << w << " " << h
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  out << "<rect class=\"background\" x=\"0\" y=\"0\" width=\"" << w << "\" height=\"" << h
      << "\" fill=\"#FFFFFF\"/>\n";
  for (const Band& band : bands) draw_chart(band, legend_x, out);
  out << "</svg>\n";
  return out.str();
}

}  // namespace fkemu
