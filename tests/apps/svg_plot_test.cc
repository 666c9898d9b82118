// Tests of render_svg: the document is well-formed (balanced tags, escaped text), each series is
// one polyline with its points inside the plot area and in the right order (the SVG y axis points
// down), ticks are nice on linear axes and decades on log axes, bad input is refused with a
// message naming the problem, and the output is deterministic and independent of the locale.
#include "apps/report/svg_plot.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <locale>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace {

using fkemu::Code;
using fkemu::PlotChart;
using fkemu::PlotSeries;
using fkemu::render_svg;

// An element's start tag: its name, attributes and the character data up to the next tag.
struct Element {
  std::string name;
  std::map<std::string, std::string> attrs;
  std::string text;
};

// Checks that `doc` is well-formed in a simple sense: one root element, every start tag closed by a
// matching end tag (or self-closed), quoted attribute values, and no raw '<' or unknown entity in
// text or attribute values. Returns an empty string if so, else what is wrong.
std::string check_balanced(const std::string& doc) {
  std::vector<std::string> open;
  int roots = 0;
  auto check_entities = [](const std::string& s) -> std::string {
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '<') return "raw '<' in " + s;
      if (s[i] != '&') continue;
      bool known = false;
      for (const char* e : {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"}) {
        if (s.compare(i, std::char_traits<char>::length(e), e) == 0) known = true;
      }
      if (!known) return "unknown entity in " + s;
    }
    return "";
  };
  size_t i = 0;
  while (i < doc.size()) {
    const size_t lt = doc.find('<', i);
    const std::string text = doc.substr(i, lt == std::string::npos ? std::string::npos : lt - i);
    if (std::string why = check_entities(text); !why.empty()) return why;
    if (open.empty() && text.find_first_not_of(" \n\t\r") != std::string::npos) {
      return "text outside the root element";
    }
    if (lt == std::string::npos) break;
    const size_t gt = doc.find('>', lt);
    if (gt == std::string::npos) return "unterminated tag at " + std::to_string(lt);
    const std::string tag = doc.substr(lt + 1, gt - lt - 1);
    i = gt + 1;
    if (tag.empty()) return "empty tag";
    if (tag[0] == '/') {
      const std::string name = tag.substr(1);
      if (open.empty() || open.back() != name) return "unmatched </" + name + ">";
      open.pop_back();
      continue;
    }
    const bool self_closing = tag.back() == '/';
    const std::string body = self_closing ? tag.substr(0, tag.size() - 1) : tag;
    const size_t name_end = body.find_first_of(" \n\t");
    const std::string name = body.substr(0, name_end);
    if (name.empty() || name.find_first_of("\"'=") != std::string::npos) return "bad tag " + tag;
    // Attributes: name="value" pairs.
    size_t a = name_end;
    while (a != std::string::npos && a < body.size()) {
      a = body.find_first_not_of(" \n\t", a);
      if (a == std::string::npos) break;
      const size_t eq = body.find('=', a);
      if (eq == std::string::npos || eq + 1 >= body.size() || body[eq + 1] != '"') {
        return "bad attribute in " + tag;
      }
      const size_t close = body.find('"', eq + 2);
      if (close == std::string::npos) return "unterminated attribute in " + tag;
      if (std::string why = check_entities(body.substr(eq + 2, close - eq - 2)); !why.empty()) {
        return why;
      }
      a = close + 1;
    }
    if (open.empty()) ++roots;
    if (!self_closing) open.push_back(name);
  }
  if (!open.empty()) return "unclosed <" + open.back() + ">";
  if (roots != 1) return std::to_string(roots) + " root elements";
  return "";
}

