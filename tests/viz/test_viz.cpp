// The pictures: PNG through an independent decoder, colours, terminal rendering, the report's
// pieces (base64, ANSI to HTML, a cell's code) and a Notebook writing a report.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <llm_journey/llm_journey.hpp>
#include <llm_journey/notebook.hpp>

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb/stb_image.h>

using namespace lj;
namespace fs = std::filesystem;

namespace {
// Decodes a PNG with stb_image (not the encoder's code) and returns w, h and RGB bytes.
std::vector<uint8_t> decode(const std::vector<uint8_t>& png, int& w, int& h) {
  int n = 0;
  unsigned char* p = stbi_load_from_memory(png.data(), static_cast<int>(png.size()), &w, &h, &n, 3);
  EXPECT_NE(p, nullptr) << stbi_failure_reason();
  std::vector<uint8_t> out(p, p + static_cast<size_t>(w) * h * 3);
  stbi_image_free(p);
  return out;
}
bool has_colour(const viz::Image& img, viz::Color c) {
  for (int y = 0; y < img.height(); y++)
    for (int x = 0; x < img.width(); x++) {
      viz::Color p = img.pixel(x, y);
      if (p.r == c.r && p.g == c.g && p.b == c.b) return true;
    }
  return false;
}
}  // namespace

TEST(Viz, PngRoundTripsThroughAnIndependentDecoder) {
  viz::Image img(7, 5, viz::white);
  img.set(0, 0, {255, 0, 0});
  img.set(6, 4, {1, 2, 3});
  img.fill_rect(2, 1, 2, 2, {10, 200, 30});
  int w = 0, h = 0;
  std::vector<uint8_t> rgb = decode(img.encode_png(), w, h);
  ASSERT_EQ(w, 7);
  ASSERT_EQ(h, 5);
  EXPECT_EQ(rgb, img.rgb());
  EXPECT_EQ(rgb[0], 255);
  EXPECT_EQ(rgb[(4 * 7 + 6) * 3 + 2], 3);
}

TEST(Viz, BadSizesAndPathsAreClearErrors) {
  EXPECT_THROW(viz::Image(0, 10), Error);
  EXPECT_THROW(viz::Image(10, 10).pixel(10, 0), Error);
  EXPECT_THROW(viz::Image(4, 4).save_png("/nonexistent-dir/x.png"), Error);
}

TEST(Viz, ViridisEndsAndClamps) {
  viz::Color lo = viz::viridis(0), hi = viz::viridis(1), nan = viz::viridis(NAN);
  EXPECT_EQ(lo.r, 68);
  EXPECT_EQ(lo.b, 84);
  EXPECT_EQ(hi.r, 253);
  EXPECT_EQ(hi.g, 231);
  EXPECT_EQ(nan.r, 68);
  EXPECT_EQ(viz::viridis(7.0).g, 231);
}

TEST(Viz, TextDrawsInk) {
  viz::Image img(120, 30);
  int w = img.text(2, 2, "head 0", 14);
  EXPECT_GT(w, 20);
  EXPECT_EQ(w, viz::text_width("head 0", 14));
  EXPECT_TRUE(has_colour(img, viz::black));
  viz::Image blank(120, 30);
  blank.text(2, 2, "", 14);
  EXPECT_FALSE(has_colour(blank, viz::black));
}

TEST(Viz, AttentionGridShowsTheWeightsColours) {
  // One head, weights 1 on the diagonal: the image holds viridis(1) and viridis(0) cells.
  Tensor w = Tensor::from_vector({1, 0, 0, 1}, {1, 1, 2, 2});
  viz::Image img = viz::plot_attention(w, {"a", "b"}, {"a", "b"}, "t");
  EXPECT_TRUE(has_colour(img, viz::viridis(1.0)));
  EXPECT_TRUE(has_colour(img, viz::viridis(0.0)));
  std::string ansi = viz::ansi_attention(w, {"a", " "}, {"a", " "}, "t");
  EXPECT_NE(ansi.find("\x1b[48;2;253;231;37m"), std::string::npos);
  EXPECT_NE(ansi.find("\x1b[48;2;68;1;84m"), std::string::npos);
  EXPECT_NE(ansi.find("\u2423"), std::string::npos);  // the space token, made visible
}

TEST(Viz, AttentionChecksShapesAndTokens) {
  Tensor w = Tensor::zeros({2, 3, 3});
  EXPECT_THROW(viz::attention_heatmaps(Tensor::zeros({3, 3}), {}, {}), Error);
  EXPECT_THROW(viz::attention_heatmaps(w, {"a", "b"}, {}), Error);
  EXPECT_THROW(viz::attention_heatmaps(Tensor::zeros({1, 2, 3, 3}), {}, {}, 1), Error);
  EXPECT_EQ(viz::attention_heatmaps(w, {}, {}).size(), 2u);
  EXPECT_EQ(viz::attention_heatmaps(w, {}, {})[1].title, "head 1");
}

