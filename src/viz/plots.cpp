// Line plots, histograms, bar charts and tables.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "llm_journey/error.hpp"
#include "viz/axes.hpp"

namespace lj::viz {
using detail::Frame;
using detail::Scale;

namespace {
// Margins around the plotting frame: room for the title, tick labels and axis labels.
constexpr int margin_left = 78, margin_right = 20, margin_top = 50, margin_bottom = 52;

void draw_line_plot(Image& img, const LinePlot& p, int x0, int y0, int width, int height) {
  Frame f{x0 + margin_left, y0 + margin_top, width - margin_left - margin_right, height - margin_top - margin_bottom};
  std::vector<double> xs, ys;
  for (const auto& s : p.series) {
    LJ_CHECK(s.x.size() == s.y.size(), "plot_lines: series '", s.label, "' has ", s.x.size(), " x values and ",
             s.y.size(), " y values");
    xs.insert(xs.end(), s.x.begin(), s.x.end());
    ys.insert(ys.end(), s.y.begin(), s.y.end());
  }
  Scale sx = detail::scale_for(xs, false, 0.03), sy = detail::scale_for(ys, p.log_y);
  detail::draw_axes(img, f, sx, sy, p.title, p.xlabel, p.ylabel);
  std::vector<std::string> labels;
  std::vector<Color> colors;
  for (size_t k = 0; k < p.series.size(); k++) {
    const auto& s = p.series[k];
    Color c = palette(static_cast<int>(k));
    auto px = [&](size_t i) { return sx.map(s.x[i], f.x, f.x + f.w - 1); };
    auto py = [&](size_t i) { return sy.map(s.y[i], f.y + f.h - 1, f.y); };
    auto ok = [&](size_t i) { return std::isfinite(s.x[i]) && std::isfinite(s.y[i]) && (!p.log_y || s.y[i] > 0); };
    for (size_t i = 1; i < s.x.size(); i++)
      if (ok(i - 1) && ok(i)) img.line(px(i - 1), py(i - 1), px(i), py(i), c, 2.0);
    if (p.markers)
      for (size_t i = 0; i < s.x.size(); i++)
        if (ok(i)) img.dot(px(i), py(i), 3.0, c);
    if (!s.label.empty()) {
      labels.push_back(s.label);
      colors.push_back(c);
    }
  }
  // The legend goes in the corner quarter of the frame with the fewest points.
  int in_corner[4] = {0, 0, 0, 0};
  for (const auto& s : p.series)
    for (size_t i = 0; i < s.x.size(); i++) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i]) || (p.log_y && s.y[i] <= 0)) continue;
      bool left = sx.map(s.x[i], 0, 1) < 0.5, bottom = sy.map(s.y[i], 0, 1) < 0.5;
      in_corner[(left ? 1 : 0) + (bottom ? 2 : 0)]++;
    }
  int corner = static_cast<int>(std::min_element(in_corner, in_corner + 4) - in_corner);
  detail::draw_legend(img, f, labels, colors, corner);
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / v.size();
}
double std_of(const std::vector<double>& v) {  // unbiased, as torch.std
  if (v.size() < 2) return 0;
  double m = mean_of(v), s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / (v.size() - 1));
}

int title_band(const std::string& title) { return title.empty() ? 0 : 40; }
}  // namespace

Image plot_lines(const LinePlot& plot, int width, int height) {
  Image img(width, height);
  draw_line_plot(img, plot, 0, 0, width, height);
  return img;
}

Image plot_lines_panels(const std::vector<LinePlot>& panels, const std::string& title, int panel_width,
                        int panel_height) {
  LJ_CHECK(!panels.empty(), "plot_lines_panels: no panels to draw");
  int band = title_band(title);
  Image img(panel_width * static_cast<int>(panels.size()), panel_height + band);
  if (band) img.text(img.width() / 2, 10, title, detail::title_size + 2, black, Align::center);
  for (size_t i = 0; i < panels.size(); i++) draw_line_plot(img, panels[i], static_cast<int>(i) * panel_width, band, panel_width, panel_height);
  return img;
}

Image plot_histograms(const std::vector<Histogram>& panels, const std::string& title, const std::string& xlabel,
                      const std::string& ylabel, int panel_width, int panel_height) {
  LJ_CHECK(!panels.empty(), "plot_histograms: no panels to draw");
  int band = title_band(title);
  Image img(panel_width * static_cast<int>(panels.size()), panel_height + band);
  if (band) img.text(img.width() / 2, 10, title, detail::title_size + 2, black, Align::center);
  for (size_t k = 0; k < panels.size(); k++) {
    const Histogram& h = panels[k];
    LJ_CHECK(h.bins > 0 && h.bins <= 1000, "plot_histograms: panel '", h.title, "' asks for ", h.bins,
             " bins (1 to 1000)");
    Frame f{static_cast<int>(k) * panel_width + margin_left, band + margin_top + 16,
            panel_width - margin_left - margin_right, panel_height - margin_top - 16 - margin_bottom};
    Scale sx = detail::scale_for(h.values, false, 0.0);
    std::vector<double> counts(h.bins, 0.0);
    for (double v : h.values) {
      if (!std::isfinite(v)) continue;
      int b = static_cast<int>((v - sx.lo) / (sx.hi - sx.lo) * h.bins);
      counts[std::clamp(b, 0, h.bins - 1)] += 1;
    }
    double top = *std::max_element(counts.begin(), counts.end());
    Scale sy{0, std::max(1.0, top * 1.08), false};
    char stats[96];
    std::snprintf(stats, sizeof stats, "mean %.4f, std %.4f, n = %zu", mean_of(h.values), std_of(h.values), h.values.size());
    detail::draw_axes(img, f, sx, sy, h.title, xlabel, ylabel);
    img.text(f.x + f.w / 2, f.y - 18, stats, detail::tick_size, grey, Align::center);
    for (int b = 0; b < h.bins; b++) {
      int xa = static_cast<int>(std::lround(sx.map(sx.lo + (sx.hi - sx.lo) * b / h.bins, f.x, f.x + f.w)));
      int xb = static_cast<int>(std::lround(sx.map(sx.lo + (sx.hi - sx.lo) * (b + 1) / h.bins, f.x, f.x + f.w)));
      int ya = static_cast<int>(std::lround(sy.map(counts[b], f.y + f.h, f.y)));
      img.fill_rect(xa, ya, std::max(1, xb - xa - 1), f.y + f.h - ya, h.color);
    }
  }
  return img;
}

