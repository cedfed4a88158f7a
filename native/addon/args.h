// Argument unpacking for the N-API entry points: every check that keeps a kernel inside its arrays.
#ifndef NODEGRAD_ADDON_ARGS_H
#define NODEGRAD_ADDON_ARGS_H

#include <napi.h>
#include <stddef.h>
#include <stdint.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "nodegrad/movement.h"

namespace nodegrad {

// Number.MAX_SAFE_INTEGER: above it a JS number no longer holds every integer, so a size could have been rounded.
constexpr int64_t kMaxSafeInteger = 9007199254740991;
// Pool and conv geometry stays below 2^31, so the window arithmetic on a few of them never overflows int64.
constexpr int64_t kMaxInt32 = 2147483647;

// A Float32Array's memory as a kernel sees it.
struct F32Span {
  float* data;
  size_t length;
};

// An Int32Array's memory as a kernel sees it.
struct I32Span {
  int32_t* data;
  size_t length;
  F32Span bytes() const { return F32Span{reinterpret_cast<float*>(data), length}; }  // for the overlap checks
};

// "<fn>: argument '<arg>' ", the start of every argument error.
std::string ArgPrefix(const char* fn, const char* arg);

// Throws TypeError "<fn>: expected <n> arguments (<names>), got <k>" unless exactly n arguments were passed.
void ExpectArgCount(const Napi::CallbackInfo& info, const char* fn, size_t n, const char* names);

// info[index] as a Float32Array over a live, non-shared ArrayBuffer; otherwise a TypeError naming fn and arg.
F32Span Float32Arg(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* arg);

// Float32Arg, or {nullptr, 0} and *present = false for null / undefined (an empty array may also have no data).
F32Span OptionalFloat32Arg(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* arg, bool* present);

// info[index] as an Int32Array over a live, non-shared ArrayBuffer; otherwise a TypeError naming fn and arg.
I32Span Int32Arg(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* arg);

// A Float32Array's or an Int32Array's memory as 32-bit words: data movement copies them as they are.
struct W32Span {
  uint32_t* data;
  size_t length;
  bool is_int;  // an Int32Array
  F32Span bytes() const { return F32Span{reinterpret_cast<float*>(data), length}; }  // for the overlap checks
};

// info[index] as a Float32Array or an Int32Array over a live, non-shared ArrayBuffer; otherwise a TypeError.
W32Span Word32Arg(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* arg);

// TypeError "<fn>: argument '<b>' is an Int32Array but '<a>' is a Float32Array; ..." unless both have one type.
void ExpectSameType(Napi::Env env, const char* fn, const char* a_name, const W32Span& a, const char* b_name,
                    const W32Span& b);

// info[index] as an Int32Array of at most max_len entries (want_len >= 0: exactly that many), each in [min, max]:
// the shapes, strides and offsets of the movement entries. TypeError / RangeError naming fn and arg otherwise.
std::vector<int64_t> Int32ListArg(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* arg,
                                  size_t max_len, int64_t want_len, int64_t min, int64_t max);

// RangeError "<fn>: argument '<arg>' reach element <k> of '<of>', which has <length>" unless a strided read over
// dims (each >= 1) stays inside `length` elements: k = sum (dims[a] - 1) * strides[a] < length.
void ExpectReach(Napi::Env env, const char* fn, const char* arg, const int64_t* dims, const int64_t* strides,
                 size_t rank, const char* of, size_t length);

// Broadcast arguments (compare, where32, broadcastBinaryF32): outShape (argument `index`, an Int32Array of at most
// NG_MAX_STRIDED_RANK sizes) as a plan without strides, with its element count in *n.
ng_broadcast_plan BroadcastShapeArg(const Napi::CallbackInfo& info, size_t index, const char* fn, size_t* n);
// Input k's strides (argument `index`, one per axis, 0 on broadcast axes) into the plan, checked to stay inside
// the `length` elements of `of` when the output is not empty.
void BroadcastStridesArg(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* arg, const char* of,
                         size_t length, size_t n, int k, ng_broadcast_plan* plan);

// True when value is a typed array of this element type.
bool IsTypedArrayOf(const Napi::Value& value, napi_typedarray_type type);

// info[index] as an integer in [min, max] (bounds clamped to +-kMaxSafeInteger). Not a number: TypeError;
// NaN, infinite, fractional or out of range: RangeError. Both read
// "<fn>: argument '<arg>' must be an integer in [<min>, <max>], got <the number, or the type passed>".
int64_t IntArg(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* arg, int64_t min, int64_t max);

// An op code: IntArg in [0, count - 1], whose message also lists the codes, e.g. "... in [0, 1] (0 avg, 1 max), got 2".
int EnumArg(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* arg, int count, const char* names);

// info[index] as a number (any, NaN included); TypeError "... must be a number, got <type>" otherwise.
double NumberArg(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* arg);

// info[index] as a boolean; TypeError "... must be a boolean, got <type>" otherwise.
bool BoolArg(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* arg);

// a * b, or SIZE_MAX when it overflows (no array is that long, so a length check against it then fails).
size_t SaturatingMul(size_t a, size_t b);

// RangeError "<fn>: argument '<arg>' has length <have> but <what> is <want>" unless have == want
// (want == SIZE_MAX, an overflowed product, prints as "too large").
void ExpectLength(Napi::Env env, const char* fn, const char* arg, size_t have, size_t want, const char* what);

// True when x and y share at least one byte.
bool Overlaps(const F32Span& x, const F32Span& y);

// RangeError "<fn>: argument '<out>' overlaps '<in>'; ..." when an output shares memory with an input; with
// may_be_in, out may also be exactly `in` (kernels that read each element before writing it).
void ExpectDisjoint(Napi::Env env, const char* fn, const char* out_name, const F32Span& out, const char* in_name,
                    const F32Span& in, bool may_be_in = false);

// "Float64Array", "Array", "DataView", "number", ...: what a caller passed, for error messages.
std::string Describe(const Napi::Value& value);

// The product of the factors as an element count (zeros counted as 1 while checking, so no intermediate hides an
// overflow), or a RangeError "<fn>: <what> is too large" when it or its bytes overflow size_t.
size_t CheckedProduct(Napi::Env env, const char* fn, const char* what, std::initializer_list<size_t> factors);

// The 18 integers of a convolution's geometry, in this order, as both addons' conv entries take them.
constexpr const char* kConvGeometryNames =
    "n, h, width, cin, kh, kw, cout, oh, ow, strideH, strideW, dilH, dilW, padTop, padBottom, padLeft, padRight, groups";
constexpr size_t kConvGeometryCount = 18;

struct ConvGeometry {
  int64_t n, h, w, cin, kh, kw, cout, oh, ow, stride_h, stride_w, dil_h, dil_w, pad_top, pad_bottom, pad_left,
      pad_right, groups;
};

// The geometry starting at info[first], with every check that keeps the drivers in bounds: each integer in
// [0, 2^31) (kh, kw, cout, strides, dilations, groups >= 1), groups dividing cin and cout, oh and ow the output size
// the rest gives, and the element counts of x, y and w within size_t.
ConvGeometry ConvGeometryArgs(const Napi::CallbackInfo& info, size_t first, const char* fn);

// The geometry as a driver's shape struct (the CPU's nodegrad::ConvShape or the GPU's ngcuda::ConvShape).
template <class Shape>
Shape ToConvShape(const ConvGeometry& g) {
  Shape s;
  s.n = g.n;
  s.h = g.h;
  s.w = g.w;
  s.cin = g.cin;
  s.kh = g.kh;
  s.kw = g.kw;
  s.cout = g.cout;
  s.oh = g.oh;
  s.ow = g.ow;
  s.stride_h = g.stride_h;
  s.stride_w = g.stride_w;
  s.dil_h = g.dil_h;
  s.dil_w = g.dil_w;
  s.pad_top = g.pad_top;
  s.pad_left = g.pad_left;
  s.groups = g.groups;
  return s;
}

}  // namespace nodegrad

#endif  // NODEGRAD_ADDON_ARGS_H