TEST(Viz, PlotsCheckTheirData) {
  EXPECT_THROW(viz::plot_lines({"t", "x", "y", {{"s", {1, 2}, {1}}}}), Error);
  EXPECT_THROW(viz::plot_histograms({{"h", {1, 2}, 0}}, "t"), Error);
  EXPECT_THROW(viz::plot_bars({"t", "x", "y", {"a", "b"}, {{"g", {}, {1}}}}), Error);
  EXPECT_THROW(viz::plot_table("t", {"a", "b"}, {{"1"}}), Error);
  // NaN and infinities are skipped, not drawn and not fatal.
  viz::Image img = viz::plot_lines({"t", "x", "y", {{"s", {1, 2, 3}, {1, NAN, INFINITY}}}, true});
  EXPECT_GT(img.width(), 0);
}

TEST(Report, Base64KnownAnswers) {
  auto b = [](const std::string& s) { return base64(std::vector<uint8_t>(s.begin(), s.end())); };
  EXPECT_EQ(b(""), "");
  EXPECT_EQ(b("f"), "Zg==");
  EXPECT_EQ(b("fo"), "Zm8=");
  EXPECT_EQ(b("foobar"), "Zm9vYmFy");
}

TEST(Report, AnsiBecomesStyledSpans) {
  EXPECT_EQ(ansi_to_html("\x1b[48;2;1;2;3mX\x1b[0m<&"), "<span style=\"background:rgb(1,2,3)\">X</span>&lt;&amp;");
  EXPECT_EQ(ansi_to_html("\x1b[38;2;9;8;7mY"), "<span style=\"color:rgb(9,8,7)\">Y</span>");
}

TEST(Report, CellCodeSkipsTheCallAndStopsAtTheNextCell) {
  std::string src =
      "int f(Notebook& nb) {\n"           // 1
      "  nb.cell(\"A\", R\"(text\n"       // 2
      "more text)\");\n"                  // 3
      "  int x = 1;\n"                    // 4
      "    x++;\n"                        // 5
      "\n"                                // 6
      "  nb.cell(\"B\");\n"               // 7
      "  return x;\n"                     // 8
      "}\n";                              // 9
  EXPECT_EQ(cell_code(src, 2, 7), "int x = 1;\n  x++;\n");
  EXPECT_EQ(cell_code(src, 7, 0), "return x;\n");
  EXPECT_EQ(cell_code(src, 99, 0), "");
}

TEST(Report, NotebookCapturesOutputAndWritesASelfContainedPage) {
  fs::path dir = fs::temp_directory_path() / ("lj_report_test_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  std::string path;
  {
    Notebook nb({"99", "Test", dir.string(), "", [](const std::string&) { return std::string(); }});
    nb.cell("First", "Some **bold** text");
    std::printf("printed <in> the cell\n");
    nb.figure(viz::Image(3, 2, viz::black), "tiny", "a caption");
    path = nb.finish();
  }
  ASSERT_EQ(path, (dir / "lesson_99.html").string());
  std::ifstream in(path);
  std::string html((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(html.find("printed &lt;in&gt; the cell"), std::string::npos);
  EXPECT_NE(html.find("<strong>bold</strong>"), std::string::npos);
  EXPECT_NE(html.find("src=\"data:image/png;base64,iVBORw0KGgo"), std::string::npos);  // the PNG signature
  EXPECT_NE(html.find("a caption"), std::string::npos);
  EXPECT_EQ(html.find("http"), std::string::npos);  // nothing fetched from anywhere
  EXPECT_TRUE(fs::exists(dir / "figures" / "tiny.png"));
  fs::remove_all(dir);
}

// The lessons' formulas as MathML (the expected markup written from the MathML Core elements).
TEST(Report, FormulasBecomeMathML) {
  EXPECT_EQ(tex_to_mathml("Q K^T"), "<mi>Q</mi><msup><mi>K</mi><mi>T</mi></msup>");
  EXPECT_EQ(tex_to_mathml("Q W^Q_i"), "<mi>Q</mi><msubsup><mi>W</mi><mi>i</mi><mi>Q</mi></msubsup>");
  EXPECT_EQ(tex_to_mathml("10000^{2i/d}"),
            "<msup><mn>10000</mn><mrow><mn>2</mn><mi>i</mi><mo>/</mo><mi>d</mi></mrow></msup>");
  EXPECT_EQ(tex_to_mathml("head_1, ..., head_h"),
            "<msub><mi>head</mi><mn>1</mn></msub><mo>,</mo><mo>&#x2026;</mo><mo>,</mo><msub><mi>head</mi><mi>h</mi></msub>");
  EXPECT_EQ(tex_to_mathml("a = b,   c < d"),
            "<mi>a</mi><mo>=</mo><mi>b</mi><mo>,</mo><mspace width=\"2em\"/><mi>c</mi><mo>&lt;</mo><mi>d</mi>");
  EXPECT_EQ(tex_to_mathml("x}"), "<mi>x</mi><mo>}</mo>");  // an unmatched brace is kept, not dropped
}

TEST(Report, DisplayFormulasAreMathElements) {
  NotebookCell c;
  c.title = "t";
  c.text = "Before.\n$$Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V$$\nAfter.";
  const std::string html = notebook_html({}, {c});
  EXPECT_NE(html.find("<div class=\"formula\"><math display=\"block\"><mi>Attention</mi><mo>(</mo>"), std::string::npos);
  EXPECT_NE(html.find("<msup><mi>K</mi><mi>T</mi></msup>"), std::string::npos);
  EXPECT_EQ(html.find("K^T"), std::string::npos);
}
