// Data-movement entries (transpose, slice, pad, concat, gather, oneHot on device buffers; ngcuda/movement.h).
// The shape arithmetic is src/backends/cuda/kernels.ts's; these check that every read stays inside x:
//   stridedCopy(x, out, outShape, inDims, inStrides, offsets, steps, mode, fill)
//       out[c] = x[sum map(offsets[a] + c[a] steps[a]) inStrides[a]]; mode (copyModeCodes) maps coordinates
//       outside [0, inDims[a]): 0 never happens, 1 read `fill` (the uint32 bits of the pad value), 2 reflect,
//       3 symmetric. x and out share a dtype (float32 or int32); out has prod(outShape) elements.
//   concatCopy(x, out, outer, chunk, outRow, offset)   out[o * outRow + offset + k] = x[o * chunk + k]
//   gather(x, indices, out, outer, dim, inner)         x [outer, dim, inner], int32 indices [nidx] -> out [outer, nidx, inner]
//       an index outside [0, dim): its rows hold NaN (int32: INT32_MIN), reported to the index-error record
//   scatterAddF32(g, indices, out, outer, dim, inner)  g [outer, nidx, inner] float32 -> out [outer, dim, inner]:
//       gather's adjoint; -1 is skipped, another index outside [0, dim) makes out all NaN and is reported
//   oneHotF32(indices, out, depth, onValue, offValue)  out [nidx, depth] float32
#include <cstdint>
#include <string>

#include "args.h"
#include "buffer.h"
#include "entry.h"
#include "ngcuda/movement.h"
#include "shape_args.h"

