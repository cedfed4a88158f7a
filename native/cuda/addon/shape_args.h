// Shape-like arguments of the movement, selection and broadcasting entries: JS arrays of integers (shapes, strides,
// offsets), checked like the scalar ones (native/addon/args.h), plus the dtype agreement between buffers.
#ifndef NGCUDA_ADDON_SHAPE_ARGS_H
#define NGCUDA_ADDON_SHAPE_ARGS_H

#include <napi.h>

#include <cstdint>
#include <vector>

#include "buffer.h"
#include "ngcuda/common.h"

namespace ngcuda_addon {

// info[index] as an Array of integers in [min, max] with at most max_len entries (want_len >= 0: exactly that
// many); TypeError / RangeError "<fn>: argument '<arg>' ..." otherwise.
std::vector<std::int64_t> IntListArg(const Napi::CallbackInfo& info, std::size_t index, const char* fn, const char* arg,
                                     std::size_t max_len, std::int64_t want_len, std::int64_t min, std::int64_t max);
// The product of the entries, or -1 past 2^53.
std::int64_t ProductOf(const std::vector<std::int64_t>& v);
// RangeError "<fn>: argument '<b>' is <dtype> but '<a>' is <dtype>" unless both have the same dtype.
void ExpectSameDType(Napi::Env env, const char* fn, const char* a_name, const DeviceBuffer* a, const char* b_name,
                     const DeviceBuffer* b);
const char* DTypeName(int dtype);
// The broadcasting arguments (outShape at info[shape_index], then one strides list per input, named
// "<name>Strides") as a plan; RangeError unless out has prod(outShape) elements and every read stays inside its input.
ngcuda::BroadcastPlan ReadPlan(const Napi::CallbackInfo& info, const char* fn, std::size_t shape_index,
                               const std::vector<const DeviceBuffer*>& ins, const std::vector<const char*>& names,
                               const DeviceBuffer* out);

}  // namespace ngcuda_addon

#endif  // NGCUDA_ADDON_SHAPE_ARGS_H