Image plot_bars(const BarChart& chart, int width, int height) {
  LJ_CHECK(!chart.categories.empty(), "plot_bars: '", chart.title, "' has no categories");
  std::vector<double> all{0.0};
  for (const auto& g : chart.groups) {
    LJ_CHECK(g.y.size() == chart.categories.size(), "plot_bars: group '", g.label, "' has ", g.y.size(),
             " values for ", chart.categories.size(), " categories");
    all.insert(all.end(), g.y.begin(), g.y.end());
  }
  Image img(width, height);
  Frame f{margin_left, margin_top, width - margin_left - margin_right, height - margin_top - margin_bottom};
  Scale sx{0, 1, false}, sy = detail::scale_for(all, false);
  sy.lo = std::min(0.0, sy.lo);
  detail::draw_axes(img, f, sx, sy, chart.title, chart.xlabel, chart.ylabel, /*x_ticks=*/false);
  int n = static_cast<int>(chart.categories.size()), groups = std::max<int>(1, chart.groups.size());
  double slot = static_cast<double>(f.w) / n, bar = slot * 0.8 / groups;
  double zero = sy.map(0.0, f.y + f.h, f.y);
  std::vector<std::string> labels;
  std::vector<Color> colors;
  for (int i = 0; i < n; i++) {
    int cx = static_cast<int>(f.x + slot * (i + 0.5));
    img.text(cx, f.y + f.h + 7, chart.categories[i], detail::tick_size, black, Align::center);
    for (int g = 0; g < static_cast<int>(chart.groups.size()); g++) {
      double v = chart.groups[g].y[i];
      if (!std::isfinite(v)) continue;
      double top = sy.map(v, f.y + f.h, f.y);
      int xa = static_cast<int>(f.x + slot * i + slot * 0.1 + bar * g);
      int ya = static_cast<int>(std::lround(std::min(top, zero))), yb = static_cast<int>(std::lround(std::max(top, zero)));
      img.fill_rect(xa, ya, std::max(1, static_cast<int>(bar) - 2), std::max(1, yb - ya), palette(g));
    }
  }
  for (int g = 0; g < static_cast<int>(chart.groups.size()); g++)
    if (!chart.groups[g].label.empty()) {
      labels.push_back(chart.groups[g].label);
      colors.push_back(palette(g));
    }
  detail::draw_legend(img, f, labels, colors);
  return img;
}

Image plot_table(const std::string& title, const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows) {
  LJ_CHECK(!header.empty(), "plot_table: '", title, "' has no columns");
  const double size = 13;
  std::vector<int> widths(header.size());
  for (size_t c = 0; c < header.size(); c++) widths[c] = text_width(header[c], size) + 24;
  for (const auto& r : rows) {
    LJ_CHECK(r.size() == header.size(), "plot_table: '", title, "' has a row of ", r.size(), " cells for ",
             header.size(), " columns");
    for (size_t c = 0; c < r.size(); c++) widths[c] = std::max(widths[c], text_width(r[c], size) + 24);
  }
  int row_h = text_height(size) + 10, total = 0;
  for (int w : widths) total += w;
  int pad = 20, top = 48;
  Image img(std::max(total, text_width(title, detail::title_size) + 20) + 2 * pad,
            top + row_h * static_cast<int>(rows.size() + 1) + pad);
  img.text(img.width() / 2, 12, title, detail::title_size, black, Align::center);
  auto is_number = [](const std::string& s) {
    return !s.empty() && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-' || s[0] == '+' || s[0] == '.');
  };
  for (size_t r = 0; r <= rows.size(); r++) {
    const auto& cells = r == 0 ? header : rows[r - 1];
    int y = top + static_cast<int>(r) * row_h;
    if (r == 0) img.fill_rect(pad, y, total, row_h, {230, 236, 245});
    else if (r % 2 == 0) img.fill_rect(pad, y, total, row_h, {246, 246, 246});
    int x = pad;
    for (size_t c = 0; c < cells.size(); c++) {
      bool right = r > 0 && is_number(cells[c]);
      img.text(right ? x + widths[c] - 12 : x + 12, y + 5, cells[c], size, black, right ? Align::right : Align::left);
      x += widths[c];
    }
  }
  img.fill_rect(pad, top + row_h, total, 1, black);
  img.rect(pad, top, total, row_h * static_cast<int>(rows.size() + 1), grey);
  return img;
}

}  // namespace lj::viz
