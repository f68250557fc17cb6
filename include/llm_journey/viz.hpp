// Pictures: a small raster canvas, plots with axes, labels and titles, attention heatmaps, and
// their rendering in a 24-bit-colour terminal.
//
// Images are RGB, encoded as PNG by stb_image_write; text is drawn with stb_truetype from a
// DejaVu Sans font file (Debian's fonts-dejavu-core; another path via the LJ_FONT environment
// variable). Every plot has a title, labelled axes with ticks, and a legend or colour bar where
// it has more than one series or a colour scale.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "llm_journey/tensor.hpp"

namespace lj::viz {

struct Color {
  uint8_t r = 0, g = 0, b = 0;
};
inline constexpr Color white{255, 255, 255};
inline constexpr Color black{0, 0, 0};
inline constexpr Color grey{128, 128, 128};
inline constexpr Color light_grey{225, 225, 225};

// The i-th colour of a ten-colour qualitative palette (matplotlib's "tab10"), for series.
Color palette(int i);
// Viridis, t in [0, 1] (clamped): dark blue (0) to yellow (1), readable in grey scale too.
Color viridis(double t);

enum class Align { left, center, right };

// An RGB image, row-major, (0, 0) at the top left.
class Image {
 public:
  Image() = default;
  Image(int width, int height, Color background = white);

  int width() const { return width_; }
  int height() const { return height_; }
  Color pixel(int x, int y) const;  // throws outside the image
  const std::vector<uint8_t>& rgb() const { return rgb_; }

  // Drawing clips to the image; coordinates outside it are fine.
  void set(int x, int y, Color c);
  void blend(int x, int y, Color c, double alpha);  // alpha in [0, 1]
  void fill_rect(int x, int y, int w, int h, Color c);
  void rect(int x, int y, int w, int h, Color c);  // outline, one pixel
  // An anti-aliased line of the given thickness (Wu-style coverage).
  void line(double x0, double y0, double x1, double y1, Color c, double thickness = 1.0);
  void dot(double x, double y, double radius, Color c);
  // Text (UTF-8) with its baseline-free box: `y` is the top of the line. Returns the width drawn.
  int text(int x, int y, const std::string& s, double size, Color c = black, Align align = Align::left);
  // Text turned 90 degrees anticlockwise (reading upwards), centred on (cx, cy).
  void text_vertical(int cx, int cy, const std::string& s, double size, Color c = black);
  // Another image pasted with its top left at (x, y).
  void paste(const Image& other, int x, int y);

  std::vector<uint8_t> encode_png() const;
  void save_png(const std::string& path) const;  // throws lj::Error naming the path on failure

 private:
  int width_ = 0, height_ = 0;
  std::vector<uint8_t> rgb_;
};

// The width and height in pixels of a line of text at a size.
int text_width(const std::string& s, double size);
int text_height(double size);

// --- plots ----------------------------------------------------------------------------------
struct Series {
  std::string label;
  std::vector<double> x, y;
};

struct LinePlot {
  std::string title, xlabel, ylabel;
  std::vector<Series> series;
  bool log_y = false;   // base-10 logarithmic y axis (values must be positive)
  bool markers = true;  // a dot at each point
};
Image plot_lines(const LinePlot& plot, int width = 760, int height = 460);

// Several line plots side by side under one title.
Image plot_lines_panels(const std::vector<LinePlot>& panels, const std::string& title, int panel_width = 420,
                        int panel_height = 360);

struct Histogram {
  std::string title;  // of the panel; mean and std are added below it
  std::vector<double> values;
  int bins = 40;
  Color color = palette(0);
};
// Histograms side by side, each with its own axes, its mean and std written under its title.
Image plot_histograms(const std::vector<Histogram>& panels, const std::string& title,
                      const std::string& xlabel = "value", const std::string& ylabel = "count",
                      int panel_width = 420, int panel_height = 340);

struct BarChart {
  std::string title, xlabel, ylabel;
  std::vector<std::string> categories;
  std::vector<Series> groups;  // each group's y has one value per category (x is unused)
};
Image plot_bars(const BarChart& chart, int width = 760, int height = 460);

// A table drawn as an image: a header row and rows of cells, numbers right-aligned.
Image plot_table(const std::string& title, const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows);

// --- heatmaps -------------------------------------------------------------------------------
struct Heatmap {
  std::string title;
  int64_t rows = 0, cols = 0;
  std::vector<double> values;  // rows * cols, row-major
  std::vector<std::string> row_labels, col_labels;  // empty: indices
};
struct HeatmapStyle {
  std::string title, row_axis = "query", col_axis = "key";
  double vmin = 0.0, vmax = 1.0;  // the colour scale; vmin == vmax: the data's range
  int columns = 4;                // panels per row of the grid
  int cell = 0;                   // pixels per cell; 0: chosen from the size
};
// A grid of heatmaps sharing one colour scale, drawn as a bar on the right.
Image plot_heatmaps(const std::vector<Heatmap>& panels, const HeatmapStyle& style);

// The (T x S) weights of every head as heatmaps titled "head h", labelled with the query tokens
// (rows) and key tokens (columns). weights: (H, T, S) or (B, H, T, S) with `batch` chosen.
// Tokens may be empty (indices are used); otherwise their counts must be T and S.
std::vector<Heatmap> attention_heatmaps(const Tensor& weights, const std::vector<std::string>& query_tokens,
                                        const std::vector<std::string>& key_tokens, int64_t batch = 0);
Image plot_attention(const Tensor& weights, const std::vector<std::string>& query_tokens,
                     const std::vector<std::string>& key_tokens, const std::string& title, int64_t batch = 0,
                     int columns = 4);

// The same heatmaps for a terminal with 24-bit colour: each cell two coloured spaces, tokens on
// both axes, a scale line under each panel; panels side by side up to `max_width` characters.
std::string ansi_heatmaps(const std::vector<Heatmap>& panels, const HeatmapStyle& style, int max_width = 120);
std::string ansi_attention(const Tensor& weights, const std::vector<std::string>& query_tokens,
                           const std::vector<std::string>& key_tokens, const std::string& title,
                           int64_t batch = 0, int max_width = 120);

// A printable label for a token: space -> "␣", newline -> "↵", tab -> "⇥".
std::string token_label(const std::string& token);

}  // namespace lj::viz
