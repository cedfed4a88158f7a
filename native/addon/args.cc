// Argument checks shared by every N-API entry point. Nothing here does maths or knows about shapes.
#include "args.h"

#include <math.h>
#include <stdint.h>

#include <algorithm>
#include <string>

namespace nodegrad {

std::string ArgPrefix(const char* fn, const char* arg) { return std::string(fn) + ": argument '" + arg + "' "; }

static const char* TypedArrayName(napi_typedarray_type type) {
  switch (type) {
    case napi_int8_array: return "Int8Array";
    case napi_uint8_array: return "Uint8Array";
    case napi_uint8_clamped_array: return "Uint8ClampedArray";
    case napi_int16_array: return "Int16Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint32_array: return "Uint32Array";
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_bigint64_array: return "BigInt64Array";
    case napi_biguint64_array: return "BigUint64Array";
    default: return "typed array";
  }
}

std::string Describe(const Napi::Value& value) {
  if (value.IsTypedArray()) return TypedArrayName(value.As<Napi::TypedArray>().TypedArrayType());
  if (value.IsDataView()) return "DataView";
  if (value.IsArrayBuffer()) return "ArrayBuffer";
  if (value.IsArray()) return "Array";
  if (value.IsNull()) return "null";
  if (value.IsUndefined()) return "undefined";
  if (value.IsNumber()) return "number";
  if (value.IsString()) return "string";
  if (value.IsBoolean()) return "boolean";
  if (value.IsFunction()) return "function";
  if (value.IsBigInt()) return "bigint";
  if (value.IsSymbol()) return "symbol";
  return "object";
}

void ExpectArgCount(const Napi::CallbackInfo& info, const char* fn, size_t n, const char* names) {
  if (info.Length() != n) {
    throw Napi::TypeError::New(info.Env(), std::string(fn) + ": expected " + std::to_string(n) + " arguments (" +
                                               names + "), got " + std::to_string(info.Length()));
  }
}

bool IsTypedArrayOf(const Napi::Value& value, napi_typedarray_type type) {
  return value.IsTypedArray() && value.As<Napi::TypedArray>().TypedArrayType() == type;
}

// The memory of info[index], a typed array of `type` over a live, non-shared ArrayBuffer; `expected` names
// what else the caller may pass ("a Float32Array or null") in the TypeError.
static void* TypedArrayData(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* arg,
                            napi_typedarray_type type, const char* expected, size_t* length) {
  Napi::Env env = info.Env();
  Napi::Value value = info[index];
  if (!IsTypedArrayOf(value, type)) {
    throw Napi::TypeError::New(env, ArgPrefix(fn, arg) + "must be " + expected + ", got " + Describe(value));
  }
  napi_typedarray_type actual;
  void* data = nullptr;
  napi_value buffer = nullptr;
  size_t byte_offset = 0;
  *length = 0;
  NAPI_THROW_IF_FAILED(env, napi_get_typedarray_info(env, value, &actual, length, &data, &buffer, &byte_offset),
                       nullptr);
  // napi_is_arraybuffer is false for a SharedArrayBuffer (V8 keeps the two apart), which we refuse:
  // another thread could write it while a kernel reads, or shrink nothing but still race with us.
  bool is_plain = false;
  NAPI_THROW_IF_FAILED(env, napi_is_arraybuffer(env, buffer, &is_plain), nullptr);
  if (!is_plain) {
    throw Napi::TypeError::New(env, ArgPrefix(fn, arg) +
                                        "is backed by a SharedArrayBuffer; copy it into an ordinary ArrayBuffer "
                                        "(another thread could change it while the kernel runs)");
  }
  bool detached = false;
  NAPI_THROW_IF_FAILED(env, napi_is_detached_arraybuffer(env, buffer, &detached), nullptr);
  if (detached) {
    throw Napi::TypeError::New(env, ArgPrefix(fn, arg) + "is backed by a detached ArrayBuffer (it was transferred)");
  }
  // A typed array over a shrunk resizable buffer reports length 0, so `length` is always what is in bounds.
  return data;
}

F32Span Float32Arg(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* arg) {
  F32Span span;
  span.data = static_cast<float*>(
      TypedArrayData(info, index, fn, arg, napi_float32_array, "a Float32Array", &span.length));
  return span;
}

F32Span OptionalFloat32Arg(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* arg,
                           bool* present) {
  F32Span span{nullptr, 0};
  *present = !info[index].IsNull() && !info[index].IsUndefined();
  if (!*present) return span;
  span.data = static_cast<float*>(
      TypedArrayData(info, index, fn, arg, napi_float32_array, "a Float32Array or null", &span.length));
  return span;
}

I32Span Int32Arg(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* arg) {
  I32Span span;
  span.data = static_cast<int32_t*>(
      TypedArrayData(info, index, fn, arg, napi_int32_array, "an Int32Array", &span.length));
  return span;
}

W32Span Word32Arg(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* arg) {
  W32Span span;
  span.is_int = IsTypedArrayOf(info[index], napi_int32_array);
  span.data = static_cast<uint32_t*>(TypedArrayData(info, index, fn, arg,
                                                    span.is_int ? napi_int32_array : napi_float32_array,
                                                    "a Float32Array or an Int32Array", &span.length));
  return span;
}

void ExpectSameType(Napi::Env env, const char* fn, const char* a_name, const W32Span& a, const char* b_name,
                    const W32Span& b) {
  if (a.is_int == b.is_int) return;
  auto name = [](const W32Span& s) { return s.is_int ? "an Int32Array" : "a Float32Array"; };
  throw Napi::TypeError::New(env, ArgPrefix(fn, b_name) + "is " + name(b) + " but '" + a_name + "' is " + name(a) +
                                      "; they must have the same type");
}

std::vector<int64_t> Int32ListArg(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* arg,
                                  size_t max_len, int64_t want_len, int64_t min, int64_t max) {
  const I32Span list = Int32Arg(info, index, fn, arg);
  if (want_len >= 0 && list.length != static_cast<size_t>(want_len)) {
    throw Napi::RangeError::New(info.Env(), ArgPrefix(fn, arg) + "must have " + std::to_string(want_len) +
                                                " entries (one per axis), got " + std::to_string(list.length));
  }
  if (list.length > max_len) {
    throw Napi::RangeError::New(info.Env(), ArgPrefix(fn, arg) + "has " + std::to_string(list.length) +
                                                " entries; at most " + std::to_string(max_len) + " axes are supported");
  }
  std::vector<int64_t> out(list.data, list.data + list.length);
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] < min || out[i] > max) {
      throw Napi::RangeError::New(info.Env(), ArgPrefix(fn, arg) + "entry " + std::to_string(i) + " must be in [" +
                                                  std::to_string(min) + ", " + std::to_string(max) + "], got " +
                                                  std::to_string(out[i]));
    }
  }
  return out;
}

