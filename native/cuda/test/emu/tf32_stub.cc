// The TF32 tensor-core kernel is not emulated: the emulated device reports sm_75, so Sgemm never asks for it.
#include <stdexcept>

#include "../../kernels/gemm_internal.cuh"

namespace ngcuda {

const char* Tf32KernelName(bool, bool, bool) { return "ng_cuda_sgemm_tf32_wmma (not emulated)"; }

void LaunchSgemmTf32(const GemmDev&, bool, bool, bool, dim3) {
  throw std::logic_error("the TF32 kernel is not emulated");
}

}  // namespace ngcuda
