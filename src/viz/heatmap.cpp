// Heatmaps: a grid of panels sharing one colour scale, as an image and as 24-bit terminal colour;
// and their use for attention weights, one panel per head.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "llm_journey/error.hpp"
#include "viz/axes.hpp"

namespace lj::viz {
namespace {

std::string label_at(const std::vector<std::string>& labels, int64_t i) {
  return labels.empty() ? std::to_string(i) : token_label(labels[i]);
}

void check_panel(const Heatmap& h) {
  LJ_CHECK(h.rows > 0 && h.cols > 0 && static_cast<int64_t>(h.values.size()) == h.rows * h.cols, "heatmap '",
           h.title, "': ", h.values.size(), " values for ", h.rows, " x ", h.cols, " cells");
  LJ_CHECK(h.row_labels.empty() || static_cast<int64_t>(h.row_labels.size()) == h.rows, "heatmap '", h.title,
           "': ", h.row_labels.size(), " row labels for ", h.rows, " rows");
  LJ_CHECK(h.col_labels.empty() || static_cast<int64_t>(h.col_labels.size()) == h.cols, "heatmap '", h.title,
           "': ", h.col_labels.size(), " column labels for ", h.cols, " columns");
}

// The colour scale: the style's, or the data's range when vmin == vmax.
std::pair<double, double> value_range(const std::vector<Heatmap>& panels, const HeatmapStyle& style) {
  if (style.vmax != style.vmin) return {style.vmin, style.vmax};
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& p : panels)
    for (double v : p.values)
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!(lo < hi)) return {std::isfinite(lo) ? lo - 0.5 : 0.0, std::isfinite(lo) ? lo + 0.5 : 1.0};
  return {lo, hi};
}

std::string utf8_prefix(const std::string& s, int n) {  // the first n code points
  size_t i = 0;
  for (int k = 0; k < n && i < s.size(); k++) {
    i++;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) >> 6) == 2) i++;
  }
  return s.substr(0, i);
}
int utf8_length(const std::string& s) {
  int n = 0;
  for (char ch : s) n += (static_cast<unsigned char>(ch) >> 6) != 2;
  return n;
}

std::string ansi_bg(Color c) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "\x1b[48;2;%d;%d;%dm", c.r, c.g, c.b);
  return buf;
}
const char* ansi_reset = "\x1b[0m";

}  // namespace

