/*
 * The persistent native thread pool every multi-threaded kernel driver uses, and per-thread scratch buffers.
 * Baseline-ISA code only: per-ISA kernel files (native/kernels/<isa>/) never include this header, so no
 * inline code compiled with AVX flags can be merged into code that runs on every CPU.
 */
#ifndef NODEGRAD_RUNTIME_THREAD_POOL_H
#define NODEGRAD_RUNTIME_THREAD_POOL_H

#include <cstddef>

namespace nodegrad {

// One task of a parallel region: `task` in [0, ntasks); `thread` in [0, NumThreads()) names the pool thread
// running it (0 = the calling thread), for per-thread partial results. Must not throw.
using TaskFn = void (*)(void* ctx, std::size_t task, int thread);

// Threads a region is split over, the caller included: NODEGRAD_NUM_THREADS if set (>= 1), else the core count.
int NumThreads();

// Changes it for later regions (n >= 1); workers are started or stopped to match.
void SetNumThreads(int n);

// Runs fn(ctx, t, thread) for every t in [0, ntasks) and returns when all have finished. The caller works too.
// A region started inside a task, or while another thread's region holds the pool (two async kernels at once),
// runs serially on the calling thread with thread index 0, so regions never deadlock and never share workers.
void ParallelFor(std::size_t ntasks, TaskFn fn, void* ctx);

// Lambda form for baseline-ISA drivers: f(task, thread).
template <class F>
void ParallelFor(std::size_t ntasks, F& f) {
  ParallelFor(ntasks, [](void* c, std::size_t t, int th) { (*static_cast<F*>(c))(t, th); }, &f);
}

// body(i0, i1) over [0, n) in tasks of at least min_per items: small n runs as one task on the calling thread.
template <class F>
void ForRanges(std::size_t n, std::size_t min_per, F&& body) {
  if (n == 0) return;
  const std::size_t per = min_per > 0 ? min_per : 1;
  auto task = [&](std::size_t t, int) { body(t * per, (t + 1) * per < n ? (t + 1) * per : n); };
  ParallelFor((n + per - 1) / per, task);
}

// A 64-byte aligned buffer of at least `bytes`, private to the calling OS thread and reused by later calls
// (grow-only), so hot paths do not pay for fresh pages. `slot` in [0, 4) separates buffers used at once.
// The contents are unspecified on return.
float* Scratch(int slot, std::size_t bytes);

}  // namespace nodegrad

#endif  // NODEGRAD_RUNTIME_THREAD_POOL_H