// Every element named `name` in `doc` (a document check_balanced() accepts), in document order.
std::vector<Element> elements(const std::string& doc, const std::string& name) {
  std::vector<Element> out;
  size_t i = 0;
  while ((i = doc.find("<" + name, i)) != std::string::npos) {
    const size_t after = i + 1 + name.size();
    if (doc[after] != ' ' && doc[after] != '>' && doc[after] != '/') {
      i = after;
      continue;
    }
    const size_t gt = doc.find('>', i);
    Element e;
    e.name = name;
    size_t a = after;
    while (true) {
      const size_t eq = doc.find("=\"", a);
      if (eq == std::string::npos || eq > gt) break;
      const size_t start = doc.find_last_of(" \n\t", eq) + 1;
      const size_t close = doc.find('"', eq + 2);
      e.attrs[doc.substr(start, eq - start)] = doc.substr(eq + 2, close - eq - 2);
      a = close + 1;
    }
    e.text = doc.substr(gt + 1, doc.find('<', gt) - gt - 1);
    out.push_back(std::move(e));
    i = gt;
  }
  return out;
}

std::vector<Element> with_class(const std::vector<Element>& es, const std::string& cls) {
  std::vector<Element> out;
  for (const Element& e : es) {
    auto it = e.attrs.find("class");
    if (it != e.attrs.end() && it->second == cls) out.push_back(e);
  }
  return out;
}

// The charts of a document: the text of each <g class="chart"> ... up to the next one.
std::vector<std::string> chart_parts(const std::string& doc) {
  const std::string mark = "<g class=\"chart\">";
  std::vector<std::string> out;
  size_t i = doc.find(mark);
  while (i != std::string::npos) {
    const size_t next = doc.find(mark, i + mark.size());
    out.push_back(doc.substr(i, next == std::string::npos ? std::string::npos : next - i));
    i = next;
  }
  return out;
}

// The text of the first <g class="NAME" ...> ... </g> (axis groups hold no nested groups).
std::string group(const std::string& doc, const std::string& cls) {
  const size_t i = doc.find("<g class=\"" + cls + "\"");
  if (i == std::string::npos) return "";
  return doc.substr(i, doc.find("</g>", i) + 4 - i);
}

std::vector<std::pair<double, double>> polyline_points(const Element& e) {
  std::vector<std::pair<double, double>> out;
  const std::string& s = e.attrs.at("points");
  size_t i = 0;
  while (i < s.size()) {
    char* end = nullptr;
    const double x = std::strtod(s.c_str() + i, &end);
    REQUIRE(*end == ',');
    const double y = std::strtod(end + 1, &end);
    out.emplace_back(x, y);
    i = static_cast<size_t>(end - s.c_str());
    while (i < s.size() && s[i] == ' ') ++i;
  }
  return out;
}

double num(const Element& e, const std::string& attr) { return std::stod(e.attrs.at(attr)); }

size_t count(const std::string& doc, const std::string& needle) {
  size_t n = 0;
  for (size_t i = doc.find(needle); i != std::string::npos; i = doc.find(needle, i + 1)) ++n;
  return n;
}

// A latency CDF: n points, x increasing from base, y = (k + 1) / n.
PlotSeries cdf(const std::string& label, double base, int n) {
  PlotSeries s{label, {}};
  for (int k = 0; k < n; ++k) {
    s.points.emplace_back(base + 0.5 * k + 0.01 * k * k, static_cast<double>(k + 1) / n);
  }
  return s;
}

std::vector<PlotChart> example_charts() {
  PlotChart c1{"set_data latency CDF", "latency [ms]", "cumulative fraction", false, {}};
  c1.series.push_back(cdf("set_data 4 B 2048 MB", 20, 100));
  c1.series.push_back(cdf("set_data 64 KiB 2048 MB", 35, 100));
  c1.series.push_back(cdf("get_data 4 B", 8, 60));
  PlotChart c2{"watch notification latency", "watchers", "latency [ms]", true, {}};
  const double w[] = {1, 10, 100, 1000, 10000};
  const double p50[] = {40, 42, 55, 130, 900};
  PlotSeries s50{"p50", {}}, s95{"p95", {}}, s99{"p99", {}};
  for (int i = 0; i < 5; ++i) {
    s50.points.emplace_back(w[i], p50[i]);
    s95.points.emplace_back(w[i], p50[i] * 1.6);
    s99.points.emplace_back(w[i], p50[i] * 2.3);
  }
  c2.series = {s50, s95, s99};
  return {c1, c2};
}

