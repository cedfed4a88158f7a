#!/usr/bin/env bash
# Builds and runs the harness with the CUDA kernels emulated on the CPU (native/cuda/test/emu: one fiber per CUDA
# thread, blocks one after another), for machines without a GPU: it checks the kernels' index arithmetic, tails,
# barriers and the harness itself against the CPU reference. Not a substitute for the GPU run (no timing, no real
# memory model, no TF32 path): native/cuda/test/run-on-gpu.sh is.
#   bash native/cuda/test/emulate.sh [harness arguments, e.g. --filter conv]
set -euo pipefail
cd "$(dirname "$0")/../../.."
out=build-cuda/emu
mkdir -p "$out"
kernels=(common gemm im2col conv dwconv pool batchnorm eltwise reduce softmax optim movement select dropout)
srcs=()
for k in "${kernels[@]}"; do srcs+=("native/cuda/kernels/$k.cu"); done
cpu=(native/runtime/*.cc native/dispatch/*.cc native/kernels/ref/*.cc)
flags=(-std=c++20 -O2 -g -ffp-contract=off -fno-math-errno -DNGCUDA_EMULATE '-DNGCUDA_ARCHS="emulated"'
       -Inative/cuda/test/emu -Inative/cuda/include -Inative/include -Inative)
objs=()
# One object per file, rebuilt when older than its source (a small make).
for f in "${srcs[@]}" native/cuda/test/harness.cu native/cuda/test/emu/emu.cc native/cuda/test/emu/tf32_stub.cc "${cpu[@]}"; do
  o="$out/$(echo "$f" | tr '/' '_').o"
  objs+=("$o")
  if [ ! -f "$o" ] || [ "$f" -nt "$o" ] || [ native/cuda/test/emu/cuda_runtime.h -nt "$o" ] || \
     [ -n "$(find native/cuda/include native/cuda/kernels -newer "$o" -name '*.h' -o -newer "$o" -name '*.cuh' | head -n 1)" ]; then
    g++ "${flags[@]}" -x c++ -c "$f" -o "$o" -Wno-unknown-pragmas
  fi
done
g++ -o "$out/harness" "${objs[@]}" -lpthread
exec "$out/harness" "$@"
