#!/usr/bin/env bash
# Everything issue 7 still needs a GPU for, in one command, on a machine with an NVIDIA GPU (H100/H200), its driver
# and, for the peers, PyTorch; a bare one (no Node.js, no cmake) works from the kit of scripts/gpu-kit.sh:
#   bash native/cuda/test/run-on-gpu.sh [step...]      steps: tests train sgemm harness sanitize (default: all)
# Logs in $NODEGRAD_GPU_RUN_DIR, else $OUT/gpu-run when $OUT is set (the device tool brings $OUT back), else
# build-cuda/gpu-run; exit 1 if any check fails (a bar NOT MET is reported, not a failure). Always first:
#   kit:         build-gpu-kit/ present: bash scripts/gpu-kit.sh unpack (node, node_modules, dist/, the addons),
#                and the kit's node first on PATH
#   build:       the CUDA addon loads and sees the GPU: kept; else rebuilt for this GPU's architecture with
#                scripts/build-cuda.sh (cmake) or, without cmake, bash scripts/gpu-kit.sh build-cuda <arch> (nvcc)
# Steps, also runnable one by one:
#   tests:       vitest --project default test/cuda (loader, buffers, kernels vs the reference), then
#                vitest --project props-cuda (test/props against the CUDA backend, test/helpers/backends.ts)
#   train:       node bench/train.js --device cuda (W1 batch 64, W2 batch $NODEGRAD_W2_BATCH, default 128) with
#                bench/peers/torch_train_gpu.py, then --device cpu --threads $(nproc) on the same machine; the bars
#                (bench/train/gpu-bars.js): within 2x of torch on the GPU, >= 10x our CPU backend
#   sgemm:       build-cuda/harness --bench (SGEMM 4096^3 GFLOP/s, conv passes) and native/cuda/test/torch_matmul.py
#                4096 (cuBLAS, TF32 off); the bar: ours / torch >= 0.60
#   harness:     build-cuda/harness (every kernel vs the CPU reference, PASS/FAIL)
#   sanitize:    compute-sanitizer memcheck (--leak-check full), racecheck, synccheck, initcheck on harness --quick
# The harness fills its buffers with 0xA5 bytes (guards and unwritten outputs), so initcheck watches the kernels'
# own scratch (im2col columns, split-K and reduction partials): read before written would be a bug.
set -uo pipefail
cd "$(dirname "$0")/../../.."
out=${NODEGRAD_GPU_RUN_DIR:-${OUT:+$OUT/gpu-run}}
out=${out:-build-cuda/gpu-run}
mkdir -p "$out"
steps=" ${*:-tests train sgemm harness sanitize} "
want() { [[ "$steps" == *" $1 "* ]]; }
status=0
step() { echo; echo "=== $1"; }
run() {  # run <log name> <command...>: tee to the log, remember a failure
  local log="$out/$1"; shift
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ]; then echo "!!! $* exited with $rc"; status=1; fi
  return 0
}
python=${NODEGRAD_PYTHON:-python3}

step "device"
run nvidia-smi.txt nvidia-smi
command -v nvcc >/dev/null 2>&1 || export PATH=/usr/local/cuda/bin:$PATH
if command -v nvcc >/dev/null 2>&1; then run nvcc.txt nvcc --version; else echo "no nvcc (fine while the kit's CUDA addon loads)"; fi

if [ -d build-gpu-kit ]; then
  step "kit"
  run kit.txt bash scripts/gpu-kit.sh unpack
  export PATH="$PWD/.gpu-kit/bin:$PATH"
  export NODEGRAD_ANCHORS_DIR=${NODEGRAD_ANCHORS_DIR:-$PWD/build-gpu-kit/anchors}
fi
command -v node >/dev/null 2>&1 || echo "no node and no build-gpu-kit/: the Node steps will fail (bash scripts/gpu-kit.sh pack, carry build-gpu-kit)"

step "build"
# Why the CUDA addon cannot be used here (nothing when it loads and sees a GPU).
addon_problem() {
  node -e 'try { const p = require("./build-cuda/Release/nodegrad_cuda.node").probe(); if (!p.ok) console.log(p.reason); }
           catch (e) { console.log(e.message.split("\n")[0]); }' 2>&1
}
why=$(addon_problem)
if [ -z "$why" ] && [ -x build-cuda/harness ]; then
  echo "build-cuda/Release/nodegrad_cuda.node loads and sees the GPU: not rebuilt"
