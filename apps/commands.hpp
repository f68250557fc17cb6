// Each subcommand of llm-journey lives in its own apps/cmd_*.cpp and registers itself here:
// it adds its options to the app and returns the function to run when it is chosen.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>

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

}  // namespace lj::cli