void ExpectReach(Napi::Env env, const char* fn, const char* arg, const int64_t* dims, const int64_t* strides,
                 size_t rank, const char* of, size_t length) {
  size_t last = 0;
  for (size_t a = 0; a < rank; ++a) {
    const size_t step = SaturatingMul(static_cast<size_t>(dims[a] - 1), static_cast<size_t>(strides[a]));
    last = step > SIZE_MAX - last ? SIZE_MAX : last + step;
  }
  if (last < length) return;
  throw Napi::RangeError::New(env, ArgPrefix(fn, arg) + "reach element " +
                                       (last == SIZE_MAX ? std::string("past 2^64") : std::to_string(last)) + " of '" +
                                       of + "', which has " + std::to_string(length));
}

ng_broadcast_plan BroadcastShapeArg(const Napi::CallbackInfo& info, size_t index, const char* fn, size_t* n) {
  const std::vector<int64_t> shape = Int32ListArg(info, index, fn, "outShape", NG_MAX_STRIDED_RANK, -1, 0, kMaxInt32);
  ng_broadcast_plan plan = {};
  plan.rank = static_cast<int>(shape.size());
  *n = 1;
  for (int a = 0; a < plan.rank; ++a) {
    plan.out_shape[a] = shape[a];
    *n = SaturatingMul(*n, static_cast<size_t>(shape[a]));
  }
  return plan;
}

