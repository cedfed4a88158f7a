// Host side of the shared pieces (ngcuda/common.h): error checks, device selection, memory, scratch buffers.
#include <cuda_runtime.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "common.cuh"

#ifndef NGCUDA_ARCHS
#define NGCUDA_ARCHS "unknown"
#endif

namespace ngcuda {

// A trivial kernel whose attributes tell whether the build holds code for the device.
__global__ void ng_cuda_probe_kernel() {}

namespace {

std::string Describe(cudaError_t e) {
  return std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
}

bool EnvFlag(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && std::strcmp(v, "1") == 0;
}

bool SyncAfterLaunch() {
  static const bool on = EnvFlag("NODEGRAD_CUDA_SYNC");
  return on;
}

// Errors that leave the context unusable: reported with a hint that an earlier kernel may have caused them.
bool IsStickyFault(cudaError_t e) {
  return e == cudaErrorIllegalAddress || e == cudaErrorLaunchFailure || e == cudaErrorMisalignedAddress ||
         e == cudaErrorIllegalInstruction || e == cudaErrorInvalidPc || e == cudaErrorHardwareStackError ||
         e == cudaErrorAssert || e == cudaErrorLaunchTimeout;
}

DeviceInfo g_info;
std::string g_init_error;
std::once_flag g_once;
thread_local bool t_device_set = false;

void InitOnce() {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    g_init_error = "cudaGetDeviceCount: " + Describe(e);
    if (e == cudaErrorInsufficientDriver) {
      int runtime = 0;
      cudaRuntimeGetVersion(&runtime);
      g_init_error += " (no NVIDIA driver was found, or it is older than this build's CUDA runtime " +
                      std::to_string(runtime / 1000) + "." + std::to_string(runtime % 1000 / 10) +
                      " needs; rebuild with the CUDA toolkit that matches the driver)";
    }
    cudaGetLastError();  // not sticky: clear it
    return;
  }
  if (count == 0) {
    g_init_error = "cudaGetDeviceCount: no CUDA device";
    return;
  }
  int ordinal = 0;
  if (const char* v = std::getenv("NODEGRAD_CUDA_DEVICE")) ordinal = std::atoi(v);
  if (ordinal < 0 || ordinal >= count) {
    g_init_error = "NODEGRAD_CUDA_DEVICE=" + std::to_string(ordinal) + " but there are " + std::to_string(count) +
                   " devices";
    return;
  }
  cudaDeviceProp p;
  e = cudaGetDeviceProperties(&p, ordinal);
  if (e != cudaSuccess) {
    g_init_error = "cudaGetDeviceProperties: " + Describe(e);
    return;
  }
  e = cudaSetDevice(ordinal);
  if (e != cudaSuccess) {
    g_init_error = "cudaSetDevice: " + Describe(e);
    return;
  }
  g_info.ordinal = ordinal;
  g_info.name = p.name;
  g_info.major = p.major;
  g_info.minor = p.minor;
  g_info.sm_count = p.multiProcessorCount;
  g_info.total_memory = p.totalGlobalMem;
  g_info.smem_per_block_optin = p.sharedMemPerBlockOptin;
  // Informational queries: a failure leaves the field 0 (and is cleared), it does not stop the backend.
  if (cudaDriverGetVersion(&g_info.driver_version) != cudaSuccess) g_info.driver_version = 0;
  if (cudaRuntimeGetVersion(&g_info.runtime_version) != cudaSuccess) g_info.runtime_version = 0;
  int pools = 0;
  if (cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, ordinal) != cudaSuccess) pools = 0;
  g_info.memory_pools = pools != 0;
  if (g_info.memory_pools) {
    // Keep freed blocks in the pool: training frees and reallocates the same sizes every step. Without the
    // attribute the pool still works, it only returns memory to the driver at synchronisations.
    cudaMemPool_t pool;
    std::uint64_t threshold = UINT64_MAX;
    if (cudaDeviceGetDefaultMemPool(&pool, ordinal) != cudaSuccess ||
        cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold) != cudaSuccess) {
      g_info.memory_pools = false;  // be conservative: plain cudaMalloc / cudaFree
    }
  }
  cudaGetLastError();
  // A device whose architecture this build has no code for fails at the first launch; say so now instead.
  cudaFuncAttributes attr;
  e = cudaFuncGetAttributes(&attr, reinterpret_cast<const void*>(&ng_cuda_probe_kernel));
  if (e != cudaSuccess) {
    g_init_error = std::string("this build (architectures ") + NGCUDA_ARCHS + ") has no code for " + p.name +
                   " (sm_" + std::to_string(p.major) + std::to_string(p.minor) +
                   "); rebuild with CMAKE_CUDA_ARCHITECTURES including it: " + Describe(e);
    cudaGetLastError();
    return;
  }
  t_device_set = true;
}

std::atomic<int> g_tf32{-1};  // -1: not read from the environment yet

struct ScratchBuf {
  void* p = nullptr;
  std::size_t bytes = 0;
};
ScratchBuf g_scratch[kScratchSlotCount];

IndexErrorRecord* g_index_record = nullptr;
unsigned int g_index_launch = 0;
bool g_index_checked = false;  // a checking kernel was queued since the last TakeIndexError
const IndexErrorRecord kNoIndexError = {0u, 0, 0, ~0ull};

}  // namespace

