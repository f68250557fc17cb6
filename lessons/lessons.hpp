// The lessons: each notebook of the course as a C++ program, registered by number. A lesson
// writes its cells to a Notebook, which prints them and, when asked, makes an HTML report.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <llm_journey/notebook.hpp>

namespace lj::lessons {

struct Lesson {
  std::string number;  // "02"
  std::string title;
  std::function<int(Notebook&)> run;
};

const std::vector<Lesson>& all();
// The text of a lesson's source file by its base name (embedded at build time), "" if unknown.
std::string lesson_source(const std::string& file);

// The short prose the lesson 02 exercises train on (about 1,800 characters, learned in seconds).
const std::string& lesson_text();

int lesson_01(Notebook& nb);
int lesson_02(Notebook& nb);
void lesson_02_exercises(Notebook& nb);
int lesson_03(Notebook& nb);

}  // namespace lj::lessons