std::string render_ok(const std::vector<PlotChart>& charts) {
  auto r = render_svg(charts);
  INFO(r.status().to_string());
  REQUIRE(r.is_ok());
  return *r;
}

TEST_CASE("svg: the document is well-formed", "[svg]") {
  const std::string doc = render_ok(example_charts());
  REQUIRE(doc.rfind("<svg", 0) == 0);
  CHECK(check_balanced(doc) == "");
  const auto svg = elements(doc, "svg");
  REQUIRE(svg.size() == 1);
  CHECK(svg[0].attrs.at("xmlns") == "http://www.w3.org/2000/svg");
  const double w = num(svg[0], "width"), h = num(svg[0], "height");
  CHECK(w > 0);
  CHECK(h > 0);
  CHECK(svg[0].attrs.at("viewBox") ==
        "0 0 " + svg[0].attrs.at("width") + " " + svg[0].attrs.at("height"));
  CHECK(chart_parts(doc).size() == 2);
  // Everything drawn lies inside the document.
  for (const Element& t : elements(doc, "text")) {
    CHECK(num(t, "x") >= 0);
    CHECK(num(t, "x") <= w);
    CHECK(num(t, "y") >= 0);
    CHECK(num(t, "y") <= h);
  }
  // The checker itself catches broken documents.
  CHECK(check_balanced("<svg><g></svg>") != "");
  CHECK(check_balanced("<svg><g/></svg><svg/>") != "");
  CHECK(check_balanced("<svg><text>a<b</text></svg>") != "");
  CHECK(check_balanced("<svg><text>a&b</text></svg>") != "");
  CHECK(check_balanced("<svg><text x=\"1\">a&amp;b</text></svg>") == "");
}

TEST_CASE("svg: the legend holds each series label once", "[svg]") {
  const auto charts = example_charts();
  const std::string doc = render_ok(charts);
  const auto legend = with_class(elements(doc, "text"), "legend-label");
  REQUIRE(legend.size() == 6);
  size_t i = 0;
  for (const PlotChart& c : charts) {
    for (const PlotSeries& s : c.series) {
      CHECK(legend[i++].text == s.label);
      // Nowhere else: ">label<" exactly once in the document.
      CHECK(count(doc, ">" + s.label + "<") == 1);
    }
  }
  // Title and axis labels are there too.
  CHECK(count(doc, ">set_data latency CDF</text>") == 1);
  CHECK(count(doc, ">cumulative fraction</text>") == 1);
  CHECK(count(doc, ">watchers</text>") == 1);
}

TEST_CASE("svg: text is XML-escaped", "[svg]") {
  PlotChart c{"a \"title\" & 'more'", "x <ms>", "y", false, {}};
  c.series.push_back({"p<99> & co", {{1, 1}, {2, 2}}});
  c.series.push_back({"ctl\x01", {{1, 2}, {2, 1}}});
  const std::string doc = render_ok({c});
  CHECK(check_balanced(doc) == "");
  CHECK(count(doc, ">p&lt;99&gt; &amp; co</text>") == 1);
  CHECK(count(doc, "p<99>") == 0);
  CHECK(count(doc, ">a &quot;title&quot; &amp; &apos;more&apos;</text>") == 1);
  CHECK(count(doc, ">x &lt;ms&gt;</text>") == 1);
  CHECK(count(doc, ">ctl?</text>") == 1);
  CHECK(doc.find('\x01') == std::string::npos);
}

