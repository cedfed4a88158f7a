#!/usr/bin/env bash
# Everything issue 7 still needs a GPU for, in one command, on a machine with an NVIDIA GPU (H100/H200), the CUDA
# toolkit (nvcc, compute-sanitizer) and, for the peer timing, PyTorch:
#   bash native/cuda/test/run-on-gpu.sh        (logs in build-cuda/gpu-run/, exit 1 if any check fails)
# Steps, also runnable one by one:
#   1. build:       CMAKE_CUDA_ARCHITECTURES="80;90" bash scripts/build-cuda.sh
#   2. harness:     build-cuda/harness                              (every kernel vs the CPU reference, PASS/FAIL)
#   3. sanitizers:  compute-sanitizer --tool memcheck  --leak-check full --error-exitcode 1 build-cuda/harness --quick
#                   compute-sanitizer --tool racecheck --racecheck-report all --error-exitcode 1 build-cuda/harness --quick
#                   compute-sanitizer --tool synccheck --error-exitcode 1 build-cuda/harness --quick
#                   compute-sanitizer --tool initcheck --error-exitcode 1 build-cuda/harness --quick
#   4. timings:     build-cuda/harness --bench                       (SGEMM 4096^3 GFLOP/s, conv passes)
#                   python3 native/cuda/test/torch_matmul.py 4096    (cuBLAS through torch.matmul, TF32 off)
#                   the SGEMM bar: ours / torch >= 0.60 (printed below)
#   5. node tests:  npx vitest run test/cuda/cuda.test.ts            (loader, buffers, kernels vs the reference)
# The harness fills its buffers with 0xA5 bytes (guards and unwritten outputs), so initcheck watches the kernels'
# own scratch (im2col columns, split-K and reduction partials): read before written would be a bug.
set -uo pipefail
cd "$(dirname "$0")/../../.."
out=${NODEGRAD_GPU_RUN_DIR:-build-cuda/gpu-run}
mkdir -p "$out"
status=0
step() { echo; echo "=== $1"; }
run() {  # run <log name> <command...>: tee to the log, remember a failure
  local log="$out/$1"; shift
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ]; then echo "!!! $* exited with $rc"; status=1; fi
  return 0
}

step "device"
run nvidia-smi.txt nvidia-smi
command -v nvcc >/dev/null 2>&1 || export PATH=/usr/local/cuda/bin:$PATH
run nvcc.txt nvcc --version

step "1. build (architectures ${CMAKE_CUDA_ARCHITECTURES:-80;90})"
NODEGRAD_BUILD_JOBS=${NODEGRAD_BUILD_JOBS:-$(nproc)} run build.txt bash scripts/build-cuda.sh
if [ ! -x build-cuda/harness ]; then echo "no harness was built; stopping"; exit 1; fi

step "2. harness"
run harness.txt build-cuda/harness

step "3. compute-sanitizer"
if command -v compute-sanitizer >/dev/null 2>&1; then
  run memcheck.txt compute-sanitizer --tool memcheck --leak-check full --error-exitcode 1 build-cuda/harness --quick
  run racecheck.txt compute-sanitizer --tool racecheck --racecheck-report all --error-exitcode 1 build-cuda/harness --quick
  run synccheck.txt compute-sanitizer --tool synccheck --error-exitcode 1 build-cuda/harness --quick
  run initcheck.txt compute-sanitizer --tool initcheck --error-exitcode 1 build-cuda/harness --quick
else
  echo "compute-sanitizer not found (it ships with the CUDA toolkit: /usr/local/cuda/bin)"; status=1
fi

step "4. timings"
run bench.txt build-cuda/harness --bench
run torch.txt python3 native/cuda/test/torch_matmul.py 4096
ours=$(awk '/sgemm 4096x4096x4096 NN fp32/ { for (i = 1; i <= NF; i++) if ($i == "GFLOP/s") print $(i-1) }' "$out/bench.txt" | head -n 1)
peer=$(awk '/torch.matmul 4096x4096x4096/ { for (i = 1; i <= NF; i++) if ($i == "GFLOP/s") print $(i-1) }' "$out/torch.txt" | head -n 1)
if [ -n "$ours" ] && [ -n "$peer" ]; then
  awk -v o="$ours" -v p="$peer" 'BEGIN { r = o / p; printf "SGEMM 4096^3 FP32: ours %.1f GFLOP/s, torch.matmul %.1f GFLOP/s: %.0f%% (bar: 60%%) %s\n", o, p, 100 * r, (r >= 0.6 ? "MET" : "NOT MET") }' | tee "$out/sgemm-bar.txt"
fi

step "5. node tests"
if [ -d node_modules ]; then
  run vitest.txt npx vitest run test/cuda/cuda.test.ts
else
  echo "node_modules missing: run npm ci first for the Node tests"
fi

echo
echo "logs in $out; $( [ $status -eq 0 ] && echo 'all steps passed' || echo 'SOME STEPS FAILED')"
exit $status