Image plot_heatmaps(const std::vector<Heatmap>& panels, const HeatmapStyle& style) {
  LJ_CHECK(!panels.empty(), "plot_heatmaps: no panels to draw");
  LJ_CHECK(style.columns > 0, "plot_heatmaps: columns=", style.columns, " must be positive");
  int64_t max_rows = 0, max_cols = 0;
  int label_w = 0, col_label_h = 0;
  bool vertical_cols = false;
  for (const auto& p : panels) {
    check_panel(p);
    max_rows = std::max(max_rows, p.rows);
    max_cols = std::max(max_cols, p.cols);
  }
  int cell = style.cell > 0 ? style.cell : static_cast<int>(std::clamp<int64_t>(320 / std::max(max_rows, max_cols), 8, 30));
  double fs = std::clamp(cell * 0.62, 8.0, 13.0);
  for (const auto& p : panels) {
    for (int64_t i = 0; i < p.rows; i++) label_w = std::max(label_w, text_width(label_at(p.row_labels, i), fs));
    for (int64_t j = 0; j < p.cols; j++) {
      int w = text_width(label_at(p.col_labels, j), fs);
      col_label_h = std::max(col_label_h, w);
      if (w > cell) vertical_cols = true;
    }
  }
  if (!vertical_cols) col_label_h = text_height(fs);
  const int axis = 22, title_h = 28, gap = 26;
  int panel_w = axis + label_w + 6 + static_cast<int>(max_cols) * cell + gap;
  int panel_h = title_h + static_cast<int>(max_rows) * cell + 6 + col_label_h + axis + gap / 2;
  int ncols = std::min<int>(style.columns, panels.size());
  int nrows = static_cast<int>((panels.size() + ncols - 1) / ncols);
  int band = style.title.empty() ? 10 : 44, bar_w = 90;
  Image img(panel_w * ncols + bar_w + 10, band + panel_h * nrows + 10);
  if (!style.title.empty()) img.text(img.width() / 2, 12, style.title, detail::title_size + 1, black, Align::center);
  auto [vmin, vmax] = value_range(panels, style);

  for (size_t k = 0; k < panels.size(); k++) {
    const Heatmap& p = panels[k];
    int ox = 10 + static_cast<int>(k % ncols) * panel_w, oy = band + static_cast<int>(k / ncols) * panel_h;
    int mx = ox + axis + label_w + 6, my = oy + title_h;
    int mw = static_cast<int>(p.cols) * cell, mh = static_cast<int>(p.rows) * cell;
    img.text(mx + mw / 2, oy + 4, p.title, detail::label_size, black, Align::center);
    for (int64_t i = 0; i < p.rows; i++)
      for (int64_t j = 0; j < p.cols; j++) {
        double v = p.values[i * p.cols + j];
        Color c = std::isfinite(v) ? viridis((v - vmin) / (vmax - vmin)) : Color{255, 0, 255};
        img.fill_rect(mx + static_cast<int>(j) * cell, my + static_cast<int>(i) * cell, cell, cell, c);
      }
    img.rect(mx - 1, my - 1, mw + 2, mh + 2, black);
    for (int64_t i = 0; i < p.rows; i++)
      img.text(mx - 4, my + static_cast<int>(i) * cell + (cell - text_height(fs)) / 2 + 1, label_at(p.row_labels, i),
               fs, black, Align::right);
    for (int64_t j = 0; j < p.cols; j++) {
      std::string l = label_at(p.col_labels, j);
      int cx = mx + static_cast<int>(j) * cell + cell / 2;
      if (vertical_cols) img.text_vertical(cx, my + mh + 4 + text_width(l, fs) / 2, l, fs);
      else img.text(cx, my + mh + 3, l, fs, black, Align::center);
    }
    img.text(mx + mw / 2, my + mh + 6 + col_label_h, style.col_axis, detail::tick_size, grey, Align::center);
    img.text_vertical(ox + axis / 2 - 2, my + mh / 2, style.row_axis, detail::tick_size, grey);
  }

  // The colour bar: as tall as one panel's matrix, with five ticks.
  int bx = panel_w * ncols + 14, by = band + title_h, bh = static_cast<int>(max_rows) * cell;
  bh = std::max(bh, 120);
  for (int y = 0; y < bh; y++) img.fill_rect(bx, by + y, 16, 1, viridis(1.0 - static_cast<double>(y) / (bh - 1)));
  img.rect(bx - 1, by - 1, 18, bh + 2, black);
  for (int t = 0; t <= 4; t++) {
    double v = vmin + (vmax - vmin) * t / 4;
    int y = by + bh - 1 - static_cast<int>(std::lround((bh - 1) * t / 4.0));
    img.fill_rect(bx + 17, y, 4, 1, black);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", v);
    img.text(bx + 24, y - text_height(detail::tick_size) / 2, buf, detail::tick_size);
  }
  return img;
}

std::vector<Heatmap> attention_heatmaps(const Tensor& weights, const std::vector<std::string>& query_tokens,
                                        const std::vector<std::string>& key_tokens, int64_t batch) {
  LJ_CHECK(weights.defined(), "attention_heatmaps: the weights are undefined (run a forward pass first)");
  LJ_CHECK(weights.dim() == 3 || weights.dim() == 4, "attention_heatmaps: weights of shape ", weights.shape(),
           " are neither (H, T, S) nor (B, H, T, S)");
  Tensor w = weights.detach();
  if (w.dim() == 4) {
    LJ_CHECK(batch >= 0 && batch < w.size(0), "attention_heatmaps: batch=", batch, " is outside 0..", w.size(0) - 1);
    w = w.select(0, batch);
  }
  int64_t H = w.size(0), T = w.size(1), S = w.size(2);
  LJ_CHECK(query_tokens.empty() || static_cast<int64_t>(query_tokens.size()) == T, "attention_heatmaps: ",
           query_tokens.size(), " query tokens for T=", T);
  LJ_CHECK(key_tokens.empty() || static_cast<int64_t>(key_tokens.size()) == S, "attention_heatmaps: ",
           key_tokens.size(), " key tokens for S=", S);
  std::vector<float> v = w.to_vector();
  std::vector<Heatmap> out;
  for (int64_t h = 0; h < H; h++) {
    Heatmap m{"head " + std::to_string(h), T, S, {}, query_tokens, key_tokens};
    m.values.assign(v.begin() + h * T * S, v.begin() + (h + 1) * T * S);
    out.push_back(std::move(m));
  }
  return out;
}

