// The raster canvas: pixels, rectangles, anti-aliased lines, and PNG through stb_image_write.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "llm_journey/error.hpp"
#include "llm_journey/viz.hpp"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop

namespace lj::viz {

Color palette(int i) {
  static const Color tab10[] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},  {148, 103, 189},
                                {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};
  return tab10[((i % 10) + 10) % 10];
}

Color viridis(double t) {
  // Viridis sampled at nine evenly spaced points, interpolated linearly between them.
  static const double stops[9][3] = {{68, 1, 84},    {71, 44, 122},  {59, 81, 139},   {44, 113, 142}, {33, 144, 141},
                                     {39, 173, 129}, {92, 200, 99},  {170, 220, 50},  {253, 231, 37}};
  if (!(t >= 0)) t = 0;  // NaN lands here too
  if (t > 1) t = 1;
  double p = t * 8;
  int i = std::min(7, static_cast<int>(p));
  double f = p - i;
  auto mix = [&](int c) { return static_cast<uint8_t>(std::lround(stops[i][c] * (1 - f) + stops[i + 1][c] * f)); };
  return {mix(0), mix(1), mix(2)};
}

Image::Image(int width, int height, Color background) : width_(width), height_(height) {
  LJ_CHECK(width > 0 && height > 0 && width <= 16384 && height <= 16384, "Image: size ", width, "x", height,
           " is not between 1x1 and 16384x16384");
  rgb_.resize(static_cast<size_t>(width) * height * 3);
  for (size_t i = 0; i < rgb_.size(); i += 3) {
    rgb_[i] = background.r;
    rgb_[i + 1] = background.g;
    rgb_[i + 2] = background.b;
  }
}

Color Image::pixel(int x, int y) const {
  LJ_CHECK(x >= 0 && y >= 0 && x < width_ && y < height_, "Image::pixel: (", x, ", ", y, ") is outside the ",
           width_, "x", height_, " image");
  const uint8_t* p = &rgb_[(static_cast<size_t>(y) * width_ + x) * 3];
  return {p[0], p[1], p[2]};
}

void Image::set(int x, int y, Color c) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
  uint8_t* p = &rgb_[(static_cast<size_t>(y) * width_ + x) * 3];
  p[0] = c.r;
  p[1] = c.g;
  p[2] = c.b;
}

void Image::blend(int x, int y, Color c, double alpha) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_ || !(alpha > 0)) return;
  alpha = std::min(alpha, 1.0);
  uint8_t* p = &rgb_[(static_cast<size_t>(y) * width_ + x) * 3];
  p[0] = static_cast<uint8_t>(std::lround(p[0] * (1 - alpha) + c.r * alpha));
  p[1] = static_cast<uint8_t>(std::lround(p[1] * (1 - alpha) + c.g * alpha));
  p[2] = static_cast<uint8_t>(std::lround(p[2] * (1 - alpha) + c.b * alpha));
}

void Image::fill_rect(int x, int y, int w, int h, Color c) {
  int x0 = std::max(0, x), y0 = std::max(0, y), x1 = std::min(width_, x + w), y1 = std::min(height_, y + h);
  for (int j = y0; j < y1; j++)
    for (int i = x0; i < x1; i++) set(i, j, c);
}

void Image::rect(int x, int y, int w, int h, Color c) {
  fill_rect(x, y, w, 1, c);
  fill_rect(x, y + h - 1, w, 1, c);
  fill_rect(x, y, 1, h, c);
  fill_rect(x + w - 1, y, 1, h, c);
}

void Image::line(double x0, double y0, double x1, double y1, Color c, double thickness) {
  if (!std::isfinite(x0) || !std::isfinite(y0) || !std::isfinite(x1) || !std::isfinite(y1)) return;
  // Coverage of each pixel near the segment: 1 inside half the thickness, fading over one pixel.
  double half = thickness / 2;
  int xa = static_cast<int>(std::floor(std::min(x0, x1) - half - 1)), xb = static_cast<int>(std::ceil(std::max(x0, x1) + half + 1));
  int ya = static_cast<int>(std::floor(std::min(y0, y1) - half - 1)), yb = static_cast<int>(std::ceil(std::max(y0, y1) + half + 1));
  xa = std::max(xa, 0);
  ya = std::max(ya, 0);
  xb = std::min(xb, width_ - 1);
  yb = std::min(yb, height_ - 1);
  double dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
  for (int y = ya; y <= yb; y++)
    for (int x = xa; x <= xb; x++) {
      double px = x + 0.5 - x0, py = y + 0.5 - y0;
      double t = len2 > 0 ? std::clamp((px * dx + py * dy) / len2, 0.0, 1.0) : 0.0;
      double ex = px - t * dx, ey = py - t * dy;
      double d = std::sqrt(ex * ex + ey * ey);
      double cover = std::clamp(half + 0.5 - d, 0.0, 1.0);
      if (cover > 0) blend(x, y, c, cover);
    }
}

void Image::dot(double x, double y, double radius, Color c) {
  for (int j = static_cast<int>(y - radius - 1); j <= static_cast<int>(y + radius + 1); j++)
    for (int i = static_cast<int>(x - radius - 1); i <= static_cast<int>(x + radius + 1); i++) {
      double d = std::hypot(i + 0.5 - x, j + 0.5 - y);
      blend(i, j, c, std::clamp(radius + 0.5 - d, 0.0, 1.0));
    }
}

void Image::paste(const Image& other, int x, int y) {
  for (int j = 0; j < other.height_; j++)
    for (int i = 0; i < other.width_; i++) set(x + i, y + j, other.pixel(i, j));
}

std::vector<uint8_t> Image::encode_png() const {
  LJ_CHECK(width_ > 0 && height_ > 0, "Image::encode_png: the image is empty");
  std::vector<uint8_t> out;
  auto write = [](void* ctx, void* data, int size) {
    auto* v = static_cast<std::vector<uint8_t>*>(ctx);
    v->insert(v->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
  };
  int ok = stbi_write_png_to_func(write, &out, width_, height_, 3, rgb_.data(), width_ * 3);
  LJ_CHECK(ok != 0, "Image::encode_png: stb_image_write failed on a ", width_, "x", height_, " image");
  return out;
}

void Image::save_png(const std::string& path) const {
  std::vector<uint8_t> png = encode_png();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  LJ_CHECK(f != nullptr, "Image::save_png: cannot open '", path, "' for writing");
  size_t n = std::fwrite(png.data(), 1, png.size(), f);
  int closed = std::fclose(f);
  LJ_CHECK(n == png.size() && closed == 0, "Image::save_png: writing '", path, "' failed");
}

}  // namespace lj::viz