IndexReport BeginIndexCheck(IndexCheck check, i64 bound) {
  if (g_index_record == nullptr) {
    auto* rec = static_cast<IndexErrorRecord*>(Malloc(sizeof(IndexErrorRecord), "the index-error record"));
    CopyToDevice(rec, &kNoIndexError, sizeof kNoIndexError);
    g_index_record = rec;
  }
  if (++g_index_launch == 0u) g_index_launch = 1u;  // 0 marks an empty record
  g_index_checked = true;
  return IndexReport{g_index_record, g_index_launch, check, bound};
}

bool TakeIndexError(IndexError* err) {
  if (!g_index_checked) return false;
  IndexErrorRecord rec;
  CopyToHost(&rec, g_index_record, sizeof rec);  // a synchronous copy: the queued kernels have finished
  g_index_checked = false;
  if (rec.launch == 0u) return false;
  CopyToDevice(g_index_record, &kNoIndexError, sizeof kNoIndexError);
  err->check = rec.check;
  err->position = static_cast<std::int64_t>(rec.key >> 32);
  err->value = static_cast<std::int32_t>(static_cast<std::uint32_t>(rec.key));
  err->bound = rec.bound;
  return true;
}

void Check(int status, const char* where) {
  const cudaError_t e = static_cast<cudaError_t>(status);
  if (e == cudaSuccess) return;
  throw CudaError(where, status, Describe(e));
}

void CheckLaunch(const char* kernel) {
  cudaError_t e = cudaGetLastError();
  if (e == cudaSuccess && SyncAfterLaunch()) e = cudaStreamSynchronize(0);
  if (e == cudaSuccess) return;
  std::string msg = Describe(e);
  if (IsStickyFault(e)) {
    msg += " (a kernel faulted; it may be an earlier one: run with NODEGRAD_CUDA_SYNC=1 to name it)";
  }
  throw CudaError(kernel, static_cast<int>(e), msg);
}

const DeviceInfo& Init() {
  std::call_once(g_once, InitOnce);
  if (!g_init_error.empty()) throw CudaError("nodegrad CUDA init", 0, g_init_error);
  if (!t_device_set) {  // another host thread (a worker): select the same device there
    Check(cudaSetDevice(g_info.ordinal), "cudaSetDevice");
    t_device_set = true;
  }
  return g_info;
}

const char* CompiledArchitectures() { return NGCUDA_ARCHS; }

void* Malloc(std::size_t bytes, const char* what) {
  const DeviceInfo& d = Init();
  if (bytes == 0) return nullptr;
  void* p = nullptr;
  const cudaError_t e = d.memory_pools ? cudaMallocAsync(&p, bytes, 0) : cudaMalloc(&p, bytes);
  if (e != cudaSuccess) {
    cudaGetLastError();  // out of memory is not sticky
    throw CudaError(std::string("allocating ") + std::to_string(bytes) + " bytes for " + what, static_cast<int>(e),
                    Describe(e));
  }
  return p;
}

void Free(void* p) {
  if (p == nullptr) return;
  const cudaError_t e = g_info.memory_pools ? cudaFreeAsync(p, 0) : cudaFree(p);
  // At exit the runtime may already be unloading; a finalizer must not throw then.
  if (e == cudaErrorCudartUnloading || e == cudaErrorContextIsDestroyed) {
    cudaGetLastError();
    return;
  }
  Check(e, "cudaFree");
}

void CopyToDevice(void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0) return;
  Init();
  Check(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice), "cudaMemcpy (host to device)");
}

void CopyToHost(void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0) return;
  Init();
  Check(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy (device to host)");
}

void CopyDeviceToDevice(void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0) return;
  Init();
  Check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, 0), "cudaMemcpyAsync (device to device)");
}

void Synchronize() {
  Init();
  Check(cudaStreamSynchronize(0), "cudaStreamSynchronize");
}

void* Scratch(ScratchSlot slot, std::size_t bytes) {
  ScratchBuf& s = g_scratch[slot];
  if (bytes <= s.bytes) return s.p;
  const std::size_t rounded = (bytes + (1u << 20) - 1) & ~static_cast<std::size_t>((1u << 20) - 1);
  void* p = Malloc(rounded, "scratch");
  Free(s.p);  // stream-ordered (or synchronous): kernels already queued finish with the old buffer first
  s.p = p;
  s.bytes = rounded;
  return p;
}

void ReleaseScratch() {
  for (ScratchBuf& s : g_scratch) {
    Free(s.p);
    s.p = nullptr;
    s.bytes = 0;
  }
  if (!g_index_checked) {  // no report can be pending: the record goes too (allocated again when needed)
    Free(g_index_record);
    g_index_record = nullptr;
  }
}

std::size_t ScratchBytes() {
  std::size_t t = 0;
  for (const ScratchBuf& s : g_scratch) t += s.bytes;
  return t;
}

std::size_t ColsBudgetFloats() {
  static const std::size_t floats = [] {
    std::size_t mb = 256;
    if (const char* v = std::getenv("NODEGRAD_CUDA_COLS_MB")) {
      const long x = std::atol(v);
      if (x > 0) mb = static_cast<std::size_t>(x);
    }
    return mb * (1u << 20) / sizeof(float);
  }();
  return floats;
}

bool Tf32Enabled() {
  int v = g_tf32.load();
  if (v < 0) {
    v = EnvFlag("NODEGRAD_CUDA_TF32") ? 1 : 0;
    int expected = -1;
    g_tf32.compare_exchange_strong(expected, v);
    v = g_tf32.load();
  }
  return v == 1;
}

void SetTf32(bool on) { g_tf32.store(on ? 1 : 0); }

}  // namespace ngcuda
