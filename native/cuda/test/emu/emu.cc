// The CPU emulation behind emu/cuda_runtime.h: fibers for CUDA threads, barriers, warp shuffles, host memory
// standing in for device memory. See the header for what it is (and is not) good for.
#include "cuda_runtime.h"

#include <ucontext.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

namespace emu {

namespace {

constexpr std::size_t kStackBytes = 256 * 1024;

struct Fiber {
  ucontext_t ctx;
  std::unique_ptr<char[]> stack;
  ThreadCtx tc;
  bool done = false;
};

ucontext_t g_main;
std::vector<Fiber> g_fibers;
Fiber* g_cur = nullptr;
ThreadCtx g_host;
void (*g_body)(void*) = nullptr;
void* g_ctx = nullptr;
int g_threads = 0;
bool g_progress = false;

unsigned g_block_gen = 0;
int g_block_arrived = 0;
std::vector<unsigned> g_warp_gen;
std::vector<int> g_warp_arrived;
std::vector<int> g_warp_size;
std::vector<std::uint64_t> g_shfl;

void Entry() {
  g_body(g_ctx);
  g_cur->done = true;
  g_progress = true;
}  // returns to g_main through uc_link

void Yield() { swapcontext(&g_cur->ctx, &g_main); }

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "emu: %s (block %u,%u,%u)\n", what, g_cur ? g_cur->tc.block_idx.x : 0u,
               g_cur ? g_cur->tc.block_idx.y : 0u, g_cur ? g_cur->tc.block_idx.z : 0u);
  std::abort();
}

}  // namespace

ThreadCtx& Cur() { return g_cur ? g_cur->tc : g_host; }

void SyncThreads() {
  if (!g_cur) Die("__syncthreads outside a kernel");
  g_progress = true;
  const unsigned gen = g_block_gen;
  if (++g_block_arrived == g_threads) {
    g_block_arrived = 0;
    ++g_block_gen;
    return;
  }
  while (g_block_gen == gen) Yield();
}

void SyncWarp() {
  if (!g_cur) Die("__syncwarp outside a kernel");
  g_progress = true;
  const int w = g_cur->tc.linear / 32;
  const unsigned gen = g_warp_gen[w];
  if (++g_warp_arrived[w] == g_warp_size[w]) {
    g_warp_arrived[w] = 0;
    ++g_warp_gen[w];
    return;
  }
  while (g_warp_gen[w] == gen) Yield();
}

std::uint64_t ShflXor64(std::uint64_t v, int off) {
  const int me = g_cur->tc.linear, w = me / 32, lane = me % 32;
  const int partner = lane ^ off;
  if (partner >= g_warp_size[w]) Die("__shfl_xor_sync to a lane the warp does not have");
  g_shfl[me] = v;
  SyncWarp();
  const std::uint64_t r = g_shfl[w * 32 + partner];
  SyncWarp();  // nobody overwrites a slot before its partner has read it
  return r;
}

void Trap() { Die("__trap()"); }

void RunGrid(dim3 grid, dim3 block, void (*body)(void*), void* ctx) {
  if (g_cur) Die("a kernel launched from a kernel");
  const long long n = static_cast<long long>(block.x) * block.y * block.z;
  if (n <= 0 || n > 1024 || grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 || grid.z > 65535) {
    std::fprintf(stderr, "emu: invalid launch configuration grid (%u,%u,%u) block (%u,%u,%u)\n", grid.x, grid.y, grid.z,
                 block.x, block.y, block.z);
    std::abort();
  }
  g_threads = static_cast<int>(n);
  if (g_fibers.size() < static_cast<std::size_t>(n)) g_fibers.resize(n);
  const int warps = (g_threads + 31) / 32;
  g_warp_gen.assign(warps, 0);
  g_warp_arrived.assign(warps, 0);
  g_warp_size.assign(warps, 32);
  g_warp_size[warps - 1] = g_threads - (warps - 1) * 32;
  g_shfl.assign(static_cast<std::size_t>(warps) * 32, 0);
  g_body = body;
  g_ctx = ctx;
  for (unsigned bz = 0; bz < grid.z; ++bz) {
    for (unsigned by = 0; by < grid.y; ++by) {
      for (unsigned bx = 0; bx < grid.x; ++bx) {
        g_block_gen = 0;
        g_block_arrived = 0;
        for (int i = 0; i < g_threads; ++i) {
          Fiber& f = g_fibers[i];
          if (!f.stack) f.stack.reset(new char[kStackBytes]);
          f.done = false;
          f.tc.thread_idx = uint3{static_cast<unsigned>(i) % block.x, (static_cast<unsigned>(i) / block.x) % block.y,
                                  static_cast<unsigned>(i) / (block.x * block.y)};
          f.tc.block_idx = uint3{bx, by, bz};
          f.tc.block_dim = block;
          f.tc.grid_dim = grid;
          f.tc.linear = i;
          getcontext(&f.ctx);
          f.ctx.uc_stack.ss_sp = f.stack.get();
          f.ctx.uc_stack.ss_size = kStackBytes;
          f.ctx.uc_link = &g_main;
          makecontext(&f.ctx, Entry, 0);
        }
        int remaining = g_threads;
        while (remaining > 0) {
          g_progress = false;
          for (int i = 0; i < g_threads; ++i) {
            Fiber& f = g_fibers[i];
            if (f.done) continue;
            g_cur = &f;
            swapcontext(&g_main, &f.ctx);
            g_cur = nullptr;
            if (f.done) --remaining;
          }
          if (remaining > 0 && !g_progress) Die("deadlock: threads wait at a barrier others never reach");
        }
      }
    }
  }
}

}  // namespace emu

