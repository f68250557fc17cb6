// The lessons: each notebook of the course as a C++ program, registered by number.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace lj::lessons {

struct Lesson {
  std::string number;  // "02"
  std::string title;
  std::function<int()> run;
};

const std::vector<Lesson>& all();
int lesson_02();
int lesson_03();

}  // namespace lj::lessons
