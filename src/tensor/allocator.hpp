// Tensor storage comes from a small caching allocator: a training step frees its activations and
// gradients and the next step asks for the same sizes again, so freed buffers are kept in free
// lists by size class and handed out again instead of going back to malloc (which, for buffers
// over its mmap threshold, returns them to the kernel and takes page faults to get them back).
#pragma once
#include <cstddef>

#include "runtime/state.hpp"

namespace lj::detail {

// 64-byte aligned, uninitialised. Never returns null: a failed allocation throws an lj::Error naming its size.
void* storage_alloc(size_t bytes);
void storage_free(void* p, size_t bytes);

// The size a request of `bytes` is rounded up to, and the free list that size class has.
size_t size_class(size_t bytes);
size_t class_index(size_t cls);
constexpr size_t kFreeLists = 16 + 8 * 64;  // 16 lists of 64-byte steps up to 1 KiB, then 8 per power of two

// Frees every cached buffer (Runtime::release_cached_memory).
void release_cached(Runtime::State::Memory& memory);

}  // namespace lj::detail