namespace ngcuda_addon {

namespace {

using nodegrad::ArgPrefix;
constexpr std::int64_t kSafe = 9007199254740991;  // 2^53 - 1
const char* const kModes = "0 in range, 1 constant, 2 reflect, 3 symmetric";

// Where p lands on an axis of length dim under the mode, or -1 for the fill value (movement.cu MapCoord).
std::int64_t MapCoord(std::int64_t p, std::int64_t dim, int mode) {
  if (p >= 0 && p < dim) return p;
  if (mode == ngcuda::kCopyReflect) p = p < 0 ? -p : 2 * (dim - 1) - p;
  else if (mode == ngcuda::kCopySymmetric) p = p < 0 ? -p - 1 : 2 * dim - 1 - p;
  else return -1;
  return p >= 0 && p < dim ? p : -2;
}

Napi::Value StridedCopy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "stridedCopy";
  nodegrad::ExpectArgCount(info, fn, 9, "x, out, outShape, inDims, inStrides, offsets, steps, mode, fill");
  DeviceBuffer* x = BufferArg(info, 0, fn, "x", kAnyDType);
  DeviceBuffer* out = BufferArg(info, 1, fn, "out", kAnyDType);
  ExpectSameDType(env, fn, "x", x, "out", out);
  ExpectDistinct(env, fn, "out", out, "x", x);
  const auto shape = IntListArg(info, 2, fn, "outShape", ngcuda::kMaxCopyRank, -1, 0, kSafe);
  const std::int64_t rank = static_cast<std::int64_t>(shape.size());
  const auto dims = IntListArg(info, 3, fn, "inDims", ngcuda::kMaxCopyRank, rank, 0, kSafe);
  const auto strides = IntListArg(info, 4, fn, "inStrides", ngcuda::kMaxCopyRank, rank, 0, kSafe);
  const auto offsets = IntListArg(info, 5, fn, "offsets", ngcuda::kMaxCopyRank, rank, -kSafe, kSafe);
  const auto steps = IntListArg(info, 6, fn, "steps", ngcuda::kMaxCopyRank, rank, 1, kSafe);
  const int mode = nodegrad::EnumArg(info, 7, fn, "mode", ngcuda::kCopyModeCount, kModes);
  const std::uint32_t fill = static_cast<std::uint32_t>(nodegrad::IntArg(info, 8, fn, "fill", 0, 4294967295LL));
  const std::int64_t n = ProductOf(shape);
  nodegrad::ExpectLength(env, fn, "out", out->length, n < 0 ? SIZE_MAX : static_cast<std::size_t>(n), "prod(outShape)");
  ngcuda::StridedCopyPlan plan;
  plan.rank = static_cast<int>(rank);
  std::int64_t last = 0;  // the largest offset read
  bool reads = n > 0;
  for (std::int64_t a = 0; a < rank && n > 0; ++a) {
    // Both ends of the axis' positions must map into the input (the maps are monotone between them).
    const double hi_d = static_cast<double>(offsets[a]) + static_cast<double>(shape[a] - 1) * static_cast<double>(steps[a]);
    if (hi_d > static_cast<double>(kSafe)) {
      throw Napi::RangeError::New(env, ArgPrefix(fn, "steps") + "reaches past 2^53 on axis " + std::to_string(a));
    }
    const std::int64_t lo = offsets[a], hi = static_cast<std::int64_t>(hi_d);
    const std::int64_t mlo = MapCoord(lo, dims[a], mode), mhi = MapCoord(hi, dims[a], mode);
    if ((mode != ngcuda::kCopyConstant && (mlo < 0 || mhi < 0)) || mlo < -1 || mhi < -1) {
      throw Napi::RangeError::New(env, std::string(fn) + ": axis " + std::to_string(a) + " reads positions [" + std::to_string(lo) +
                                           ", " + std::to_string(hi) + "] of an input axis of length " + std::to_string(dims[a]) +
                                           ", which mode " + std::to_string(mode) + " (" + kModes + ") cannot map into it");
    }
    if (dims[a] == 0) reads = false;
    else last += (dims[a] - 1) * strides[a];
  }
  if (reads && static_cast<std::size_t>(last) >= x->length) {
    throw Napi::RangeError::New(env, ArgPrefix(fn, "inStrides") + "reach element " + std::to_string(last) + " of x, which has " +
                                         std::to_string(x->length));
  }
  for (std::int64_t a = 0; a < rank; ++a) {
    plan.out_shape[a] = shape[a];
    plan.in_dim[a] = dims[a];
    plan.in_stride[a] = strides[a];
    plan.offset[a] = offsets[a];
    plan.step[a] = steps[a];
  }
  ngcuda::StridedCopy32(static_cast<const std::uint32_t*>(x->ptr), static_cast<std::uint32_t*>(out->ptr), plan, mode, fill);
  return env.Undefined();
}

Napi::Value ConcatCopy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "concatCopy";
  nodegrad::ExpectArgCount(info, fn, 6, "x, out, outer, chunk, outRow, offset");
  DeviceBuffer* x = BufferArg(info, 0, fn, "x", kAnyDType);
  DeviceBuffer* out = BufferArg(info, 1, fn, "out", kAnyDType);
  ExpectSameDType(env, fn, "x", x, "out", out);
  ExpectDistinct(env, fn, "out", out, "x", x);
  const std::int64_t outer = nodegrad::IntArg(info, 2, fn, "outer", 0, kSafe);
  const std::int64_t chunk = nodegrad::IntArg(info, 3, fn, "chunk", 0, kSafe);
  const std::int64_t row = nodegrad::IntArg(info, 4, fn, "outRow", 0, kSafe);
  const std::int64_t offset = nodegrad::IntArg(info, 5, fn, "offset", 0, kSafe);
  nodegrad::ExpectLength(env, fn, "x", x->length, nodegrad::SaturatingMul(outer, chunk), "outer * chunk");
  nodegrad::ExpectLength(env, fn, "out", out->length, nodegrad::SaturatingMul(outer, row), "outer * outRow");
  if (offset + chunk > row) {
    throw Napi::RangeError::New(env, std::string(fn) + ": offset + chunk (" + std::to_string(offset + chunk) +
                                         ") must not exceed outRow (" + std::to_string(row) + ")");
  }
  ngcuda::ConcatCopy32(static_cast<const std::uint32_t*>(x->ptr), static_cast<std::uint32_t*>(out->ptr), outer, chunk, row, offset);
  return env.Undefined();
}

