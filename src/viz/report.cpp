// The notebook report: one self-contained HTML page. Figures are inline PNG data URIs, the style
// sheet is inline, and nothing is fetched, so the page opens offline.
#include <cctype>
#include <cstdio>
#include <sstream>

#include "llm_journey/notebook.hpp"

namespace lj {
namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// Inline markup of the lessons' texts: `code` and **bold**, on escaped text.
std::string inline_markup(const std::string& escaped) {
  std::string out;
  bool code = false, bold = false;
  for (size_t i = 0; i < escaped.size(); i++) {
    if (escaped[i] == '`') {
      out += code ? "</code>" : "<code>";
      code = !code;
    } else if (!code && escaped.compare(i, 2, "**") == 0) {
      out += bold ? "</strong>" : "<strong>";
      bold = !bold;
      i++;
    } else {
      out += escaped[i];
    }
  }
  if (code) out += "</code>";
  if (bold) out += "</strong>";
  return out;
}

}  // namespace

namespace {

// Recursive descent over the formula: sequence := atom*, atom := base (^ arg | _ arg)*,
// arg := {sequence} | one word, number or sign.
struct TexParser {
  const std::string& s;
  size_t i = 0;

  static bool letter(char c) { return std::isalpha(static_cast<unsigned char>(c)); }
  static bool digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '.'; }

  // One token: a word, a number, "...", a {group}, or a sign. "" at the end or at a closing brace.
  std::string token() {
    if (i >= s.size() || s[i] == '}') return "";
    const size_t a = i;
    if (s[i] == '{') {
      i++;
      std::string inner = sequence();
      if (i < s.size() && s[i] == '}') i++;
      return "<mrow>" + inner + "</mrow>";
    }
    if (s.compare(i, 3, "...") == 0) {
      i += 3;
      return "<mo>&#x2026;</mo>";
    }
    if (letter(s[i])) {
      while (i < s.size() && letter(s[i])) i++;
      return "<mi>" + s.substr(a, i - a) + "</mi>";
    }
    if (digit(s[i])) {
      while (i < s.size() && digit(s[i])) i++;
      return "<mn>" + s.substr(a, i - a) + "</mn>";
    }
    i++;
    return "<mo>" + escape(s.substr(a, 1)) + "</mo>";
  }

  std::string sequence() {
    std::string out;
    while (i < s.size() && s[i] != '}') {
      if (s[i] == ' ') {
        const size_t a = i;
        while (i < s.size() && s[i] == ' ') i++;
        if (i - a >= 2 && a > 0 && i < s.size()) out += "<mspace width=\"2em\"/>";
        continue;
      }
      std::string base = token(), sub, sup;
      while (i < s.size() && (s[i] == '^' || s[i] == '_')) {
        const char op = s[i++];
        (op == '^' ? sup : sub) = token();
      }
      if (!sub.empty() && !sup.empty()) out += "<msubsup>" + base + sub + sup + "</msubsup>";
      else if (!sup.empty()) out += "<msup>" + base + sup + "</msup>";
      else if (!sub.empty()) out += "<msub>" + base + sub + "</msub>";
      else out += base;
    }
    return out;
  }
};

}  // namespace

std::string tex_to_mathml(const std::string& tex) {
  TexParser p{tex};
  std::string out;
  while (p.i < tex.size()) {
    out += p.sequence();
    if (p.i < tex.size()) out += "<mo>}</mo>", p.i++;  // an unmatched closing brace, shown as written
  }
  return out;
}

