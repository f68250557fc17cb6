// Views: reshape, transpose, permute, slice, select, unsqueeze, squeeze.
//
// A view shares its base's storage. For the backward pass each view also remembers where its
// elements sit inside a dense tensor of the base's shape (`logical` strides and offset), so the
// view's gradient is scattered back into the base's dense gradient.
#include <numeric>

#include "llm_journey/autograd.hpp"
#include "llm_journey/tensor.hpp"
#include "tensor/strided.hpp"

namespace lj {

static int64_t wrap_dim(int64_t d, int64_t ndim, const char* op, const Shape& shape) {
  LJ_CHECK(d >= -ndim && d < ndim, op, ": dim ", d, " is out of range for a tensor of shape ", shape);
  return d < 0 ? d + ndim : d;
}

// Makes a view of `base` and records how to send its gradient back.
static Tensor make_view(const Tensor& base, Shape shape, DimVector strides, int64_t offset,
                        DimVector logical_strides, int64_t logical_offset, const char* name) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl()->storage;
  impl->offset = offset;
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->dtype = base.dtype();
  Tensor out(std::move(impl));
  if (!autograd::needs_grad({&base})) return out;
  // A view reaches each element of its base at most once; one with as many elements as the base
  // (reshape, transpose, permute) reaches all of them, so on first use it writes the base's
  // gradient without zero-filling it first. If it also keeps the base's order, its gradient is the
  // base's, and the engine hands the buffer over (Node::gradient_passes_through).
  const bool covers_base = out.numel() == base.numel();
  const bool same_order = covers_base && logical_offset == 0 && detail::is_contiguous(out.shape(), logical_strides);
  autograd::attach(out, name, {base},
                   [shape = out.shape(), ls = std::move(logical_strides), lo = logical_offset, covers_base](
                       Node& n, const float* g) {
                     bool accumulate = true;
                     float* gx = covers_base ? n.grad(0, accumulate) : n.grad(0);
                     if (!gx) return;
                     if (accumulate) detail::add_strided(gx + lo, g, shape, ls);
                     else detail::set_strided(gx + lo, g, shape, ls);
                   });
  out.impl()->grad_fn->gradient_passes_through = same_order;
  return out;
}

Tensor Tensor::reshape(const Shape& new_shape_in) const {
  DimVector dims = new_shape_in.dims();
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < dims.size(); i++) {
    if (dims[i] == -1) {
      LJ_CHECK(infer < 0, "reshape: more than one -1 in shape ", new_shape_in);
      infer = static_cast<int64_t>(i);
    } else {
      LJ_CHECK(dims[i] >= 0, "reshape: invalid dimension ", dims[i], " in shape ", new_shape_in);
      known *= dims[i];
    }
  }
  if (infer >= 0) {
    LJ_CHECK(known > 0 && numel() % known == 0, "reshape: shape ", new_shape_in, " is invalid for input of shape ",
             shape(), " (", numel(), " elements)");
    dims[static_cast<size_t>(infer)] = numel() / known;
  }
  Shape ns(dims);
  LJ_CHECK(ns.numel() == numel(), "reshape: shape ", new_shape_in, " is invalid for input of shape ", shape(), " (",
           numel(), " elements)");
  Tensor src = contiguous();
  auto st = contiguous_strides(ns);
  return make_view(src, std::move(ns), st, src.impl()->offset, st, 0, "reshape");
}

Tensor Tensor::permute(const std::vector<int64_t>& dims) const {
  const int64_t nd = dim();
  LJ_CHECK(static_cast<int64_t>(dims.size()) == nd, "permute: ", dims.size(), " dims given for a tensor of shape ",
           shape());
  DimVector seen(static_cast<size_t>(nd), 0);
  DimVector ns, st, ls;
  ns.reserve(dims.size());
  st.reserve(dims.size());
  ls.reserve(dims.size());
  auto base_logical = contiguous_strides(shape());
  for (int64_t d : dims) {
    int64_t w = wrap_dim(d, nd, "permute", shape());
    LJ_CHECK(!seen[static_cast<size_t>(w)], "permute: dim ", d, " repeated for a tensor of shape ", shape());
    seen[static_cast<size_t>(w)] = true;
    ns.push_back(shape()[static_cast<size_t>(w)]);
    st.push_back(strides()[static_cast<size_t>(w)]);
    ls.push_back(base_logical[static_cast<size_t>(w)]);
  }
  return make_view(*this, Shape(std::move(ns)), std::move(st), impl()->offset, std::move(ls), 0, "permute");
}

Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
  const int64_t nd = dim();
  d0 = wrap_dim(d0, nd, "transpose", shape());
  d1 = wrap_dim(d1, nd, "transpose", shape());
  DimVector p(static_cast<size_t>(nd));
  std::iota(p.begin(), p.end(), 0);
  std::swap(p[static_cast<size_t>(d0)], p[static_cast<size_t>(d1)]);
  return permute(p);
}

Tensor Tensor::slice(int64_t d, int64_t start, int64_t end) const {
  d = wrap_dim(d, dim(), "slice", shape());
  const int64_t len = shape()[static_cast<size_t>(d)];
  if (start < 0) start += len;
  if (end < 0) end += len;
  LJ_CHECK(start >= 0 && start <= end && end <= len, "slice: range [", start, ", ", end, ") is out of bounds for dim ",
           d, " of size ", len, " (shape ", shape(), ")");
  Shape ns = shape();
  ns[static_cast<size_t>(d)] = end - start;
  auto ls = contiguous_strides(shape());
  return make_view(*this, ns, strides(), impl()->offset + start * strides()[static_cast<size_t>(d)], ls,
                   start * ls[static_cast<size_t>(d)], "slice");
}

Tensor Tensor::select(int64_t d, int64_t index) const {
  d = wrap_dim(d, dim(), "select", shape());
  const int64_t len = shape()[static_cast<size_t>(d)];
  if (index < 0) index += len;
  LJ_CHECK(index >= 0 && index < len, "select: index ", index, " is out of bounds for dim ", d, " of size ", len);
  Shape ns;
  DimVector st, ls;
  auto base_logical = contiguous_strides(shape());
  for (int64_t i = 0; i < dim(); i++) {
    if (i == d) continue;
    ns.push_back(shape()[static_cast<size_t>(i)]);
    st.push_back(strides()[static_cast<size_t>(i)]);
    ls.push_back(base_logical[static_cast<size_t>(i)]);
  }
  return make_view(*this, ns, st, impl()->offset + index * strides()[static_cast<size_t>(d)], ls,
                   index * base_logical[static_cast<size_t>(d)], "select");
}

Tensor Tensor::unsqueeze(int64_t d) const {
  d = wrap_dim(d, dim() + 1, "unsqueeze", shape());
  DimVector dims = shape().dims();
  dims.insert(dims.begin() + d, 1);
  return reshape(Shape(dims));
}

Tensor Tensor::squeeze(int64_t d) const {
  d = wrap_dim(d, dim(), "squeeze", shape());
  if (shape()[static_cast<size_t>(d)] != 1) return *this;
  DimVector dims = shape().dims();
  dims.erase(dims.begin() + d);
  return reshape(Shape(dims));
}

}  // namespace lj
