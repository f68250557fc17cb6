// llm-journey lesson NN: runs a lesson of the course. llm-journey lessons: lists them.
#include <cstdio>

#include "commands.hpp"
#include "lessons.hpp"
#include "llm_journey/error.hpp"

namespace lj::cli {

static int run_lesson(const std::string& number_in) {
  std::string number = number_in.size() == 1 ? "0" + number_in : number_in;
  for (const auto& l : lessons::all())
    if (l.number == number) return l.run();
  std::string known;
  for (const auto& l : lessons::all()) known += (known.empty() ? "" : ", ") + l.number;
  throw Error("lesson '" + number_in + "' does not exist; the lessons are: " + known);
}

Command add_lesson_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("lesson", "Run a lesson of the course (e.g. 02)");
  auto number = std::make_shared<std::string>();
  cmd->add_option("number", *number, "The lesson's number")->required();
  return {cmd, [number] { return run_lesson(*number); }};
}

Command add_lessons_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("lessons", "List the lessons");
  return {cmd, [] {
            for (const auto& l : lessons::all()) std::printf("%s  %s\n", l.number.c_str(), l.title.c_str());
            return 0;
          }};
}

}  // namespace lj::cli
