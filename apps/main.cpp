// llm-journey: the command-line tool. Each subcommand lives in its own apps/cmd_*.cpp.
#include <cstdio>
#include <iostream>
#include <vector>

#include "commands.hpp"

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
