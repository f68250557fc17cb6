// The autocast scope (llm_journey/autocast.hpp): one thread-local value, saved and restored.
#include "llm_journey/autocast.hpp"

namespace lj {

static thread_local Dtype t_autocast = Dtype::f32;

Dtype autocast_dtype() { return t_autocast; }

Autocast::Autocast(Dtype dtype, bool enabled) : prev_(t_autocast) {
  if (enabled) t_autocast = dtype;
}

Autocast::~Autocast() { t_autocast = prev_; }

}  // namespace lj
