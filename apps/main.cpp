// llm-journey: the command-line tool. Each subcommand lives in its own apps/cmd_*.cpp.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "commands.hpp"

namespace {

// Levenshtein distance: how many one-character edits turn a into b.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); j++) row[j] = j;
  for (size_t i = 1; i <= a.size(); i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); j++) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// The first argument, when it is not an option, must name a command: name the word and the closest.
bool known_command(CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return true;
  const std::string word = argv[1];
  std::string closest, all;
  size_t best = SIZE_MAX;
  for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    if (sub->get_name() == word) return true;
    all += (all.empty() ? "" : ", ") + sub->get_name();
    const size_t d = edit_distance(word, sub->get_name());
    if (d < best) best = d, closest = sub->get_name();
  }
  std::cerr << "llm-journey: error: unknown command '" << word << "'";
  if (best <= 2) std::cerr << "; did you mean '" << closest << "'?";
  std::cerr << " (commands: " << all << ")\n";
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"llm-journey: build, understand and train transformer language models"};
  app.require_subcommand(1);

  std::vector<lj::cli::Command> commands = {
      lj::cli::add_lesson_command(app),
      lj::cli::add_lessons_command(app),
      lj::cli::add_forward_command(app),
      lj::cli::add_train_command(app),
      lj::cli::add_generate_command(app),
      lj::cli::add_eval_command(app),
      lj::cli::add_attention_command(app),
      // further commands: one line each
  };

  if (!known_command(app, argc, argv)) return 1;
  CLI11_PARSE(app, argc, argv);
  try {
    for (auto& c : commands)
      if (c.app->parsed()) return c.run();
    return 1;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::cerr << "llm-journey: error: " << e.what() << "\n";
    return 1;
  }
}