TEST_CASE("svg: one polyline per series, inside the plot area", "[svg]") {
  const auto charts = example_charts();
  const std::string doc = render_ok(charts);
  const auto parts = chart_parts(doc);
  REQUIRE(parts.size() == charts.size());
  double previous_bottom = 0;
  for (size_t c = 0; c < charts.size(); ++c) {
    const auto rects = with_class(elements(parts[c], "rect"), "plot-area");
    REQUIRE(rects.size() == 1);
    const double left = num(rects[0], "x"), top = num(rects[0], "y");
    const double right = left + num(rects[0], "width"), bottom = top + num(rects[0], "height");
    REQUIRE(right > left);
    REQUIRE(bottom > top);
    CHECK(top >= previous_bottom);  // stacked, not overlapping
    previous_bottom = bottom;
    const auto lines = with_class(elements(parts[c], "polyline"), "series-line");
    REQUIRE(lines.size() == charts[c].series.size());
    std::vector<std::string> colours;
    for (size_t s = 0; s < lines.size(); ++s) {
      const auto pts = polyline_points(lines[s]);
      CHECK(pts.size() == charts[c].series[s].points.size());
      for (const auto& [x, y] : pts) {
        CHECK(x >= left - 0.01);
        CHECK(x <= right + 0.01);
        CHECK(y >= top - 0.01);
        CHECK(y <= bottom + 0.01);
      }
      colours.push_back(lines[s].attrs.at("stroke"));
    }
    std::sort(colours.begin(), colours.end());
    CHECK(std::adjacent_find(colours.begin(), colours.end()) == colours.end());
  }
  // The data extremes reach (close to) the plot area's edges: the axes fit the data.
  const auto rect = with_class(elements(parts[0], "rect"), "plot-area")[0];
  const auto pts = polyline_points(with_class(elements(parts[0], "polyline"), "series-line")[0]);
  CHECK(pts.back().second == Approx(num(rect, "y")).margin(0.01));  // y = 1 at the top
}

TEST_CASE("svg: monotone data gives monotone pixels, y pointing down", "[svg]") {
  PlotChart c{"cdf", "ms", "fraction", false, {cdf("a", 3, 50)}};
  const std::string doc = render_ok({c});
  const auto pts = polyline_points(with_class(elements(doc, "polyline"), "series-line")[0]);
  REQUIRE(pts.size() == 50);
  for (size_t i = 1; i < pts.size(); ++i) {
    CHECK(pts[i].first > pts[i - 1].first);    // x grows to the right
    CHECK(pts[i].second < pts[i - 1].second);  // larger y is higher up: smaller pixel y
  }
  // Falling data falls on screen; order of points is kept as given (no sorting).
  PlotChart d{"down", "x", "y", false, {{"b", {{0, 10}, {1, 5}, {2, 1}, {1.5, 0}}}}};
  const auto q =
      polyline_points(with_class(elements(render_ok({d}), "polyline"), "series-line")[0]);
  REQUIRE(q.size() == 4);
  CHECK(q[1].second > q[0].second);
  CHECK(q[2].second > q[1].second);
  CHECK(q[3].first < q[2].first);
  CHECK(q[3].first > q[1].first);
}

TEST_CASE("svg: a log axis spaces decades equally", "[svg]") {
  PlotChart c{"watch", "watchers", "ms", true, {{"p50", {{1, 5}, {10, 6}, {100, 9}, {1000, 20}}}}};
  const std::string doc = render_ok({c});
  CHECK(check_balanced(doc) == "");
  const auto pts = polyline_points(with_class(elements(doc, "polyline"), "series-line")[0]);
  REQUIRE(pts.size() == 4);
  const double d1 = pts[1].first - pts[0].first;
  const double d2 = pts[2].first - pts[1].first;
  const double d3 = pts[3].first - pts[2].first;
  CHECK(d1 > 10);
  CHECK(d2 == Approx(d1).margin(0.02));
  CHECK(d3 == Approx(d1).margin(0.02));
  // Decade tick labels, at the points' x positions.
  const std::string x_axis = group(doc, "x-axis");
  const auto labels = elements(x_axis, "text");
  std::map<std::string, double> at;
  for (const Element& e : labels) at[e.text] = num(e, "x");
  REQUIRE(at.size() == 4);
  CHECK(at.at("1") == Approx(pts[0].first).margin(0.01));
  CHECK(at.at("10") == Approx(pts[1].first).margin(0.01));
  CHECK(at.at("100") == Approx(pts[2].first).margin(0.01));
  CHECK(at.at("1000") == Approx(pts[3].first).margin(0.01));
  // A 1..10000 watcher axis has the five decades as labels and nothing between them.
  PlotChart w{"w", "watchers", "ms", true, {{"p99", {{1, 1}, {3, 2}, {10000, 3}}}}};
  std::vector<std::string> texts;
  for (const Element& e : elements(group(render_ok({w}), "x-axis"), "text")) {
    texts.push_back(e.text);
  }
  CHECK(texts == std::vector<std::string>{"1", "10", "100", "1000", "10000"});
  // Below 1.
  PlotChart f{"f", "x", "y", true, {{"s", {{0.01, 1}, {0.5, 2}}}}};
  texts.clear();
  for (const Element& e : elements(group(render_ok({f}), "x-axis"), "text")) {
    texts.push_back(e.text);
  }
  CHECK(texts == std::vector<std::string>{"0.01", "0.1", "1"});
}

