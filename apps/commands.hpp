// Each subcommand of llm-journey lives in its own apps/cmd_*.cpp and registers itself here:
// it adds its options to the app and returns the function to run when it is chosen.
#pragma once
#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdlib>
#include <functional>
#include <string>

namespace lj::cli {

using Run = std::function<int()>;
struct Command {
  CLI::App* app;
  Run run;
};

Command add_lesson_command(CLI::App& app);   // lesson NN
Command add_lessons_command(CLI::App& app);  // lessons
Command add_forward_command(CLI::App& app);  // forward --module mha|block ...
Command add_train_command(CLI::App& app);     // train --data FILE ...
Command add_generate_command(CLI::App& app);  // generate --checkpoint C ...
Command add_eval_command(CLI::App& app);      // eval --checkpoint C --data FILE
Command add_attention_command(CLI::App& app);  // attention --checkpoint C --text T --out heads.png
// (further commands: one line each)

// Checks on an integer option's text, before CLI11 converts it (which clamps 99999999999999999999 to
// INT64_MAX without a word, and whose PositiveNumber says "Value 0 not in range 0.000000 to 1.79e308").
// A text that is not an integer at all is left to CLI11's own conversion error.
inline std::string integer_range_error(const std::string& s, long long min) {
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (end == s.c_str() || *end != '\0') return "";
  if (errno == ERANGE) return s + " is too large for a 64-bit integer";
  if (v < min) return s + (min == 1 ? " must be positive" : " must be non-negative");
  return "";
}
inline const CLI::Validator kPositiveInt([](std::string& s) { return integer_range_error(s, 1); }, "POSITIVE");
inline const CLI::Validator kNonNegativeInt([](std::string& s) { return integer_range_error(s, 0); }, "NON-NEGATIVE");

}  // namespace lj::cli
