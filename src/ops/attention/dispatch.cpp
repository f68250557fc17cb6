// The one dispatcher for attention: a table of the variants, fastest-first for its range, and the
// first whose predicate accepts the call runs. test_attention_variants runs each against the
// reference inside its range and checks that this table picks it there.
#include <cstring>
#include <iterator>
#include <string>

#include "llm_journey/error.hpp"
#include "ops/attention/attention.hpp"

namespace lj::kernels {

namespace {
template <typename T>
bool always(const AttentionArgs<T>&) { return true; }
template <typename T>
bool never(const AttentionArgs<T>&) { return false; }

//  name              keeps weights  runs when                                   forward / backward
const AttentionVariant<float> kFloatVariants[] = {
    {"heads_in_lanes", true, heads_in_lanes_selects, attention_forward_heads_in_lanes,
     attention_backward_short_rows<float>},  // within short_rows' range, whose backward serves it
    {"short_rows", true, short_rows_selects<float>, attention_forward_short_rows<float>,
     attention_backward_short_rows<float>},
    {"flash", false, flash_selects<float>, attention_forward_flash<float>, attention_backward_flash<float>},
    {"gemm_rows", true, always<float>, attention_forward_gemm_rows<float>, attention_backward_gemm_rows<float>},
    {"reference", true, never<float>, attention_forward_reference<float>, attention_backward_reference<float>},
};
const AttentionVariant<double> kDoubleVariants[] = {
    {"short_rows", true, short_rows_selects<double>, attention_forward_short_rows<double>,
     attention_backward_short_rows<double>},
    {"flash", false, flash_selects<double>, attention_forward_flash<double>, attention_backward_flash<double>},
    {"gemm_rows", true, always<double>, attention_forward_gemm_rows<double>, attention_backward_gemm_rows<double>},
    {"reference", true, never<double>, attention_forward_reference<double>, attention_backward_reference<double>},
};
}  // namespace

template <>
const AttentionVariant<float>* attention_variants<float>(int* count) {
  *count = static_cast<int>(std::size(kFloatVariants));
  return kFloatVariants;
}
template <>
const AttentionVariant<double>* attention_variants<double>(int* count) {
  *count = static_cast<int>(std::size(kDoubleVariants));
  return kDoubleVariants;
}

template <typename T>
const AttentionVariant<T>& select_attention_variant(const AttentionArgs<T>& a, bool materialized_only) {
  int n = 0;
  const AttentionVariant<T>* v = attention_variants<T>(&n);
  for (int i = 0; i < n; i++)
    if ((v[i].materializes || !materialized_only) && v[i].selects(a)) return v[i];
  throw Error("attention: no kernel accepts this call");  // unreachable: gemm_rows takes every call
}

template <typename T>
const AttentionVariant<T>& attention_variant_named(const char* name) {
  int n = 0;
  const AttentionVariant<T>* v = attention_variants<T>(&n);
  for (int i = 0; i < n; i++)
    if (std::strcmp(v[i].name, name) == 0) return v[i];
  throw Error(std::string("attention: no variant named '") + name + "'");
}

template const AttentionVariant<float>& select_attention_variant<float>(const AttentionArgs<float>&, bool);
template const AttentionVariant<double>& select_attention_variant<double>(const AttentionArgs<double>&, bool);
template const AttentionVariant<float>& attention_variant_named<float>(const char*);
template const AttentionVariant<double>& attention_variant_named<double>(const char*);

// The kernels.hpp entry points: the materializing variants, weights given.
template <typename T>
void attention_forward(T* out, Layout lo, T* weights, const T* drop, const T* q, Layout lq, const T* k, Layout lk,
                       const T* v, Layout lv, MaskView mask, bool causal, int64_t causal_offset, AttentionDims d) {
  AttentionArgs<T> a{d, q, lq, k, lk, v, lv, out, lo};
  a.weights = weights;
  a.drop = drop;
  a.mask = mask;
  a.causal = causal;
  a.causal_offset = causal_offset;
  select_attention_variant(a, true).forward(a);
}

template <typename T>
void attention_backward(T* dq, Layout ldq, T* dk, Layout ldk, T* dv, Layout ldv, const T* dout, Layout ldo,
                        const T* weights, const T* drop, const T* q, Layout lq, const T* k, Layout lk, const T* v,
                        Layout lv, bool causal, int64_t causal_offset, AttentionDims d) {
  AttentionArgs<T> a{d, q, lq, k, lk, v, lv, nullptr, {}};
  a.weights = const_cast<T*>(weights);  // read only by a backward pass
  a.drop = drop;
  a.causal = causal;
  a.causal_offset = causal_offset;
  select_attention_variant(a, true).backward(a, {dq, ldq, dk, ldk, dv, ldv, dout, ldo});
}

template void attention_forward<float>(float*, Layout, float*, const float*, const float*, Layout, const float*, Layout,
                                       const float*, Layout, MaskView, bool, int64_t, AttentionDims);
template void attention_forward<double>(double*, Layout, double*, const double*, const double*, Layout, const double*,
                                        Layout, const double*, Layout, MaskView, bool, int64_t, AttentionDims);
template void attention_backward<float>(float*, Layout, float*, Layout, float*, Layout, const float*, Layout,
                                        const float*, const float*, const float*, Layout, const float*, Layout,
                                        const float*, Layout, bool, int64_t, AttentionDims);
template void attention_backward<double>(double*, Layout, double*, Layout, double*, Layout, const double*, Layout,
                                         const double*, const double*, const double*, Layout, const double*, Layout,
                                         const double*, Layout, bool, int64_t, AttentionDims);

}  // namespace lj::kernels