void BroadcastStridesArg(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* arg, const char* of,
                         size_t length, size_t n, int k, ng_broadcast_plan* plan) {
  const std::vector<int64_t> strides =
      Int32ListArg(info, index, fn, arg, NG_MAX_STRIDED_RANK, plan->rank, 0, kMaxInt32);
  for (int a = 0; a < plan->rank; ++a) plan->stride[k][a] = strides[a];
  if (n > 0) ExpectReach(info.Env(), fn, arg, plan->out_shape, strides.data(), strides.size(), of, length);
}

// The one integer parser: IntArg and EnumArg differ only in `codes`, the op codes listed after the range.
static int64_t ParseInteger(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* arg,
                            int64_t min, int64_t max, const char* codes) {
  // Clamped so that every accepted double converts to int64 exactly (no unsafe integer gets through).
  min = std::max(min, -kMaxSafeInteger);
  max = std::min(max, kMaxSafeInteger);
  Napi::Value value = info[index];
  const bool is_number = value.IsNumber();
  const double v = is_number ? value.As<Napi::Number>().DoubleValue() : 0.0;
  // NaN fails both comparisons; +-Infinity and unsafe integers fail the range; floor catches fractions.
  if (is_number && v >= static_cast<double>(min) && v <= static_cast<double>(max) && floor(v) == v) {
    return static_cast<int64_t>(v);
  }
  const std::string message = ArgPrefix(fn, arg) + "must be an integer in [" + std::to_string(min) + ", " +
                              std::to_string(max) + "]" + (codes ? std::string(" (") + codes + ")" : std::string()) +
                              ", got " + (is_number ? value.ToString().Utf8Value() : Describe(value));
  if (!is_number) throw Napi::TypeError::New(info.Env(), message);
  throw Napi::RangeError::New(info.Env(), message);
}

int64_t IntArg(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* arg, int64_t min, int64_t max) {
  return ParseInteger(info, index, fn, arg, min, max, nullptr);
}

int EnumArg(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* arg, int count,
            const char* names) {
  return static_cast<int>(ParseInteger(info, index, fn, arg, 0, count - 1, names));
}

double NumberArg(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* arg) {
  Napi::Value value = info[index];
  if (!value.IsNumber()) {
    throw Napi::TypeError::New(info.Env(), ArgPrefix(fn, arg) + "must be a number, got " + Describe(value));
  }
  return value.As<Napi::Number>().DoubleValue();
}

bool BoolArg(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* arg) {
  Napi::Value value = info[index];
  if (!value.IsBoolean()) {
    throw Napi::TypeError::New(info.Env(), ArgPrefix(fn, arg) + "must be a boolean, got " + Describe(value));
  }
  return value.As<Napi::Boolean>().Value();
}

bool Overlaps(const F32Span& x, const F32Span& y) {
  if (x.length == 0 || y.length == 0) return false;
  const uintptr_t x0 = reinterpret_cast<uintptr_t>(x.data), x1 = x0 + x.length * sizeof(float);
  const uintptr_t y0 = reinterpret_cast<uintptr_t>(y.data), y1 = y0 + y.length * sizeof(float);
  return x0 < y1 && y0 < x1;
}

void ExpectDisjoint(Napi::Env env, const char* fn, const char* out_name, const F32Span& out, const char* in_name,
                    const F32Span& in, bool may_be_in) {
  if (!Overlaps(out, in)) return;
  if (may_be_in && out.data == in.data && out.length == in.length) return;
  throw Napi::RangeError::New(env, ArgPrefix(fn, out_name) + "overlaps '" + in_name + "'" +
                                       (may_be_in ? "; it may be that array itself or a separate one"
                                                  : "; pass a separate output array"));
}

size_t SaturatingMul(size_t a, size_t b) { return (a != 0 && b > SIZE_MAX / a) ? SIZE_MAX : a * b; }

void ExpectLength(Napi::Env env, const char* fn, const char* arg, size_t have, size_t want, const char* what) {
  if (have != want) {
    throw Napi::RangeError::New(env, ArgPrefix(fn, arg) + "has length " + std::to_string(have) + " but " + what +
                                         " is " + (want == SIZE_MAX ? std::string("too large") : std::to_string(want)));
  }
}

