// Argument unpacking for the N-API entry points: every check that keeps a kernel inside its arrays.
#ifndef NODEGRAD_ADDON_ARGS_H
#define NODEGRAD_ADDON_ARGS_H

#include <napi.h>
#include <stddef.h>

#include <string>

namespace nodegrad {

// A Float32Array's memory as a kernel sees it.
struct F32Span {
  float* data;
  size_t length;
};

// Throws TypeError "<fn>: expected <n> arguments (<names>), got <k>" unless exactly n arguments were passed.
void ExpectArgCount(const Napi::CallbackInfo& info, const char* fn, size_t n, const char* names);

// info[index] as a Float32Array over a live, non-shared ArrayBuffer; otherwise a TypeError naming fn and arg.
F32Span Float32Arg(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* arg);

// info[index] as an integer in [0, count); TypeError if not a number, RangeError if not an integer in range.
int EnumArg(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* arg, int count, const char* names);

// a * b, or SIZE_MAX when it overflows (no array is that long, so a length check against it then fails).
size_t SaturatingMul(size_t a, size_t b);

// RangeError "<fn>: argument '<arg>' has length <have> but <what> is <want>" unless have == want
// (want == SIZE_MAX, an overflowed product, prints as "too large").
void ExpectLength(Napi::Env env, const char* fn, const char* arg, size_t have, size_t want, const char* what);

// True when x and y share at least one byte.
bool Overlaps(const F32Span& x, const F32Span& y);

// "Float64Array", "Array", "DataView", "number", ...: what a caller passed, for error messages.
std::string Describe(const Napi::Value& value);

}  // namespace nodegrad

#endif  // NODEGRAD_ADDON_ARGS_H
