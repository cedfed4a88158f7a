// Argument checks shared by every N-API entry point. Nothing here does maths or knows about shapes.
#include "args.h"

#include <math.h>
#include <stdint.h>

#include <string>

namespace nodegrad {

static std::string Prefix(const char* fn, const char* arg) {
  return std::string(fn) + ": argument '" + arg + "' ";
}

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

F32Span Float32Arg(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* arg) {
  Napi::Env env = info.Env();
  Napi::Value value = info[index];
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(env, Prefix(fn, arg) + "must be a Float32Array, got " + Describe(value));
  }
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value buffer = nullptr;
  size_t byte_offset = 0;
  NAPI_THROW_IF_FAILED(env, napi_get_typedarray_info(env, value, &type, &length, &data, &buffer, &byte_offset),
                       F32Span());
  // napi_is_arraybuffer is false for a SharedArrayBuffer (V8 keeps the two apart), which we refuse:
  // another thread could write it while a kernel reads, or shrink nothing but still race with us.
  bool is_plain = false;
  NAPI_THROW_IF_FAILED(env, napi_is_arraybuffer(env, buffer, &is_plain), F32Span());
  if (!is_plain) {
    throw Napi::TypeError::New(env, Prefix(fn, arg) +
                                        "is backed by a SharedArrayBuffer; pass a Float32Array over an ordinary "
                                        "ArrayBuffer (another thread could change it while the kernel runs)");
  }
  bool detached = false;
  NAPI_THROW_IF_FAILED(env, napi_is_detached_arraybuffer(env, buffer, &detached), F32Span());
  if (detached) {
    throw Napi::TypeError::New(env, Prefix(fn, arg) + "is backed by a detached ArrayBuffer (it was transferred)");
  }
  // A typed array over a shrunk resizable buffer reports length 0, so `length` is always what is in bounds.
  F32Span span;
  span.data = static_cast<float*>(data);
  span.length = length;
  return span;
}

int EnumArg(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* arg, int count,
            const char* names) {
  Napi::Value value = info[index];
  if (!value.IsNumber()) {
    throw Napi::TypeError::New(info.Env(), Prefix(fn, arg) + "must be an integer number, got " + Describe(value));
  }
  const double v = value.As<Napi::Number>().DoubleValue();
  if (!(v >= 0 && v < count) || floor(v) != v) {
    throw Napi::RangeError::New(info.Env(), Prefix(fn, arg) + "must be an integer in [0, " + std::to_string(count) +
                                                ") (" + names + "), got " + value.ToString().Utf8Value());
  }
  return static_cast<int>(v);
}

bool Overlaps(const F32Span& x, const F32Span& y) {
  if (x.length == 0 || y.length == 0) return false;
  const uintptr_t x0 = reinterpret_cast<uintptr_t>(x.data), x1 = x0 + x.length * sizeof(float);
  const uintptr_t y0 = reinterpret_cast<uintptr_t>(y.data), y1 = y0 + y.length * sizeof(float);
  return x0 < y1 && y0 < x1;
}

size_t SaturatingMul(size_t a, size_t b) { return (a != 0 && b > SIZE_MAX / a) ? SIZE_MAX : a * b; }

void ExpectLength(Napi::Env env, const char* fn, const char* arg, size_t have, size_t want, const char* what) {
  if (have != want) {
    throw Napi::RangeError::New(env, std::string(fn) + ": argument '" + arg + "' has length " + std::to_string(have) +
                                         " but " + what + " is " +
                                         (want == SIZE_MAX ? std::string("too large") : std::to_string(want)));
  }
}

}  // namespace nodegrad