TEST_CASE("svg: linear ticks are nice", "[svg]") {
  auto y_labels = [](const std::string& doc) {
    std::vector<std::string> out;
    for (const Element& e : elements(group(doc, "y-axis"), "text")) out.push_back(e.text);
    return out;
  };
  PlotChart c{"cdf", "ms", "fraction", false, {cdf("a", 3, 20)}};
  c.series[0].points.insert(c.series[0].points.begin(), {3, 0.0});
  const std::string doc = render_ok({c});
  CHECK(y_labels(doc) == std::vector<std::string>{"0", "0.2", "0.4", "0.6", "0.8", "1"});
  // Tick labels sit at their values: 0 at the bottom of the plot area, 1 at the top.
  const auto rect = with_class(elements(doc, "rect"), "plot-area")[0];
  const auto ys = elements(group(doc, "y-axis"), "text");
  CHECK(num(ys.front(), "y") - 4 == Approx(num(rect, "y") + num(rect, "height")).margin(0.01));
  CHECK(num(ys.back(), "y") - 4 == Approx(num(rect, "y")).margin(0.01));

  // Steps of 1, 2 or 5 times a power of ten, covering the data.
  PlotChart d{"d", "x", "y", false, {{"s", {{0, 13}, {1, 87}}}}};
  CHECK(y_labels(render_ok({d})) == std::vector<std::string>{"0", "20", "40", "60", "80", "100"});
  PlotChart e{"e", "x", "y", false, {{"s", {{0, -0.3}, {1, 0.05}}}}};
  CHECK(y_labels(render_ok({e})) == std::vector<std::string>{"-0.3", "-0.2", "-0.1", "0", "0.1"});
  PlotChart g{"g", "x", "y", false, {{"s", {{0, 1200}, {1, 3400}}}}};
  CHECK(y_labels(render_ok({g})) ==
        std::vector<std::string>{"1000", "1500", "2000", "2500", "3000", "3500"});
  // A single value still gets an axis around it.
  PlotChart h{"h", "x", "y", false, {{"s", {{5, 7}}}}};
  const std::string one = render_ok({h});
  CHECK(check_balanced(one) == "");
  CHECK(y_labels(one).size() >= 2);
  CHECK(elements(one, "circle").size() == 1);
}

