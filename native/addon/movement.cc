// Data-movement entries (native/runtime/movement.h): the Backend's transpose, slice, pad, concat, gather and
// oneHot on Float32Array or Int32Array data, copied as 32-bit words. The shape arithmetic is
// src/backends/native/movement.ts's; these check types, lengths and that every read stays inside x:
//   stridedCopy32(x, out, outShape, inDims, inStrides, offsets, steps, mode, fill)
//       out[c] = x[sum map(offsets[a] + c[a] steps[a]) inStrides[a]]; mode (copyModeCodes) maps a position outside
//       [0, inDims[a]): 0 never happens, 1 reads `fill` (the uint32 bits of the pad value), 2 reflect, 3 symmetric.
//       The lists are Int32Arrays of one entry per axis (at most 8); out has prod(outShape) elements.
//   concatCopy32(x, out, outer, chunk, outRow, offset)   out[o * outRow + offset + k] = x[o * chunk + k]
//   gather32(x, indices, out, outer, dim, inner)         x [outer, dim, inner], Int32Array indices in [0, dim)
//                                                        -> out [outer, indices.length, inner]
//   oneHotF32(indices, out, depth, onValue, offValue)    out [indices.length, depth] Float32Array
#include <stdint.h>

#include <string>
#include <vector>

#include "args.h"
#include "entry.h"
#include "../runtime/movement.h"

namespace nodegrad {
namespace {

const char* const kModes = "0 in range, 1 constant, 2 reflect, 3 symmetric";

const char* const kCopyFn = "stridedCopy32";
Napi::Value StridedCopy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, kCopyFn, 9, "x, out, outShape, inDims, inStrides, offsets, steps, mode, fill");
  const W32Span x = Word32Arg(info, 0, kCopyFn, "x");
  const W32Span out = Word32Arg(info, 1, kCopyFn, "out");
  ExpectSameType(env, kCopyFn, "x", x, "out", out);
  const std::vector<int64_t> shape = Int32ListArg(info, 2, kCopyFn, "outShape", NG_MAX_STRIDED_RANK, -1, 0, kMaxInt32);
  const int64_t rank = static_cast<int64_t>(shape.size());
  const std::vector<int64_t> dims = Int32ListArg(info, 3, kCopyFn, "inDims", NG_MAX_STRIDED_RANK, rank, 0, kMaxInt32);
  const std::vector<int64_t> strides =
      Int32ListArg(info, 4, kCopyFn, "inStrides", NG_MAX_STRIDED_RANK, rank, 0, kMaxInt32);
  const std::vector<int64_t> offsets =
      Int32ListArg(info, 5, kCopyFn, "offsets", NG_MAX_STRIDED_RANK, rank, -kMaxInt32 - 1, kMaxInt32);
  const std::vector<int64_t> steps = Int32ListArg(info, 6, kCopyFn, "steps", NG_MAX_STRIDED_RANK, rank, 1, kMaxInt32);
  const int mode = EnumArg(info, 7, kCopyFn, "mode", NG_COPY_MODE_COUNT, kModes);
  const uint32_t fill = static_cast<uint32_t>(IntArg(info, 8, kCopyFn, "fill", 0, 4294967295LL));
  size_t n = 1;
  for (int64_t d : shape) n = SaturatingMul(n, static_cast<size_t>(d));
  ExpectLength(env, kCopyFn, "out", out.length, n, "prod(outShape)");
  ExpectDisjoint(env, kCopyFn, "out", out.bytes(), "x", x.bytes());
  bool reads = n > 0;
  for (int64_t a = 0; a < rank && n > 0; ++a) {
    // The positions a mode maps into the input form one interval, so checking both ends of the axis suffices.
    const int64_t lo = offsets[a], hi = offsets[a] + (shape[a] - 1) * steps[a];
    const int64_t mlo = MapCoord(lo, dims[a], mode), mhi = MapCoord(hi, dims[a], mode);
    if (mode != NG_COPY_CONSTANT && (mlo < 0 || mhi < 0)) {
      throw Napi::RangeError::New(env, std::string(kCopyFn) + ": axis " + std::to_string(a) + " reads positions [" +
                                           std::to_string(lo) + ", " + std::to_string(hi) +
                                           "] of an input axis of length " + std::to_string(dims[a]) + ", which mode " +
                                           std::to_string(mode) + " (" + kModes + ") cannot map into it");
    }
    if (dims[a] == 0) reads = false;
  }
  if (reads) ExpectReach(env, kCopyFn, "inStrides", dims.data(), strides.data(), dims.size(), "x", x.length);
  ng_copy_plan plan = {};
  plan.rank = static_cast<int>(rank);
  for (int64_t a = 0; a < rank; ++a) {
    plan.out_shape[a] = shape[a];
    plan.in_dim[a] = dims[a];
    plan.in_stride[a] = strides[a];
    plan.offset[a] = offsets[a];
    plan.step[a] = steps[a];
  }
  StridedCopy32(x.data, out.data, plan, mode, fill);
  return env.Undefined();
}

