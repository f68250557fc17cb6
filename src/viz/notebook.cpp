// The Notebook's cells: stdout captured per cell while a report is being written, figures saved
// as PNG, and each cell's code found in the lesson's source.
#include "llm_journey/notebook.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "llm_journey/error.hpp"

namespace lj {
namespace fs = std::filesystem;

Notebook::Notebook(NotebookOptions options) : options_(std::move(options)) {
  figures_dir_ = !options_.figures_dir.empty() ? options_.figures_dir
                 : reporting()                 ? (fs::path(options_.report_dir) / "figures").string()
                                               : (fs::path("figures") / ("lesson_" + options_.number)).string();
}

Notebook::~Notebook() {
  if (capture_) {
    try {
      std::string out = stop_capture();
      std::fwrite(out.data(), 1, out.size(), stdout);
      std::fflush(stdout);
    } catch (...) {
    }
  }
}

void Notebook::start_capture() {
  if (!reporting()) return;
  std::cout.flush();
  std::fflush(stdout);
  capture_ = std::tmpfile();
  LJ_CHECK(capture_ != nullptr, "Notebook: cannot create a temporary file to capture a cell's output");
  saved_stdout_ = dup(STDOUT_FILENO);
  LJ_CHECK(saved_stdout_ >= 0 && dup2(fileno(capture_), STDOUT_FILENO) >= 0,
           "Notebook: cannot redirect stdout to capture a cell's output");
}

std::string Notebook::stop_capture() {
  if (!capture_) return "";
  std::cout.flush();
  std::fflush(stdout);
  dup2(saved_stdout_, STDOUT_FILENO);
  close(saved_stdout_);
  saved_stdout_ = -1;
  std::string out;
  std::rewind(capture_);
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, capture_)) > 0;) out.append(buf, n);
  std::fclose(capture_);
  capture_ = nullptr;
  return out;
}

void Notebook::end_cell(const std::source_location& next) {
  if (!open_) return;
  NotebookCell& c = cells_.back();
  c.output = stop_capture();
  // What the cell printed goes to the terminal too, once the cell is done.
  std::fwrite(c.output.data(), 1, c.output.size(), stdout);
  std::fflush(stdout);
  if (options_.source) {
    std::string base = fs::path(c.file).filename().string();
    std::string src = options_.source(base);
    bool same_file = fs::path(next.file_name()).filename() == base && next.line() > c.line;
    if (!src.empty()) c.code = cell_code(src, c.line, same_file ? next.line() : 0);
  }
  open_ = false;
}

void Notebook::cell(const std::string& title, const std::string& text, std::source_location where) {
  LJ_CHECK(!finished_, "Notebook::cell('", title, "'): the notebook is already finished");
  end_cell(where);
  if (!title.empty()) {
    std::printf("\n## %s\n\n", title.c_str());
    std::fflush(stdout);
  }
  NotebookCell c;
  c.title = title;
  c.text = text;
  c.file = where.file_name();
  c.line = where.line();
  cells_.push_back(std::move(c));
  open_ = true;
  start_capture();
}

void Notebook::figure(const viz::Image& image, const std::string& name, const std::string& caption) {
  LJ_CHECK(!name.empty() && name.find('/') == std::string::npos && name.find("..") == std::string::npos,
           "Notebook::figure: name '", name, "' must be a plain file name (no '/' or '..')");
  if (!open_) cell("", "");
  std::error_code ec;
  fs::create_directories(figures_dir_, ec);
  LJ_CHECK(!ec, "Notebook::figure: cannot create the directory '", figures_dir_, "': ", ec.message());
  NotebookFigure f;
  f.name = name;
  f.caption = caption;
  f.path = (fs::path(figures_dir_) / (name + ".png")).string();
  f.png = image.encode_png();
  std::ofstream out(f.path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(f.png.data()), static_cast<std::streamsize>(f.png.size()));
  LJ_CHECK(out.good(), "Notebook::figure: cannot write '", f.path, "'");
  std::printf("[figure: %s]\n", f.path.c_str());
  std::fflush(stdout);
  if (!reporting()) f.png.clear();  // kept only for the report
  cells_.back().figures.push_back(std::move(f));
}

std::string Notebook::finish(std::source_location where) {
  if (finished_) return "";
  end_cell(where);
  finished_ = true;
  if (!reporting()) return "";
  std::error_code ec;
  fs::create_directories(options_.report_dir, ec);
  LJ_CHECK(!ec, "Notebook: cannot create the report directory '", options_.report_dir, "': ", ec.message());
  std::string path = (fs::path(options_.report_dir) / ("lesson_" + options_.number + ".html")).string();
  std::ofstream out(path, std::ios::binary);
  out << notebook_html(options_, cells_);
  LJ_CHECK(out.good(), "Notebook: cannot write the report '", path, "'");
  std::printf("\nReport written to %s\n", path.c_str());
  return path;
}

std::string cell_code(const std::string& source, unsigned line, unsigned end_line) {
  std::vector<std::string> lines;
  std::istringstream in(source);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  if (line == 0 || line > lines.size()) return "";
  auto trimmed = [](const std::string& s) {
    size_t a = s.find_first_not_of(" \t\r"), b = s.find_last_not_of(" \t\r");
    return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
  };
  // Skip the cell() statement itself, which may span several lines (a raw-string text).
  size_t i = line - 1;
  while (i < lines.size()) {
    std::string t = trimmed(lines[i++]);
    if (t.size() >= 2 && t.compare(t.size() - 2, 2, ");") == 0) break;
  }
  std::vector<std::string> body;
  for (; i < lines.size(); i++) {
    if (end_line && i + 1 >= end_line) break;
    if (!lines[i].empty() && lines[i][0] == '}') break;
    body.push_back(lines[i]);
  }
  while (!body.empty() && trimmed(body.back()).empty()) body.pop_back();
  while (!body.empty() && trimmed(body.front()).empty()) body.erase(body.begin());
  size_t indent = std::string::npos;
  for (const auto& l : body)
    if (!trimmed(l).empty()) indent = std::min(indent, l.find_first_not_of(' '));
  std::string out;
  for (const auto& l : body) out += (l.size() >= indent ? l.substr(indent) : trimmed(l)) + "\n";
  return out;
}

}  // namespace lj
