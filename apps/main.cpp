// llm-journey: the command-line tool. Runs the lessons; more commands join as they are built.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <llm_journey/llm_journey.hpp>

#include "lessons.hpp"

namespace {

int run_lesson(const std::string& number_in) {
  std::string number = number_in.size() == 1 ? "0" + number_in : number_in;
  for (const auto& l : lj::lessons::all())
    if (l.number == number) return l.run();
  std::string known;
  for (const auto& l : lj::lessons::all()) known += (known.empty() ? "" : ", ") + l.number;
  throw lj::Error("lesson '" + number_in + "' does not exist; the lessons are: " + known);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"llm-journey: build, understand and train transformer language models"};
  app.require_subcommand(1);

  auto* lesson = app.add_subcommand("lesson", "Run a lesson of the course (e.g. 02)");
  std::string lesson_number;
  lesson->add_option("number", lesson_number, "The lesson's number")->required();

  auto* list = app.add_subcommand("lessons", "List the lessons");

  CLI11_PARSE(app, argc, argv);
  try {
    if (*lesson) return run_lesson(lesson_number);
    if (*list) {
      for (const auto& l : lj::lessons::all()) std::printf("%s  %s\n", l.number.c_str(), l.title.c_str());
      return 0;
    }
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::cerr << "llm-journey: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