const char* const kConcatFn = "concatCopy32";
Napi::Value ConcatCopy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, kConcatFn, 6, "x, out, outer, chunk, outRow, offset");
  const W32Span x = Word32Arg(info, 0, kConcatFn, "x");
  const W32Span out = Word32Arg(info, 1, kConcatFn, "out");
  ExpectSameType(env, kConcatFn, "x", x, "out", out);
  const size_t outer = static_cast<size_t>(IntArg(info, 2, kConcatFn, "outer", 0, kMaxSafeInteger));
  const size_t chunk = static_cast<size_t>(IntArg(info, 3, kConcatFn, "chunk", 0, kMaxSafeInteger));
  const size_t row = static_cast<size_t>(IntArg(info, 4, kConcatFn, "outRow", 0, kMaxSafeInteger));
  const size_t offset = static_cast<size_t>(IntArg(info, 5, kConcatFn, "offset", 0, kMaxSafeInteger));
  ExpectLength(env, kConcatFn, "x", x.length, SaturatingMul(outer, chunk), "outer*chunk");
  ExpectLength(env, kConcatFn, "out", out.length, SaturatingMul(outer, row), "outer*outRow");
  if (offset + chunk > row) {
    throw Napi::RangeError::New(env, std::string(kConcatFn) + ": offset + chunk (" + std::to_string(offset + chunk) +
                                         ") must not exceed outRow (" + std::to_string(row) + ")");
  }
  ExpectDisjoint(env, kConcatFn, "out", out.bytes(), "x", x.bytes());
  ConcatCopy32(x.data, out.data, outer, chunk, row, offset);
  return env.Undefined();
}

const char* const kGatherFn = "gather32";
Napi::Value Gather(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, kGatherFn, 6, "x, indices, out, outer, dim, inner");
  const W32Span x = Word32Arg(info, 0, kGatherFn, "x");
  const I32Span idx = Int32Arg(info, 1, kGatherFn, "indices");
  const W32Span out = Word32Arg(info, 2, kGatherFn, "out");
  ExpectSameType(env, kGatherFn, "x", x, "out", out);
  const size_t outer = static_cast<size_t>(IntArg(info, 3, kGatherFn, "outer", 0, kMaxSafeInteger));
  const size_t dim = static_cast<size_t>(IntArg(info, 4, kGatherFn, "dim", 0, kMaxSafeInteger));
  const size_t inner = static_cast<size_t>(IntArg(info, 5, kGatherFn, "inner", 0, kMaxSafeInteger));
  ExpectLength(env, kGatherFn, "x", x.length, SaturatingMul(SaturatingMul(outer, dim), inner), "outer*dim*inner");
  ExpectLength(env, kGatherFn, "out", out.length, SaturatingMul(SaturatingMul(outer, idx.length), inner),
               "outer*indices.length*inner");
  ExpectDisjoint(env, kGatherFn, "out", out.bytes(), "x", x.bytes());
  ExpectDisjoint(env, kGatherFn, "out", out.bytes(), "indices", idx.bytes());
  for (size_t j = 0; j < idx.length && outer > 0 && inner > 0; ++j) {
    if (idx.data[j] < 0 || static_cast<size_t>(idx.data[j]) >= dim) {
      throw Napi::RangeError::New(env, ArgPrefix(kGatherFn, "indices") + "entry " + std::to_string(j) + " is " +
                                           std::to_string(idx.data[j]) + ", outside [0, " + std::to_string(dim) + ")");
    }
  }
  Gather32(x.data, idx.data, out.data, outer, dim, idx.length, inner);
  return env.Undefined();
}

const char* const kOneHotFn = "oneHotF32";
Napi::Value OneHot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, kOneHotFn, 5, "indices, out, depth, onValue, offValue");
  const I32Span idx = Int32Arg(info, 0, kOneHotFn, "indices");
  const F32Span out = Float32Arg(info, 1, kOneHotFn, "out");
  const size_t depth = static_cast<size_t>(IntArg(info, 2, kOneHotFn, "depth", 0, kMaxSafeInteger));
  const double on = NumberArg(info, 3, kOneHotFn, "onValue");
  const double off = NumberArg(info, 4, kOneHotFn, "offValue");
  ExpectLength(env, kOneHotFn, "out", out.length, SaturatingMul(idx.length, depth), "indices.length*depth");
  ExpectDisjoint(env, kOneHotFn, "out", out, "indices", idx.bytes());
  // Float32Array stores round to nearest, as these casts do.
  OneHotF32(idx.data, out.data, idx.length, depth, static_cast<float>(on), static_cast<float>(off));
  return env.Undefined();
}

void InitMovement(Napi::Env env, Napi::Object exports) {
  exports.Set("stridedCopy32", Napi::Function::New(env, StridedCopy, kCopyFn));
  exports.Set("concatCopy32", Napi::Function::New(env, ConcatCopy, kConcatFn));
  exports.Set("gather32", Napi::Function::New(env, Gather, kGatherFn));
  exports.Set("oneHotF32", Napi::Function::New(env, OneHot, kOneHotFn));
  Napi::Object modes = Napi::Object::New(env);
  modes.Set("inRange", Napi::Number::New(env, NG_COPY_IN_RANGE));
  modes.Set("constant", Napi::Number::New(env, NG_COPY_CONSTANT));
  modes.Set("reflect", Napi::Number::New(env, NG_COPY_REFLECT));
  modes.Set("symmetric", Napi::Number::New(env, NG_COPY_SYMMETRIC));
  modes.Freeze();
  exports.Set("copyModeCodes", modes);
}

}  // namespace

NG_REGISTER_EXPORTS(movement, InitMovement);

}  // namespace nodegrad