else
  echo "rebuilding: ${why:-no harness}"
  arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d '. ')
  if command -v cmake >/dev/null 2>&1 && { command -v ninja || command -v make; } >/dev/null 2>&1; then
    CMAKE_CUDA_ARCHITECTURES=${CMAKE_CUDA_ARCHITECTURES:-${arch:-80;90}} NODEGRAD_BUILD_JOBS=$(nproc) \
      run build.txt bash scripts/build-cuda.sh
  else
    run build.txt bash scripts/gpu-kit.sh build-cuda "${arch:-90}"
  fi
  why=$(addon_problem)
  if [ -n "$why" ]; then echo "!!! the CUDA addon still cannot be used: $why"; status=1; fi
fi

if want tests; then
  step "tests: test/cuda, then test/props against the CUDA backend"
  run vitest-cuda.txt node node_modules/vitest/vitest.mjs run --project default test/cuda
  run vitest-props-cuda.txt node node_modules/vitest/vitest.mjs run --project props-cuda
fi

if want train; then
  step "train: W1 and W2 steps on cuda (with torch on the GPU), then on this machine's CPU"
  w2=${NODEGRAD_W2_BATCH:-128}
  rm -f "$out/train-cuda.json" "$out/train-cpu.json"
  run train-cuda.txt node bench/train.js --device cuda --only W1,W2 --batch "W2=$w2" --no-profile --no-lag --json "$out/train-cuda.json"
  run train-cpu.txt node bench/train.js --device cpu --threads "$(nproc)" --only W1,W2 --batch "W2=$w2" --no-peers --no-profile \
    --no-lag --json "$out/train-cpu.json"
  run train-bars.txt node bench/train/gpu-bars.js "$out/train-cuda.json" "$out/train-cpu.json"
fi

if want sgemm; then
  step "sgemm: timings"
  rm -f "$out/sgemm-bar.txt"
  run bench.txt build-cuda/harness --bench
  run torch.txt "$python" native/cuda/test/torch_matmul.py 4096
  ours=$(awk '/sgemm 4096x4096x4096 NN fp32/ { for (i = 1; i <= NF; i++) if ($i == "GFLOP/s") print $(i-1) }' "$out/bench.txt" | head -n 1)
  peer=$(awk '/torch.matmul 4096x4096x4096/ { for (i = 1; i <= NF; i++) if ($i == "GFLOP/s") print $(i-1) }' "$out/torch.txt" | head -n 1)
  if [ -n "$ours" ] && [ -n "$peer" ]; then
    awk -v o="$ours" -v p="$peer" 'BEGIN { r = o / p; printf "SGEMM 4096^3 FP32: ours %.1f GFLOP/s, torch.matmul %.1f GFLOP/s: %.0f%% (bar: 60%%) %s\n", o, p, 100 * r, (r >= 0.6 ? "MET" : "NOT MET") }' | tee "$out/sgemm-bar.txt"
  fi
fi

if want harness; then
  step "harness"
  run harness.txt build-cuda/harness
fi

if want sanitize; then
  step "compute-sanitizer"
  if command -v compute-sanitizer >/dev/null 2>&1; then
    run memcheck.txt compute-sanitizer --tool memcheck --leak-check full --error-exitcode 1 build-cuda/harness --quick
    run racecheck.txt compute-sanitizer --tool racecheck --racecheck-report all --error-exitcode 1 build-cuda/harness --quick
    run synccheck.txt compute-sanitizer --tool synccheck --error-exitcode 1 build-cuda/harness --quick
    run initcheck.txt compute-sanitizer --tool initcheck --error-exitcode 1 build-cuda/harness --quick
  else
    echo "compute-sanitizer not found (it ships with the CUDA toolkit: /usr/local/cuda/bin)"; status=1
  fi
fi

echo
if want sgemm; then cat "$out/sgemm-bar.txt" 2>/dev/null || echo "SGEMM bar: not measured (see bench.txt, torch.txt)"; fi
if want train; then cat "$out/train-bars.txt"; fi
echo "logs in $out; $( [ $status -eq 0 ] && echo 'all steps passed' || echo 'SOME STEPS FAILED')"
exit $status
