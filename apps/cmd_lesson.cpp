// llm-journey lesson NN [--report DIR] [--figures DIR] [--quick] [--data FILE]: runs a lesson of the course, printing its
// cells, saving its figures as PNG, and with --report writing DIR/lesson_NN.html, a self-contained
// notebook-like page. llm-journey lessons: lists them.
#include <cstdio>

#include "commands.hpp"
#include "lessons.hpp"
#include "llm_journey/error.hpp"

namespace lj::cli {

struct LessonArgs {
  std::string number, report_dir, figures_dir;
  lessons::LessonOptions options;
};

static int run_lesson(const LessonArgs& args) {
  std::string number = args.number.size() == 1 ? "0" + args.number : args.number;
  for (const auto& l : lessons::all())
    if (l.number == number) {
      Notebook nb({l.number, l.title, args.report_dir, args.figures_dir, lessons::lesson_source});
      int rc = l.run(nb, args.options);
      nb.finish();
      return rc;
    }
  std::string known;
  for (const auto& l : lessons::all()) known += (known.empty() ? "" : ", ") + l.number;
  throw Error("lesson '" + args.number + "' does not exist; the lessons are: " + known);
}

Command add_lesson_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("lesson", "Run a lesson of the course (e.g. 02)");
  auto args = std::make_shared<LessonArgs>();
  cmd->add_option("number", args->number, "The lesson's number")->required();
  cmd->add_option("--report", args->report_dir,
                  "Also write DIR/lesson_NN.html: each cell's text, code, output and figures, self-contained");
  cmd->add_option("--figures", args->figures_dir,
                  "Where to save the figures as PNG (default: figures/lesson_NN, or DIR/figures with --report)");
  cmd->add_flag("--quick", args->options.quick,
               "A short run, for tests: a lesson that trains takes a few steps instead of a minute");
  cmd->add_option("--data", args->options.data,
                  "The text lesson 03 trains on (default: tinyshakespeare.txt from ../shared/data or data/)");
  return {cmd, [args] { return run_lesson(*args); }};
}

Command add_lessons_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("lessons", "List the lessons");
  return {cmd, [] {
            for (const auto& l : lessons::all()) std::printf("%s  %s\n", l.number.c_str(), l.title.c_str());
            return 0;
          }};
}

}  // namespace lj::cli