Image plot_attention(const Tensor& weights, const std::vector<std::string>& query_tokens,
                     const std::vector<std::string>& key_tokens, const std::string& title, int64_t batch,
                     int columns) {
  HeatmapStyle style;
  style.title = title;
  style.columns = columns;
  return plot_heatmaps(attention_heatmaps(weights, query_tokens, key_tokens, batch), style);
}

std::string ansi_heatmaps(const std::vector<Heatmap>& panels, const HeatmapStyle& style, int max_width) {
  LJ_CHECK(!panels.empty(), "ansi_heatmaps: no panels to draw");
  auto [vmin, vmax] = value_range(panels, style);
  // Each panel as lines of equal display width; then laid side by side.
  struct Block {
    std::vector<std::string> lines;
    int width = 0;
  };
  std::vector<Block> blocks;
  for (const auto& p : panels) {
    check_panel(p);
    int lw = 0;
    for (int64_t i = 0; i < p.rows; i++) lw = std::max(lw, std::min(8, utf8_length(label_at(p.row_labels, i))));
    bool short_cols = true;
    for (int64_t j = 0; j < p.cols; j++) short_cols = short_cols && utf8_length(label_at(p.col_labels, j)) <= 2;
    Block b;
    b.width = lw + 1 + 2 * static_cast<int>(p.cols);
    auto pad = [](std::string s, int w) {
      int n = utf8_length(s);
      return s + std::string(std::max(0, w - n), ' ');
    };
    b.lines.push_back(pad(utf8_prefix(p.title, b.width), b.width));
    for (int64_t i = 0; i < p.rows; i++) {
      std::string l = utf8_prefix(label_at(p.row_labels, i), 8);
      std::string line = std::string(lw - utf8_length(l), ' ') + l + " ";
      for (int64_t j = 0; j < p.cols; j++) {
        double v = p.values[i * p.cols + j];
        line += ansi_bg(std::isfinite(v) ? viridis((v - vmin) / (vmax - vmin)) : Color{255, 0, 255}) + "  ";
      }
      b.lines.push_back(line + ansi_reset);
    }
    std::string cols(lw + 1, ' ');
    for (int64_t j = 0; j < p.cols; j++) {
      std::string l = short_cols ? label_at(p.col_labels, j) : std::to_string(j % 10);
      cols += pad(l, 2);
    }
    b.lines.push_back(cols);
    blocks.push_back(std::move(b));
  }
  std::string out;
  if (!style.title.empty()) out += style.title + "\n";
  for (size_t start = 0; start < blocks.size();) {
    size_t end = start;
    int used = 0;
    while (end < blocks.size() && (end == start || used + blocks[end].width + 3 <= max_width)) used += blocks[end++].width + 3;
    size_t lines = 0;
    for (size_t k = start; k < end; k++) lines = std::max(lines, blocks[k].lines.size());
    for (size_t i = 0; i < lines; i++) {
      std::string row;
      for (size_t k = start; k < end; k++) {
        const Block& b = blocks[k];
        row += i < b.lines.size() ? b.lines[i] : std::string(b.width, ' ');
        if (k + 1 < end) row += "   ";
      }
      while (!row.empty() && row.back() == ' ') row.pop_back();
      out += row + "\n";
    }
    out += "\n";
    start = end;
  }
  // The scale: ten steps from vmin to vmax.
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f ", vmin);
  out += std::string("scale (") + style.row_axis + " rows x " + style.col_axis + " columns): " + buf;
  for (int s = 0; s < 10; s++) out += ansi_bg(viridis(s / 9.0)) + "  ";
  std::snprintf(buf, sizeof buf, " %.2f", vmax);
  out += std::string(ansi_reset) + buf + "\n";
  bool any_long = false;
  for (const auto& p : panels)
    for (const auto& l : p.col_labels) any_long = any_long || utf8_length(token_label(l)) > 2;
  if (any_long) {
    out += "key columns: ";
    for (size_t j = 0; j < panels[0].col_labels.size(); j++)
      out += std::to_string(j) + "=" + token_label(panels[0].col_labels[j]) + " ";
    out += "\n";
  }
  return out;
}

std::string ansi_attention(const Tensor& weights, const std::vector<std::string>& query_tokens,
                           const std::vector<std::string>& key_tokens, const std::string& title, int64_t batch,
                           int max_width) {
  HeatmapStyle style;
  style.title = title;
  return ansi_heatmaps(attention_heatmaps(weights, query_tokens, key_tokens, batch), style, max_width);
}

}  // namespace lj::viz
