/*
 * nodegrad CUDA backend, host side: errors, the device, the stream and scratch memory every kernel family
 * shares. Plain C++17 (no CUDA types), so the N-API addon and the harness include it with any compiler.
 *
 * Errors: every CUDA call's status and every launch (cudaGetLastError) is checked; a failure throws CudaError,
 * whose message names the kernel or call ("ng_cuda_sgemm_128x128x8_nn: cudaErrorInvalidConfiguration: ...").
 * Kernels run asynchronously, so a fault inside one (an illegal address) is reported by a later call;
 * NODEGRAD_CUDA_SYNC=1 synchronises after every launch so the report names the kernel that faulted.
 *
 * Everything runs in order on one stream (the legacy default stream): a kernel may read what the previous one
 * wrote, and scratch memory is reused call after call without further synchronisation. Not thread-safe: callers
 * serialise (the addon holds one lock per entry, so Node worker threads may share the device).
 */
#ifndef NGCUDA_COMMON_H
#define NGCUDA_COMMON_H

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace ngcuda {

// A failed CUDA call or launch; what() reads "<where>: <cudaError name>: <description>".
class CudaError : public std::runtime_error {
 public:
  CudaError(const std::string& where, int code, const std::string& message)
      : std::runtime_error(where + ": " + message), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

// Throws CudaError naming `where` unless `status` (a cudaError_t) is cudaSuccess.
void Check(int status, const char* where);

// After a launch: cudaGetLastError (bad configuration, missing kernel image...), and with NODEGRAD_CUDA_SYNC=1
// a synchronisation so that a fault inside the kernel is reported under its name.
void CheckLaunch(const char* kernel);

struct DeviceInfo {
  int ordinal = 0;
  std::string name;
  int major = 0, minor = 0;        // compute capability
  int sm_count = 0;
  std::size_t total_memory = 0;    // bytes
  int driver_version = 0;          // e.g. 12040
  int runtime_version = 0;
  bool memory_pools = false;       // cudaMallocAsync available
  std::size_t smem_per_block_optin = 0;
};

// Selects the device (NODEGRAD_CUDA_DEVICE, default 0) on the first call and caches its properties. Throws
// CudaError when there is no usable device or driver. Every other entry calls it.
const DeviceInfo& Init();

// The architectures this library holds code for, e.g. "80;90" (CMAKE_CUDA_ARCHITECTURES at build time).
const char* CompiledArchitectures();

// Device memory (stream-ordered when memory pools exist): Malloc(0) returns nullptr. Free ignores errors once
// the runtime is shutting down (finalizers that run at exit).
void* Malloc(std::size_t bytes, const char* what);
void Free(void* p);

// Copies on the stream, synchronously with respect to the host.
void CopyToDevice(void* dst, const void* src, std::size_t bytes);
void CopyToHost(void* dst, const void* src, std::size_t bytes);
void CopyDeviceToDevice(void* dst, const void* src, std::size_t bytes);
void Synchronize();

// Grow-only device scratch buffers reused across calls, one per slot (slots used at once must differ).
enum ScratchSlot : int {
  kScratchCols = 0,      // im2col / col2im column matrices
  kScratchSplitK = 1,    // split-K partial products of the SGEMM
  kScratchPartials = 2,  // per-block partial sums of reductions (batch norm, reduce, depthwise filter grad)
  kScratchSlotCount = 3
};
void* Scratch(ScratchSlot slot, std::size_t bytes);
// Bytes the scratch buffers hold now.
std::size_t ScratchBytes();
// Frees the scratch buffers (after the queued kernels), and the index-error record unless a checking kernel ran
// since the last TakeIndexError; the next call that needs one allocates it again.
void ReleaseScratch();

// Budget for one im2col column buffer, in floats: NODEGRAD_CUDA_COLS_MB (default 256 MB).
std::size_t ColsBudgetFloats();

// Index checks on the device (PyTorch's device-side asserts, but the kernel goes on and the value is kept): a
// kernel that reads int32 indices (gather, scatterAdd, softmax cross-entropy's labels) reports one outside its range
// into a device-side record and writes NaN into the outputs it affects. The record keeps the first launch that
// reported (later ones leave it alone) and, within it, the smallest flat position, with its value and the bound;
// TakeIndexError reads it at the next read from the GPU. Positions must be below 2^32 (the entries check).
enum IndexCheck : int {
  kCheckGather = 1,              // gather: argument 'indices' in [0, dim)
  kCheckScatterAdd = 2,          // scatterAdd: argument 'indices' in [0, dim), or -1 (skipped)
  kCheckCrossEntropy = 3,        // softmaxCrossEntropy: argument 'labels' in [0, c)
  kCheckCrossEntropyBackward = 4 // softmaxCrossEntropyBackward: argument 'labels' in [0, c)
};
constexpr std::int64_t kMaxCheckedPositions = 4294967296LL;  // 2^32: positions fit the record's 32 bits

struct IndexError {
  int check = 0;               // IndexCheck
  std::int64_t position = 0;   // flat position in the index (label) array
  std::int64_t value = 0;      // the index found there
  std::int64_t bound = 0;      // the valid range is [0, bound)
};
// Waits for the queued kernels and, when one reported a bad index since the last call, fills *err, clears the
// record and returns true. Without a checking launch since the last call it returns false at once.
bool TakeIndexError(IndexError* err);

// SGEMM on tensor cores in TF32 (10-bit mantissa inputs, float32 accumulation) for the conv and matmul
// entries: off unless NODEGRAD_CUDA_TF32=1 or SetTf32(true).
bool Tf32Enabled();
void SetTf32(bool on);

// NumPy broadcasting as the compare, where and binary kernels take it: up to three inputs read at
// sum coord[a] * stride[k][a] for output coordinate coord (stride 0 on broadcast axes).
constexpr int kMaxBroadcastRank = 8;  // NG_MAX_STRIDED_RANK of the CPU addon's plans (nodegrad/movement.h)
struct BroadcastPlan {
  int rank = 0;
  std::int64_t out_shape[kMaxBroadcastRank] = {};
  std::int64_t stride[3][kMaxBroadcastRank] = {};
};

}  // namespace ngcuda

#endif  // NGCUDA_COMMON_H