Napi::Value Gather(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "gather";
  nodegrad::ExpectArgCount(info, fn, 6, "x, indices, out, outer, dim, inner");
  DeviceBuffer* x = BufferArg(info, 0, fn, "x", kAnyDType);
  DeviceBuffer* idx = BufferArg(info, 1, fn, "indices", kInt32);
  DeviceBuffer* out = BufferArg(info, 2, fn, "out", kAnyDType);
  ExpectSameDType(env, fn, "x", x, "out", out);
  ExpectDistinct(env, fn, "out", out, "x", x);
  ExpectDistinct(env, fn, "out", out, "indices", idx);
  const std::int64_t outer = nodegrad::IntArg(info, 3, fn, "outer", 0, kSafe);
  const std::int64_t dim = nodegrad::IntArg(info, 4, fn, "dim", 0, kSafe);
  const std::int64_t inner = nodegrad::IntArg(info, 5, fn, "inner", 0, kSafe);
  const std::size_t nidx = idx->length;
  nodegrad::ExpectLength(env, fn, "x", x->length, nodegrad::SaturatingMul(nodegrad::SaturatingMul(outer, dim), inner),
                         "outer * dim * inner");
  nodegrad::ExpectLength(env, fn, "out", out->length, nodegrad::SaturatingMul(nodegrad::SaturatingMul(outer, nidx), inner),
                         "outer * indices.length * inner");
  ExpectCheckedPositions(env, fn, "indices", idx);
  const std::uint32_t poison = x->dtype == kInt32 ? 0x80000000u : 0x7fc00000u;  // INT32_MIN, a quiet NaN
  ngcuda::Gather32(static_cast<const std::uint32_t*>(x->ptr), idx->i32(), static_cast<std::uint32_t*>(out->ptr), outer, dim,
                   static_cast<std::int64_t>(nidx), inner, poison);
  return env.Undefined();
}

Napi::Value ScatterAdd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "scatterAddF32";
  nodegrad::ExpectArgCount(info, fn, 6, "g, indices, out, outer, dim, inner");
  DeviceBuffer* g = BufferArg(info, 0, fn, "g", kFloat32);
  DeviceBuffer* idx = BufferArg(info, 1, fn, "indices", kInt32);
  DeviceBuffer* out = BufferArg(info, 2, fn, "out", kFloat32);
  ExpectDistinct(env, fn, "out", out, "g", g);
  const std::int64_t outer = nodegrad::IntArg(info, 3, fn, "outer", 0, kSafe);
  const std::int64_t dim = nodegrad::IntArg(info, 4, fn, "dim", 0, 2147483646);  // dim + 1 is a sort key
  const std::int64_t inner = nodegrad::IntArg(info, 5, fn, "inner", 0, kSafe);
  const std::size_t nidx = idx->length;
  ExpectCheckedPositions(env, fn, "indices", idx);
  nodegrad::ExpectLength(env, fn, "g", g->length, nodegrad::SaturatingMul(nodegrad::SaturatingMul(outer, nidx), inner),
                         "outer * indices.length * inner");
  nodegrad::ExpectLength(env, fn, "out", out->length, nodegrad::SaturatingMul(nodegrad::SaturatingMul(outer, dim), inner),
                         "outer * dim * inner");
  ngcuda::ScatterAddF32(g->f32(), idx->i32(), out->f32(), outer, static_cast<std::int64_t>(nidx), inner, dim);
  return env.Undefined();
}

Napi::Value OneHot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "oneHotF32";
  nodegrad::ExpectArgCount(info, fn, 5, "indices, out, depth, onValue, offValue");
  DeviceBuffer* idx = BufferArg(info, 0, fn, "indices", kInt32);
  DeviceBuffer* out = BufferArg(info, 1, fn, "out", kFloat32);
  const std::int64_t depth = nodegrad::IntArg(info, 2, fn, "depth", 0, kSafe);
  const double on = nodegrad::NumberArg(info, 3, fn, "onValue");
  const double off = nodegrad::NumberArg(info, 4, fn, "offValue");
  nodegrad::ExpectLength(env, fn, "out", out->length, nodegrad::SaturatingMul(idx->length, depth), "indices.length * depth");
  // Float32Array stores round to nearest, as this cast does.
  ngcuda::OneHotF32(idx->i32(), out->f32(), static_cast<std::int64_t>(idx->length), depth, static_cast<float>(on),
                    static_cast<float>(off));
  return env.Undefined();
}

void InitMovement(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "stridedCopy", StridedCopy);
  Export(env, exports, "concatCopy", ConcatCopy);
  Export(env, exports, "gather", Gather);
  Export(env, exports, "scatterAddF32", ScatterAdd);
  Export(env, exports, "oneHotF32", OneHot);
  Napi::Object modes = Napi::Object::New(env);
  modes.Set("inRange", static_cast<int>(ngcuda::kCopyInRange));
  modes.Set("constant", static_cast<int>(ngcuda::kCopyConstant));
  modes.Set("reflect", static_cast<int>(ngcuda::kCopyReflect));
  modes.Set("symmetric", static_cast<int>(ngcuda::kCopySymmetric));
  modes.Freeze();
  exports.Set("copyModeCodes", modes);
}

}  // namespace

NGC_REGISTER_EXPORTS(movement, InitMovement);

}  // namespace ngcuda_addon