size_t CheckedProduct(Napi::Env env, const char* fn, const char* what, std::initializer_list<size_t> factors) {
  size_t p = 1, real = 1;
  for (size_t f : factors) {
    const size_t g = f == 0 ? 1 : f;
    if (p > SIZE_MAX / g || g > SIZE_MAX / sizeof(float) / p) {
      throw Napi::RangeError::New(env, std::string(fn) + ": " + what + " is too large (the element count overflows)");
    }
    p *= g;
    real *= f;
  }
  return real;
}

namespace {

// floor((in + before + after - (k-1)*d - 1) / s) + 1 (every operand < 2^31: no overflow in int64).
int64_t WindowOut(int64_t in, int64_t k, int64_t s, int64_t d, int64_t before, int64_t after) {
  const int64_t num = in + before + after - (k - 1) * d - 1;
  const int64_t q = num >= 0 ? num / s : -((-num + s - 1) / s);
  return q + 1;
}

}  // namespace

ConvGeometry ConvGeometryArgs(const Napi::CallbackInfo& info, size_t first, const char* fn) {
  Napi::Env env = info.Env();
  ConvGeometry s;
  size_t i = first;
  auto next = [&](const char* name, int64_t min) { return IntArg(info, i++, fn, name, min, kMaxInt32); };
  s.n = next("n", 0);
  s.h = next("h", 0);
  s.w = next("width", 0);
  s.cin = next("cin", 0);
  s.kh = next("kh", 1);
  s.kw = next("kw", 1);
  s.cout = next("cout", 1);
  s.oh = next("oh", 0);
  s.ow = next("ow", 0);
  s.stride_h = next("strideH", 1);
  s.stride_w = next("strideW", 1);
  s.dil_h = next("dilH", 1);
  s.dil_w = next("dilW", 1);
  s.pad_top = next("padTop", 0);
  s.pad_bottom = next("padBottom", 0);
  s.pad_left = next("padLeft", 0);
  s.pad_right = next("padRight", 0);
  s.groups = next("groups", 1);

  const std::string f(fn);
  if (s.cin % s.groups != 0 || s.cout % s.groups != 0) {
    throw Napi::RangeError::New(env, f + ": argument 'groups' = " + std::to_string(s.groups) +
                                         " must divide cin = " + std::to_string(s.cin) + " and cout = " +
                                         std::to_string(s.cout));
  }
  const int64_t oh = WindowOut(s.h, s.kh, s.stride_h, s.dil_h, s.pad_top, s.pad_bottom);
  const int64_t ow = WindowOut(s.w, s.kw, s.stride_w, s.dil_w, s.pad_left, s.pad_right);
  if (oh < 1 || ow < 1) {
    throw Napi::RangeError::New(env, f + ": the dilated kernel (" + std::to_string(s.kh) + "x" + std::to_string(s.kw) +
                                         ", dilation " + std::to_string(s.dil_h) + "x" + std::to_string(s.dil_w) +
                                         ") is larger than the padded input (" + std::to_string(s.h) + "x" +
                                         std::to_string(s.w) + " with pads " + std::to_string(s.pad_top) + "," +
                                         std::to_string(s.pad_bottom) + "," + std::to_string(s.pad_left) + "," +
                                         std::to_string(s.pad_right) + ")");
  }
  if (s.oh != oh || s.ow != ow) {
    throw Napi::RangeError::New(env, f + ": arguments 'oh', 'ow' = " + std::to_string(s.oh) + ", " + std::to_string(s.ow) +
                                         " do not match the output size " + std::to_string(oh) + ", " +
                                         std::to_string(ow) +
                                         " given by h, width, kh, kw, strides, dilations and pads");
  }
  auto z = [](int64_t v) { return static_cast<size_t>(v); };
  CheckedProduct(env, fn, "n*h*width*cin", {z(s.n), z(s.h), z(s.w), z(s.cin)});
  CheckedProduct(env, fn, "n*oh*ow*cout", {z(s.n), z(s.oh), z(s.ow), z(s.cout)});
  CheckedProduct(env, fn, "kh*kw*(cin/groups)*cout", {z(s.kh), z(s.kw), z(s.cin / s.groups), z(s.cout)});
  return s;
}

}  // namespace nodegrad
