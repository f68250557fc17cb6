// Notebook: a lesson's cells, printed to the terminal as it runs and, when asked, written as a
// self-contained HTML page (text, code, output and figures of every cell), like a notebook run.
//
// A lesson reads top to bottom like its notebook:
//
//   nb.cell("1. Multi-Head Attention", R"(Instead of a single attention function, ...)");
//   MultiHeadAttention mha(d_model, num_heads);           // this code, up to the next cell(),
//   std::cout << count_parameters(mha) << "\n";           // is the cell's code in the report,
//   nb.figure(viz::plot_lines(...), "loss");              // and what it prints, its output
//
// cell() prints "\n## title\n\n" and nothing else, so a lesson's terminal output is what it prints.
// The code of a cell is taken from the lesson's source (embedded in the program at build time):
// the lines after the cell() statement up to the next cell() or finish(), or the end of the
// enclosing function (a "}" in the first column), whichever comes first.
#pragma once
#include <cstdio>
#include <functional>
#include <memory>
#include <source_location>
#include <string>
#include <vector>

#include "llm_journey/viz.hpp"

namespace lj {

struct NotebookOptions {
  std::string number;       // "02"
  std::string title;        // "Multi-Head Attention and Transformer Blocks"
  std::string report_dir;   // empty: no report; else DIR/lesson_NN.html (and DIR/figures/)
  std::string figures_dir;  // where figures are saved as PNG; empty: figures/lesson_NN, or DIR/figures
  // The text of a source file by its base name ("lesson_02_multi_head_attention.cpp"), or "" if
  // unknown: the report then shows no code for cells in that file.
  std::function<std::string(const std::string& file)> source;
};

struct NotebookFigure {
  std::string name, caption, path;
  std::vector<uint8_t> png;
};

struct NotebookCell {
  std::string title, text, code, output;
  std::vector<NotebookFigure> figures;
  std::string file;  // where the cell's code lies
  unsigned line = 0;
};

class Notebook {
 public:
  explicit Notebook(NotebookOptions options);
  ~Notebook();  // restores stdout if a cell is still capturing; writes no report (call finish)
  Notebook(const Notebook&) = delete;
  Notebook& operator=(const Notebook&) = delete;

  // Starts a cell. title "" makes a text-only cell (an introduction) that prints nothing.
  void cell(const std::string& title, const std::string& text = "",
            std::source_location where = std::source_location::current());
  // Saves the figure as PNG (figures dir / name.png), prints where, and shows it in the report.
  void figure(const viz::Image& image, const std::string& name, const std::string& caption = "");
  // Ends the last cell; writes the report if one was asked for and returns its path ("" if none).
  std::string finish(std::source_location where = std::source_location::current());

  bool reporting() const { return !options_.report_dir.empty(); }
  const std::string& figures_dir() const { return figures_dir_; }
  const std::vector<NotebookCell>& cells() const { return cells_; }

 private:
  void end_cell(const std::source_location& next);
  void start_capture();
  std::string stop_capture();

  NotebookOptions options_;
  std::string figures_dir_;
  std::vector<NotebookCell> cells_;
  bool open_ = false, finished_ = false;
  int saved_stdout_ = -1;
  std::FILE* capture_ = nullptr;
};

// The report: one HTML page, images inline as base64 data URIs, no external resources.
std::string notebook_html(const NotebookOptions& options, const std::vector<NotebookCell>& cells);

// A display formula of the lessons' texts, in the TeX they are written in ("K^T", "W^Q_i",
// "10000^{2i/d}", "head_1, ..., head_h"), as the inside of a MathML <math> element, which the browser
// lays out itself (no script, no font files): words are <mi> (one letter in italic, a name upright),
// numbers <mn>, other signs <mo>, {...} groups <mrow>, x^a <msup>, x_a <msub>, both <msubsup>, and a
// run of spaces a gap between two formulas.
std::string tex_to_mathml(const std::string& tex);
// Terminal output with 24-bit ANSI colours as HTML: colours become styled spans, text is escaped.
std::string ansi_to_html(const std::string& text);
std::string base64(const std::vector<uint8_t>& bytes);
// A cell's code: the lines after the statement that starts at `line` (1-based) up to `end_line`
// (exclusive; 0: none) or the first "}" in column one, with common indentation removed.
std::string cell_code(const std::string& source, unsigned line, unsigned end_line);

}  // namespace lj
