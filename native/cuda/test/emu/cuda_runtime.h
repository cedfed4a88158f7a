/*
 * A CPU stand-in for <cuda_runtime.h>, used only by native/cuda/test/emulate.sh to run the CUDA kernels and the
 * harness on a machine without a GPU: every CUDA thread of a block is a fiber (ucontext) on one OS thread, blocks
 * run one after another, __syncthreads / __syncwarp / __shfl_xor_sync are barriers between the fibers, shared
 * memory is a function-static array (one block at a time), "device" memory is host memory. It checks index
 * arithmetic, tails, barriers and the harness itself; it says nothing about speed, and the TF32 (wmma) kernel is
 * not emulated. Only what native/cuda uses is provided.
 */
#ifndef NGCUDA_EMU_CUDA_RUNTIME_H
#define NGCUDA_EMU_CUDA_RUNTIME_H

#ifndef NGCUDA_EMULATE
#error "emu/cuda_runtime.h is the CPU emulation; build with -DNGCUDA_EMULATE"
#endif

#include <math.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <vector>

using std::max;
using std::min;

// ---- language -------------------------------------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
#define __shared__ static

struct dim3 {
  unsigned x, y, z;
  dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct uint3 {
  unsigned x, y, z;
};
struct alignas(16) float4 {
  float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }

namespace emu {

// The running fiber's coordinates.
struct ThreadCtx {
  uint3 thread_idx;
  uint3 block_idx;
  dim3 block_dim;
  dim3 grid_dim;
  int linear;  // thread index within the block
};
ThreadCtx& Cur();

void SyncThreads();
void SyncWarp();
// Exchanges 8 bytes with lane ^ off of the same warp.
std::uint64_t ShflXor64(std::uint64_t v, int off);
[[noreturn]] void Trap();

// Runs fn(linear thread index) for every thread of every block: blocks in order, threads as fibers.
void RunGrid(dim3 grid, dim3 block, void (*body)(void*), void* ctx);

template <class... P>
struct Launcher {
  dim3 grid, block;
  void (*kernel)(P...);
  template <class... A>
  void operator()(A&&... a) const {
    struct Pack {
      void (*k)(P...);
      std::tuple<P...> args;
    } pack{kernel, std::tuple<P...>(static_cast<P>(a)...)};
    RunGrid(grid, block, [](void* c) {
      Pack* p = static_cast<Pack*>(c);
      std::apply(p->k, p->args);
    }, &pack);
  }
};

template <class... P>
Launcher<P...> MakeLaunch(dim3 grid, dim3 block, void (*kernel)(P...)) {
  return Launcher<P...>{grid, block, kernel};
}

}  // namespace emu

#define threadIdx (::emu::Cur().thread_idx)
#define blockIdx (::emu::Cur().block_idx)
#define blockDim (::emu::Cur().block_dim)
#define gridDim (::emu::Cur().grid_dim)

inline void __syncthreads() { emu::SyncThreads(); }
inline void __syncwarp(unsigned = 0xffffffffu) { emu::SyncWarp(); }
[[noreturn]] inline void __trap() { emu::Trap(); }

template <class T>
inline T __ldg(const T* p) {
  return *p;
}
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }

template <class T>
inline T __shfl_xor_sync(unsigned, T v, int off) {
  static_assert(sizeof(T) <= 8, "8 bytes at most");
  std::uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  bits = emu::ShflXor64(bits, off);
  T r;
  std::memcpy(&r, &bits, sizeof(T));
  return r;
}

// Fibers switch only at barriers, so a plain read-modify-write is atomic here.
inline unsigned atomicCAS(unsigned* p, unsigned compare, unsigned v) {
  const unsigned old = *p;
  if (old == compare) *p = v;
  return old;
}
inline unsigned atomicAdd(unsigned* p, unsigned v) {
  const unsigned old = *p;
  *p = old + v;
  return old;
}
inline unsigned long long atomicMin(unsigned long long* p, unsigned long long v) {
  const unsigned long long old = *p;
  if (v < old) *p = v;
  return old;
}

