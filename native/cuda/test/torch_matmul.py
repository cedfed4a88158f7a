#!/usr/bin/env python3
"""The peer for the SGEMM bar: torch.matmul (cuBLAS) on an N x N x N float32 product with TF32 off, timed as the
harness times ours (CUDA events, median of 20 runs after 2 warm-ups). Prints one line:
    torch.matmul 4096x4096x4096 fp32 (TF32 off)  <ms> ms  <GFLOP/s> GFLOP/s  [<device>, torch <version>]
Usage: python3 native/cuda/test/torch_matmul.py [N]
"""
import sys

try:
    import torch
except ImportError:
    print("torch.matmul: skipped (PyTorch is not installed)")
    sys.exit(0)

if not torch.cuda.is_available():
    print("torch.matmul: skipped (torch.cuda.is_available() is False)")
    sys.exit(0)

n = int(sys.argv[1]) if len(sys.argv) > 1 else 4096
torch.backends.cuda.matmul.allow_tf32 = False  # FP32 on both sides, as the bar says
torch.backends.cudnn.allow_tf32 = False
torch.set_float32_matmul_precision("highest")
dev = torch.device("cuda")
a = torch.randn(n, n, device=dev, dtype=torch.float32)
b = torch.randn(n, n, device=dev, dtype=torch.float32)
c = torch.empty(n, n, device=dev, dtype=torch.float32)
for _ in range(2):
    torch.matmul(a, b, out=c)
torch.cuda.synchronize()
times = []
for _ in range(20):
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    start.record()
    torch.matmul(a, b, out=c)
    end.record()
    end.synchronize()
    times.append(start.elapsed_time(end))
times.sort()
ms = times[len(times) // 2]
print(f"torch.matmul {n}x{n}x{n} fp32 (TF32 off)  {ms:.3f} ms  {2.0 * n ** 3 / (ms * 1e6):.1f} GFLOP/s  "
      f"[{torch.cuda.get_device_name(0)}, torch {torch.__version__}]")