TEST_CASE("svg: bad input is refused with a reason", "[svg]") {
  auto message = [](const std::vector<PlotChart>& charts) {
    auto r = render_svg(charts);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.code() == Code::BadArguments);
    return r.status().message();
  };
  using Catch::Matchers::Contains;
  CHECK_THAT(message({}), Contains("no charts"));
  CHECK_THAT(message({PlotChart{"empty chart", "x", "y", false, {}}}),
             Contains("no series") && Contains("empty chart"));
  PlotChart ok{"fine", "x", "y", false, {{"s", {{1, 1}}}}};
  CHECK_THAT(message({ok, PlotChart{"second", "x", "y", false, {{"lonely", {}}}}}),
             Contains("no points") && Contains("lonely") && Contains("chart 2"));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  CHECK_THAT(message({PlotChart{"t", "x", "y", false, {{"s", {{1, 1}, {nan, 2}}}}}}),
             Contains("non-finite") && Contains("point 2"));
  CHECK_THAT(message({PlotChart{"t", "x", "y", false, {{"s", {{1, inf}}}}}}),
             Contains("non-finite"));
  CHECK_THAT(message({PlotChart{"t", "x", "y", true, {{"s", {{1, 1}, {0, 2}}}}}}),
             Contains("log axis") && Contains("x = 0"));
  CHECK_THAT(message({PlotChart{"t", "x", "y", true, {{"s", {{-3, 1}}}}}}),
             Contains("log axis") && Contains("x = -3"));
  // x <= 0 is fine on a linear axis.
  CHECK(render_svg({PlotChart{"t", "x", "y", false, {{"s", {{-3, 1}, {0, 2}}}}}}).is_ok());
  // Finite data whose range overflows.
  const double big = std::numeric_limits<double>::max();
  CHECK_THAT(message({PlotChart{"t", "x", "y", false, {{"s", {{-big, 1}, {big, 2}}}}}}),
             Contains("range"));
}

// A locale that writes numbers as "1.234,5".
struct CommaPunct : std::numpunct<char> {
  char do_decimal_point() const override { return ','; }
  char do_thousands_sep() const override { return '.'; }
  std::string do_grouping() const override { return "\3"; }
};

TEST_CASE("svg: the output is deterministic and independent of the locale", "[svg]") {
  const auto charts = example_charts();
  const std::string a = render_ok(charts);
  const std::string b = render_ok(charts);
  CHECK(a == b);
  const std::locale previous = std::locale::global(std::locale(std::locale(), new CommaPunct));
  const std::string c = render_ok(charts);
  std::locale::global(previous);
  CHECK(a == c);
  // And it does depend on the data.
  auto changed = charts;
  changed[0].series[0].points[3].first += 0.5;
  CHECK(render_ok(changed) != a);
}

TEST_CASE("svg: colours cycle through the palette, then the dashes change", "[svg]") {
  PlotChart c{"many", "x", "y", false, {}};
  for (int i = 0; i < 10; ++i) {
    std::string label = "s";
    label += std::to_string(i);
    c.series.push_back({label, {{0, 0.0 + i}, {1, 1.0 + i}}});
  }
  const std::string doc = render_ok({c});
  CHECK(check_balanced(doc) == "");
  const auto lines = with_class(elements(doc, "polyline"), "series-line");
  REQUIRE(lines.size() == 10);
  std::vector<std::string> first8;
  for (size_t i = 0; i < 8; ++i) first8.push_back(lines[i].attrs.at("stroke"));
  std::sort(first8.begin(), first8.end());
  CHECK(std::adjacent_find(first8.begin(), first8.end()) == first8.end());
  CHECK(lines[8].attrs.at("stroke") == lines[0].attrs.at("stroke"));
  CHECK(lines[0].attrs.count("stroke-dasharray") == 0);
  CHECK(lines[8].attrs.count("stroke-dasharray") == 1);
  // The legend grows the chart instead of running out of it.
  const auto rect = with_class(elements(doc, "rect"), "plot-area")[0];
  const double h = num(elements(doc, "svg")[0], "height");
  for (const Element& t : with_class(elements(doc, "text"), "legend-label")) {
    CHECK(num(t, "y") < h);
  }
  CHECK(num(rect, "height") > 0);
}

TEST_CASE("svg: an example document", "[svg]") {
  // Written for a look by eye (FKEMU_SVG_EXAMPLE=path); checked like any other.
  const std::string doc = render_ok(example_charts());
  CHECK(check_balanced(doc) == "");
  if (const char* path = std::getenv("FKEMU_SVG_EXAMPLE")) {
    std::ofstream(path) << doc;
  }
}

}  // namespace
