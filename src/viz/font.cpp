// Text on the canvas: DejaVu Sans rasterised by stb_truetype, glyphs cached per size.
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <iterator>

#include "llm_journey/error.hpp"
#include "llm_journey/viz.hpp"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#define STB_TRUETYPE_IMPLEMENTATION
#define STBTT_STATIC
#include <stb/stb_truetype.h>
#pragma GCC diagnostic pop

#ifndef LJ_FONT_PATH
#define LJ_FONT_PATH "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
#endif

namespace lj::viz {
namespace {

struct Glyph {
  int w = 0, h = 0, xoff = 0, yoff = 0, advance = 0;
  std::vector<uint8_t> alpha;
};

class Font {
 public:
  static Font& get() {
    static Font font;
    return font;
  }
  const Glyph& glyph(uint32_t cp, double size) {
    std::lock_guard<std::mutex> lock(mu_);
    int key_size = static_cast<int>(std::lround(size * 4));
    auto key = std::make_pair(cp, key_size);
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    float scale = stbtt_ScaleForPixelHeight(&info_, static_cast<float>(size));
    int index = stbtt_FindGlyphIndex(&info_, static_cast<int>(cp));
    if (index == 0) index = stbtt_FindGlyphIndex(&info_, '?');
    Glyph g;
    int adv = 0, lsb = 0;
    stbtt_GetGlyphHMetrics(&info_, index, &adv, &lsb);
    g.advance = static_cast<int>(std::lround(adv * scale));
    unsigned char* bm = stbtt_GetGlyphBitmap(&info_, scale, scale, index, &g.w, &g.h, &g.xoff, &g.yoff);
    if (bm) {
      g.alpha.assign(bm, bm + static_cast<size_t>(g.w) * g.h);
      stbtt_FreeBitmap(bm, nullptr);
    }
    return cache_.emplace(key, std::move(g)).first->second;
  }
  int ascent(double size) {
    float scale = stbtt_ScaleForPixelHeight(&info_, static_cast<float>(size));
    return static_cast<int>(std::lround(ascent_ * scale));
  }

 private:
  Font() {
    const char* env = std::getenv("LJ_FONT");
    std::string path = env && *env ? env : LJ_FONT_PATH;
    std::ifstream in(path, std::ios::binary);
    LJ_CHECK(in.good(), "viz: cannot read the font '", path,
             "' (install Debian's fonts-dejavu-core, or set LJ_FONT to a .ttf file)");
    data_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    LJ_CHECK(data_.size() > 12, "viz: the font '", path, "' is too small to be a TrueType file");
    int offset = stbtt_GetFontOffsetForIndex(data_.data(), 0);
    LJ_CHECK(offset >= 0 && stbtt_InitFont(&info_, data_.data(), offset) != 0, "viz: '", path,
             "' is not a TrueType font stb_truetype can read");
    int descent = 0, gap = 0;
    stbtt_GetFontVMetrics(&info_, &ascent_, &descent, &gap);
  }
  std::vector<unsigned char> data_;
  stbtt_fontinfo info_{};
  int ascent_ = 0;
  std::mutex mu_;
  std::map<std::pair<uint32_t, int>, Glyph> cache_;
};

// UTF-8 to code points; a malformed byte becomes U+FFFD.
std::vector<uint32_t> decode_utf8(const std::string& s) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) {
      out.push_back(0xFFFD);
      i++;
      continue;
    }
    uint32_t cp = n == 1 ? c : c & (0x7F >> n);
    bool ok = true;
    for (int k = 1; k < n; k++) {
      auto d = static_cast<unsigned char>(s[i + k]);
      if ((d >> 6) != 2) ok = false;
      cp = (cp << 6) | (d & 0x3F);
    }
    out.push_back(ok ? cp : 0xFFFD);
    i += ok ? n : 1;
  }
  return out;
}

// Draws into an alpha mask callback; returns the width.
template <typename Plot>
int render(const std::string& s, double size, Plot plot) {
  Font& font = Font::get();
  int ascent = font.ascent(size);
  int pen = 0;
  for (uint32_t cp : decode_utf8(s)) {
    const Glyph& g = font.glyph(cp, size);
    for (int j = 0; j < g.h; j++)
      for (int i = 0; i < g.w; i++) {
        uint8_t a = g.alpha[static_cast<size_t>(j) * g.w + i];
        if (a) plot(pen + g.xoff + i, ascent + g.yoff + j, a / 255.0);
      }
    pen += g.advance;
  }
  return pen;
}

}  // namespace

int text_width(const std::string& s, double size) {
  int w = 0;
  for (uint32_t cp : decode_utf8(s)) w += Font::get().glyph(cp, size).advance;
  return w;
}

int text_height(double size) { return static_cast<int>(std::ceil(size * 1.2)); }

int Image::text(int x, int y, const std::string& s, double size, Color c, Align align) {
  int w = text_width(s, size);
  int x0 = align == Align::left ? x : align == Align::center ? x - w / 2 : x - w;
  render(s, size, [&](int px, int py, double a) { blend(x0 + px, y + py, c, a); });
  return w;
}

void Image::text_vertical(int cx, int cy, const std::string& s, double size, Color c) {
  int w = text_width(s, size), h = text_height(size);
  // Rotated 90 degrees anticlockwise: the text's (px, py) goes to (py, w - 1 - px).
  int x0 = cx - h / 2, y0 = cy - w / 2;
  render(s, size, [&](int px, int py, double a) { blend(x0 + py, y0 + (w - 1 - px), c, a); });
}

std::string token_label(const std::string& token) {
  std::string out;
  for (char ch : token) {
    if (ch == ' ') out += "\u2423";
    else if (ch == '\n') out += "\u21B5";
    else if (ch == '\t') out += "\u21E5";
    else out += ch;
  }
  return out;
}

}  // namespace lj::viz