// ---- runtime API ----------------------------------------------------------------------------------------

namespace {
cudaError_t g_last = cudaSuccess;
cudaError_t Set(cudaError_t e) {
  if (e != cudaSuccess) g_last = e;
  return e;
}
struct EmuEventImpl {
  std::chrono::steady_clock::time_point t;
};
}  // namespace

const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    default: return "cudaErrorUnknown";
  }
}
const char* cudaGetErrorString(cudaError_t e) {
  return e == cudaSuccess ? "no error" : e == cudaErrorMemoryAllocation ? "out of memory" : "error (emulated)";
}
cudaError_t cudaGetLastError() {
  const cudaError_t e = g_last;
  g_last = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError() { return g_last; }
cudaError_t cudaGetDeviceCount(int* n) {
  *n = 1;
  return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int) {
  std::memset(p, 0, sizeof *p);
  std::snprintf(p->name, sizeof p->name, "CPU emulation (fibers; no TF32)");
  p->major = 7;  // below sm_80: the TF32 path is not emulated
  p->minor = 5;
  p->multiProcessorCount = 2;  // small grids: grid-stride loops run several rounds
  p->totalGlobalMem = std::size_t{16} << 30;
  p->sharedMemPerBlockOptin = 48 * 1024;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int) { return cudaSuccess; }
cudaError_t cudaDriverGetVersion(int* v) {
  *v = 0;
  return cudaSuccess;
}
cudaError_t cudaRuntimeGetVersion(int* v) {
  *v = 0;
  return cudaSuccess;
}
cudaError_t cudaDeviceGetAttribute(int* v, cudaDeviceAttr, int) {
  *v = 1;
  return cudaSuccess;
}
cudaError_t cudaDeviceGetDefaultMemPool(cudaMemPool_t* p, int) {
  *p = nullptr;
  return cudaSuccess;
}
cudaError_t cudaMemPoolSetAttribute(cudaMemPool_t, cudaMemPoolAttr, void*) { return cudaSuccess; }
cudaError_t cudaFuncGetAttributes(cudaFuncAttributes* a, const void*) {
  a->maxThreadsPerBlock = 1024;
  return cudaSuccess;
}
cudaError_t cudaMalloc(void** p, std::size_t bytes) {
  *p = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  return *p ? cudaSuccess : Set(cudaErrorMemoryAllocation);
}
cudaError_t cudaMallocAsync(void** p, std::size_t bytes, cudaStream_t) { return cudaMalloc(p, bytes); }
cudaError_t cudaFree(void* p) {
  std::free(p);
  return cudaSuccess;
}
cudaError_t cudaFreeAsync(void* p, cudaStream_t) { return cudaFree(p); }
cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind) {
  std::memmove(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind k, cudaStream_t) {
  return cudaMemcpy(dst, src, bytes, k);
}
cudaError_t cudaMemset(void* p, int v, std::size_t bytes) {
  std::memset(p, v, bytes);
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaMemGetInfo(std::size_t* free_b, std::size_t* total_b) {
  *free_b = *total_b = std::size_t{16} << 30;
  return cudaSuccess;
}
cudaError_t cudaEventCreate(cudaEvent_t* e) {
  *e = reinterpret_cast<cudaEvent_t>(new EmuEventImpl());
  return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t e) {
  delete reinterpret_cast<EmuEventImpl*>(e);
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t) {
  reinterpret_cast<EmuEventImpl*>(e)->t = std::chrono::steady_clock::now();
  return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t a, cudaEvent_t b) {
  *ms = std::chrono::duration<float, std::milli>(reinterpret_cast<EmuEventImpl*>(b)->t -
                                                 reinterpret_cast<EmuEventImpl*>(a)->t).count();
  return cudaSuccess;
}
