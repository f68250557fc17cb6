// Shared by the plots: a plotting frame, linear or log scales, "nice" ticks, and the axes drawn
// around a frame with title and labels.
#pragma once
#include <string>
#include <vector>

#include "llm_journey/viz.hpp"

namespace lj::viz::detail {

struct Frame {
  int x, y, w, h;  // the plotting area inside the axes
};

struct Scale {
  double lo = 0, hi = 1;
  bool log = false;
  // Value to pixel between a (at lo) and b (at hi).
  double map(double v, double a, double b) const;
};

// A range covering the finite values (padded by `pad` of its width; log: positive values only).
Scale scale_for(const std::vector<double>& values, bool log, double pad = 0.05);
// About `n` round tick values inside the scale (powers of ten for a log scale).
std::vector<double> ticks(const Scale& s, int n = 6);
// A short label for a tick: 0.25, 1.2k, 3e-05.
std::string tick_label(double v);

// Font sizes used throughout.
inline constexpr double title_size = 17, label_size = 13, tick_size = 11;

// Draws the title above, the x and y labels, the frame, grid lines and tick labels.
void draw_axes(Image& img, const Frame& f, const Scale& xs, const Scale& ys, const std::string& title,
               const std::string& xlabel, const std::string& ylabel, bool x_ticks = true);

// A legend box in a corner of the frame: 0 top right, 1 top left, 2 bottom right, 3 bottom left.
void draw_legend(Image& img, const Frame& f, const std::vector<std::string>& labels, const std::vector<Color>& colors,
                 int corner = 0);

}  // namespace lj::viz::detail
