// Promise forms of native kernels: run a kernel job on the libuv thread pool, off the JS thread, and settle a
// Promise when it finishes. Generic: any family (conv, matmul, ...) can use it.
//
// Usage, in an entry point that has already checked its arguments (all checks stay on the JS thread):
//   const F32Span x = Float32Arg(info, 0, kFn, "x"), out = Float32Arg(info, 1, kFn, "out");
//   return RunAsync(env, "myKernelF32Async", {info[0], info[1]}, info[1],
//                   [x, out]() { MyKernel(x.data, out.data, x.length); });
// Capture spans and integers by value, never Napi values (the job runs on another thread).
#ifndef NODEGRAD_ADDON_ASYNC_H
#define NODEGRAD_ADDON_ASYNC_H

#include <napi.h>

#include <functional>
#include <initializer_list>

namespace nodegrad {

// The work of one kernel call; runs on a libuv worker thread and must not touch JS values. May throw a
// std::exception: the Promise then rejects with an Error carrying what().
using KernelJob = std::function<void()>;

// Queues `job` and returns a Promise that resolves with `result` (typically the output array) once the job
// has finished. Every value in `keep` (the arrays the job reads or writes, `result` included) is held by a
// strong reference until the Promise settles, so the GC cannot free their memory mid-kernel. The caller must
// not write the inputs (or detach any of them) while the Promise is pending.
Napi::Promise RunAsync(Napi::Env env, const char* name, std::initializer_list<Napi::Value> keep, Napi::Value result,
                       KernelJob job);

}  // namespace nodegrad

#endif  // NODEGRAD_ADDON_ASYNC_H
