#!/usr/bin/env bash
# Builds the optional CUDA backend (`npm run build:cuda`): build-cuda/Release/nodegrad_cuda.node with cmake-js and
# build-cuda/harness, the standalone kernel checker (native/cuda/test/run-on-gpu.sh runs it). No GPU is needed to
# build, only the CUDA toolkit (nvcc) and cmake; without nvcc this says so and stops cleanly (exit 0), and nodegrad
# keeps running on the CPU backend.
#
# Environment: CMAKE_CUDA_ARCHITECTURES (default "80;90", e.g. "90" or "80;86;89;90"), CUDACXX (the nvcc to use),
# NODEGRAD_CUDA_HARNESS=0 (skip the harness), NODEGRAD_BUILD_JOBS (parallel jobs, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."

nvcc="${CUDACXX:-$(command -v nvcc || true)}"
if [ -z "$nvcc" ] && [ -x /usr/local/cuda/bin/nvcc ]; then nvcc=/usr/local/cuda/bin/nvcc; fi
if [ -z "$nvcc" ] || [ ! -x "$nvcc" ]; then
  echo "nodegrad: nvcc not found (install the CUDA toolkit or set CUDACXX); CUDA backend build skipped, the CPU backend is unaffected"
  exit 0
fi
if ! command -v cmake >/dev/null 2>&1; then
  echo "nodegrad: cmake not found; it is needed to build the CUDA backend (apt install cmake, or pip install cmake)" >&2
  exit 1
fi
export CUDACXX="$nvcc"
echo "nodegrad: building the CUDA backend with $("$nvcc" --version | tail -n 2 | head -n 1) for architectures ${CMAKE_CUDA_ARCHITECTURES:-80;90}"

cmakejs=node_modules/cmake-js/bin/cmake-js
args=(build -d native/cuda -O build-cuda -p "${NODEGRAD_BUILD_JOBS:-2}")
if [ -n "${CMAKE_CUDA_ARCHITECTURES:-}" ]; then args+=("--CDCMAKE_CUDA_ARCHITECTURES=${CMAKE_CUDA_ARCHITECTURES}"); fi
if [ "${NODEGRAD_CUDA_HARNESS:-1}" = "0" ]; then args+=("--CDNGCUDA_BUILD_HARNESS=OFF"); fi
if [ -f "$cmakejs" ]; then
  node "$cmakejs" "${args[@]}"
else
  npx --no-install cmake-js "${args[@]}"
fi

addon=build-cuda/Release/nodegrad_cuda.node
[ -f "$addon" ] && echo "nodegrad: built $addon ($(du -h "$addon" | cut -f1))"
if [ -f build-cuda/harness ]; then
  echo "nodegrad: built build-cuda/harness ($(du -h build-cuda/harness | cut -f1)); on a GPU machine: bash native/cuda/test/run-on-gpu.sh"
fi
