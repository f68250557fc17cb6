// The lessons: each notebook of the course as a C++ program, registered by number. A lesson
// writes its cells to a Notebook, which prints them and, when asked, makes an HTML report.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <llm_journey/notebook.hpp>

namespace lj::lessons {

// What `llm-journey lesson NN` passes on to a lesson besides its notebook.
struct LessonOptions {
  // A short run for the tests: a lesson that trains takes a few steps instead of a minute, and prints
  // the same sections. What a learner sees is the default.
  bool quick = false;
  // Lesson 03's corpus; "": it looks for tinyshakespeare.txt in ../shared/data and data/.
  std::string data;
};

struct Lesson {
  std::string number;  // "02"
  std::string title;
  std::function<int(Notebook&, const LessonOptions&)> run;
};

const std::vector<Lesson>& all();
// The text of a lesson's source file by its base name (embedded at build time), "" if unknown.
std::string lesson_source(const std::string& file);

// The short prose the lesson 02 exercises train on (about 1,800 characters, learned in seconds).
const std::string& lesson_text();

int lesson_01(Notebook& nb);
int lesson_02(Notebook& nb);
void lesson_02_exercises(Notebook& nb);
int lesson_03(Notebook& nb, const LessonOptions& options);

}  // namespace lj::lessons
