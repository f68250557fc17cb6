// Errors: every check names the values involved, so the message alone says what went wrong.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace lj {

// Thrown for bad input anywhere in the library (shapes, arguments, files).
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <typename... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

}  // namespace lj

// LJ_CHECK(cond, "MultiHeadAttention: d_model=", d, " is not divisible by num_heads=", h);
#define LJ_CHECK(cond, ...)                                     \
  do {                                                          \
    if (!(cond)) throw ::lj::Error(::lj::detail::str_cat(__VA_ARGS__)); \
  } while (0)