namespace {

// The texts are short Markdown: paragraphs, "- " lists, "$$...$$" display formulas, `code`, **bold**.
std::string markdown(const std::string& text) {
  std::istringstream in(text);
  std::string out, para;
  bool list = false;
  auto flush_para = [&] {
    if (!para.empty()) out += "<p>" + inline_markup(escape(para)) + "</p>\n";
    para.clear();
  };
  auto close_list = [&] {
    if (list) out += "</ul>\n";
    list = false;
  };
  for (std::string line; std::getline(in, line);) {
    size_t a = line.find_first_not_of(" \t");
    std::string t = a == std::string::npos ? "" : line.substr(a);
    if (t.empty()) {
      flush_para();
      close_list();
    } else if (t.rfind("- ", 0) == 0 || t.rfind("* ", 0) == 0 || (t.size() > 2 && std::isdigit(static_cast<unsigned char>(t[0])) && t[1] == '.')) {
      flush_para();
      if (!list) out += "<ul>\n";
      list = true;
      out += "<li>" + inline_markup(escape(t.substr(t.find(' ') + 1))) + "</li>\n";
    } else if (t.rfind("$$", 0) == 0) {
      flush_para();
      close_list();
      std::string f = t.substr(2);
      if (f.size() >= 2 && f.compare(f.size() - 2, 2, "$$") == 0) f.resize(f.size() - 2);
      out += "<div class=\"formula\"><math display=\"block\">" + tex_to_mathml(f) + "</math></div>\n";
    } else {
      close_list();
      para += (para.empty() ? "" : " ") + t;
    }
  }
  flush_para();
  close_list();
  return out;
}

const char* style = R"css(
body { font-family: "DejaVu Sans", Verdana, sans-serif; max-width: 1180px; margin: 24px auto; padding: 0 16px;
       color: #1d1d1d; background: #fafafa; line-height: 1.45; }
h1 { font-size: 1.6em; border-bottom: 2px solid #3b6ea8; padding-bottom: 6px; }
.cell { background: #fff; border: 1px solid #ddd; border-radius: 6px; margin: 18px 0; padding: 12px 18px; }
.cell h2 { font-size: 1.25em; margin: 4px 0 8px; color: #23466e; }
.formula { text-align: center; margin: 10px 0; font-size: 1.1em; }
.label { font-size: 0.75em; color: #888; text-transform: uppercase; letter-spacing: 0.05em; margin-top: 10px; }
pre { margin: 4px 0; padding: 10px 12px; overflow-x: auto; font-family: "DejaVu Sans Mono", monospace;
      font-size: 12.5px; line-height: 1.3; border-radius: 4px; }
pre.code { background: #f3f6fa; border-left: 3px solid #3b6ea8; }
pre.out { background: #fff; border-left: 3px solid #bbb; }
figure { margin: 10px 0; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.85em; color: #555; }
code { background: #f0f0f0; padding: 0 3px; border-radius: 3px; }
)css";

}  // namespace

std::string base64(const std::vector<uint8_t>& bytes) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t v = bytes[i] << 16;
    if (i + 1 < bytes.size()) v |= bytes[i + 1] << 8;
    if (i + 2 < bytes.size()) v |= bytes[i + 2];
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? table[(v >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? table[v & 63] : '=';
  }
  return out;
}

std::string ansi_to_html(const std::string& text) {
  std::string out;
  bool open = false;
  for (size_t i = 0; i < text.size(); i++) {
    if (text[i] == '\x1b' && i + 1 < text.size() && text[i + 1] == '[') {
      size_t end = text.find('m', i);
      if (end == std::string::npos) break;
      std::string params = text.substr(i + 2, end - i - 2);
      i = end;
      if (open) out += "</span>";
      open = false;
      int kind = 0, r = 0, g = 0, b = 0;
      if (std::sscanf(params.c_str(), "%d;2;%d;%d;%d", &kind, &r, &g, &b) == 4 && (kind == 38 || kind == 48)) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "<span style=\"%s:rgb(%d,%d,%d)\">", kind == 48 ? "background" : "color", r, g, b);
        out += buf;
        open = true;
      }
      continue;
    }
    out += escape(std::string(1, text[i]));
  }
  if (open) out += "</span>";
  return out;
}

std::string notebook_html(const NotebookOptions& options, const std::vector<NotebookCell>& cells) {
  std::string title = "Lesson " + options.number + ": " + options.title;
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" << escape(title)
    << "</title>\n<style>" << style << "</style>\n</head>\n<body>\n<h1>" << escape(title) << "</h1>\n";
  int n = 0;
  for (const auto& c : cells) {
    h << "<section class=\"cell\" id=\"cell-" << n++ << "\">\n";
    if (!c.title.empty()) h << "<h2>" << escape(c.title) << "</h2>\n";
    if (!c.text.empty()) h << markdown(c.text);
    if (!c.code.empty()) h << "<div class=\"label\">code</div>\n<pre class=\"code\">" << escape(c.code) << "</pre>\n";
    if (!c.output.empty()) h << "<div class=\"label\">output</div>\n<pre class=\"out\">" << ansi_to_html(c.output) << "</pre>\n";
    for (const auto& f : c.figures) {
      h << "<figure><img alt=\"" << escape(f.name) << "\" src=\"data:image/png;base64," << base64(f.png) << "\">";
      if (!f.caption.empty()) h << "<figcaption>" << escape(f.caption) << "</figcaption>";
      h << "</figure>\n";
    }
    h << "</section>\n";
  }
  h << "</body>\n</html>\n";
  return h.str();
}

}  // namespace lj