// ---- runtime API ----------------------------------------------------------------------------------------
enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInsufficientDriver = 35,
  cudaErrorNoDevice = 100,
  cudaErrorIllegalAddress = 700,
  cudaErrorLaunchFailure = 719,
  cudaErrorMisalignedAddress = 716,
  cudaErrorIllegalInstruction = 715,
  cudaErrorInvalidPc = 718,
  cudaErrorHardwareStackError = 714,
  cudaErrorAssert = 710,
  cudaErrorLaunchTimeout = 702,
  cudaErrorCudartUnloading = 4,
  cudaErrorContextIsDestroyed = 709,
};
enum cudaMemcpyKind { cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2, cudaMemcpyDeviceToDevice = 3 };
enum cudaDeviceAttr { cudaDevAttrMemoryPoolsSupported = 115 };
enum cudaMemPoolAttr { cudaMemPoolAttrReleaseThreshold = 4 };
typedef struct EmuStream* cudaStream_t;
typedef struct EmuEvent* cudaEvent_t;
typedef struct EmuPool* cudaMemPool_t;

struct cudaDeviceProp {
  char name[256];
  int major, minor;
  int multiProcessorCount;
  std::size_t totalGlobalMem;
  std::size_t sharedMemPerBlockOptin;
};
struct cudaFuncAttributes {
  int maxThreadsPerBlock;
};

const char* cudaGetErrorName(cudaError_t e);
const char* cudaGetErrorString(cudaError_t e);
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
cudaError_t cudaGetDeviceCount(int* n);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int dev);
cudaError_t cudaSetDevice(int dev);
cudaError_t cudaDriverGetVersion(int* v);
cudaError_t cudaRuntimeGetVersion(int* v);
cudaError_t cudaDeviceGetAttribute(int* v, cudaDeviceAttr a, int dev);
cudaError_t cudaDeviceGetDefaultMemPool(cudaMemPool_t* p, int dev);
cudaError_t cudaMemPoolSetAttribute(cudaMemPool_t p, cudaMemPoolAttr a, void* v);
cudaError_t cudaFuncGetAttributes(cudaFuncAttributes* a, const void* f);
cudaError_t cudaMalloc(void** p, std::size_t bytes);
cudaError_t cudaMallocAsync(void** p, std::size_t bytes, cudaStream_t s);
cudaError_t cudaFree(void* p);
cudaError_t cudaFreeAsync(void* p, cudaStream_t s);
cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind k);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind k, cudaStream_t s);
cudaError_t cudaMemset(void* p, int v, std::size_t bytes);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaMemGetInfo(std::size_t* free_b, std::size_t* total_b);
cudaError_t cudaEventCreate(cudaEvent_t* e);
cudaError_t cudaEventDestroy(cudaEvent_t e);
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s);
cudaError_t cudaEventSynchronize(cudaEvent_t e);
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t a, cudaEvent_t b);

// The stream argument 0 of the real API.
inline cudaError_t cudaStreamSynchronize(int) { return cudaStreamSynchronize(static_cast<cudaStream_t>(nullptr)); }
inline cudaError_t cudaMallocAsync(void** p, std::size_t b, int) { return cudaMallocAsync(p, b, static_cast<cudaStream_t>(nullptr)); }
inline cudaError_t cudaFreeAsync(void* p, int) { return cudaFreeAsync(p, static_cast<cudaStream_t>(nullptr)); }
inline cudaError_t cudaMemcpyAsync(void* d, const void* s, std::size_t b, cudaMemcpyKind k, int) {
  return cudaMemcpyAsync(d, s, b, k, static_cast<cudaStream_t>(nullptr));
}
inline cudaError_t cudaEventRecord(cudaEvent_t e, int) { return cudaEventRecord(e, static_cast<cudaStream_t>(nullptr)); }

#endif  // NGCUDA_EMU_CUDA_RUNTIME_H
