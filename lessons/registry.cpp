#include "lessons.hpp"

namespace lj::lessons {

const std::vector<Lesson>& all() {
  static const std::vector<Lesson> lessons = {
      {"01", "Scaled Dot-Product Attention from First Principles",
       [](Notebook& nb, const LessonOptions&) { return lesson_01(nb); }},
      {"02", "Multi-Head Attention and Transformer Blocks",
       [](Notebook& nb, const LessonOptions&) { return lesson_02(nb); }},
      {"03", "A complete language model", lesson_03},
  };
  return lessons;
}

}  // namespace lj::lessons
