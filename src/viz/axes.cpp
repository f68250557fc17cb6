// Axes, ticks and legends shared by every plot.
#include "viz/axes.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace lj::viz::detail {

double Scale::map(double v, double a, double b) const {
  double t = log ? (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo)) : (v - lo) / (hi - lo);
  return a + t * (b - a);
}

Scale scale_for(const std::vector<double>& values, bool log, double pad) {
  double lo = INFINITY, hi = -INFINITY;
  for (double v : values) {
    if (!std::isfinite(v) || (log && v <= 0)) continue;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (!(lo <= hi)) return {log ? 0.1 : 0.0, log ? 10.0 : 1.0, log};
  if (log) {
    double a = std::log10(lo), b = std::log10(hi);
    if (b - a < 1e-9) a -= 0.5, b += 0.5;
    double p = (b - a) * pad;
    return {std::pow(10.0, a - p), std::pow(10.0, b + p), true};
  }
  if (hi - lo < 1e-12 * std::max(1.0, std::abs(hi))) {
    double d = std::max(std::abs(hi) * 0.1, 0.5);
    lo -= d, hi += d;
  }
  double p = (hi - lo) * pad;
  return {lo - p, hi + p, false};
}

std::vector<double> ticks(const Scale& s, int n) {
  std::vector<double> out;
  if (s.log) {
    int a = static_cast<int>(std::ceil(std::log10(s.lo) - 1e-9)), b = static_cast<int>(std::floor(std::log10(s.hi) + 1e-9));
    double span = std::log10(s.hi) - std::log10(s.lo);
    if (span < 3) {  // few decades: 1, 2, 5 (and 3 under one decade) times each power of ten
      std::vector<double> mult = span < 1 ? std::vector<double>{1, 2, 3, 5} : std::vector<double>{1, 2, 5};
      for (int e = a - 1; e <= b; e++)
        for (double m : mult) {
          double v = m * std::pow(10.0, e);
          if (v >= s.lo && v <= s.hi) out.push_back(v);
        }
      if (out.size() >= 2) return out;
      out.clear();
    }
    int step = std::max(1, (b - a + 1) / n + 1);
    for (int e = a; e <= b; e += step) out.push_back(std::pow(10.0, e));
    if (out.empty()) out = {s.lo, s.hi};
    return out;
  }
  double raw = (s.hi - s.lo) / std::max(1, n);
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  for (double v = std::ceil(s.lo / step) * step; v <= s.hi + step * 1e-9; v += step)
    out.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  return out;
}

std::string tick_label(double v) {
  char buf[32];
  double a = std::abs(v);
  if (a == 0) return "0";
  if (a >= 1e4 && a < 1e6 && std::fmod(a, 1000) == 0) std::snprintf(buf, sizeof buf, "%gk", v / 1000);
  else if (a >= 1e6 || a < 1e-3) std::snprintf(buf, sizeof buf, "%.0e", v);
  else std::snprintf(buf, sizeof buf, "%g", std::round(v * 1e6) / 1e6);
  return buf;
}

void draw_axes(Image& img, const Frame& f, const Scale& xs, const Scale& ys, const std::string& title,
               const std::string& xlabel, const std::string& ylabel, bool x_ticks) {
  img.text(f.x + f.w / 2, std::max(4, f.y - 34), title, title_size, black, Align::center);
  for (double t : ticks(ys)) {
    int py = static_cast<int>(std::lround(ys.map(t, f.y + f.h - 1, f.y)));
    img.fill_rect(f.x, py, f.w, 1, light_grey);
    img.fill_rect(f.x - 5, py, 5, 1, black);
    img.text(f.x - 8, py - text_height(tick_size) / 2, tick_label(t), tick_size, black, Align::right);
  }
  if (x_ticks)
    for (double t : ticks(xs)) {
      int px = static_cast<int>(std::lround(xs.map(t, f.x, f.x + f.w - 1)));
      img.fill_rect(px, f.y, 1, f.h, light_grey);
      img.fill_rect(px, f.y + f.h, 1, 5, black);
      img.text(px, f.y + f.h + 7, tick_label(t), tick_size, black, Align::center);
    }
  img.rect(f.x - 1, f.y - 1, f.w + 2, f.h + 2, black);
  img.text(f.x + f.w / 2, f.y + f.h + 26, xlabel, label_size, black, Align::center);
  img.text_vertical(std::max(10, f.x - 58), f.y + f.h / 2, ylabel, label_size, black);
}

void draw_legend(Image& img, const Frame& f, const std::vector<std::string>& labels, const std::vector<Color>& colors,
                 int corner) {
  if (labels.empty()) return;
  int w = 0;
  for (const auto& l : labels) w = std::max(w, text_width(l, tick_size));
  int row = text_height(tick_size) + 4;
  int bw = w + 40, bh = row * static_cast<int>(labels.size()) + 8;
  int x = corner % 2 ? f.x + 8 : f.x + f.w - bw - 8, y = corner / 2 ? f.y + f.h - bh - 8 : f.y + 8;
  img.fill_rect(x, y, bw, bh, white);
  img.rect(x, y, bw, bh, grey);
  for (size_t i = 0; i < labels.size(); i++) {
    int cy = y + 4 + static_cast<int>(i) * row + row / 2;
    img.line(x + 6, cy, x + 26, cy, colors[i], 2.5);
    img.text(x + 32, cy - text_height(tick_size) / 2, labels[i], tick_size);
  }
}

}  // namespace lj::viz::detail
