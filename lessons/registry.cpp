#include "lessons.hpp"

namespace lj::lessons {

const std::vector<Lesson>& all() {
  static const std::vector<Lesson> lessons = {
      {"02", "Multi-Head Attention and Transformer Blocks", lesson_02},
      {"03", "A complete language model", lesson_03},
  };
  return lessons;
}

}  // namespace lj::lessons
