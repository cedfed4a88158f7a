#!/usr/bin/env python3
"""PyTorch SGEMM peer for bench/run.js: C = A @ B, float32, M = N = K = size, a fresh output per call (as
nodegrad's matmul). Same timing protocol as ../shared/anchors/peers_torch.py (3 warm-up calls, then >= 10
timed calls, more until 2 s have passed, at most 100; median, min, max in ms).

  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/peers/torch_sgemm.py --threads 1 --sizes 256,512

Debian's torch runs matmul on the pthread OpenBLAS, whose pool ignores torch.set_num_threads: the caller pins
OPENBLAS_NUM_THREADS (bench/peers.js does). Prints one 'RESULT {json}' line per size (w = "sgemm.<size>").
"""
import argparse, json, os, statistics, sys, time

import torch


def bench(fn, min_iters=10, max_iters=100, min_time=2.0, warmup=3):
    for _ in range(warmup):
        fn()
    ts, start = [], time.perf_counter()
    while len(ts) < min_iters or (time.perf_counter() - start < min_time and len(ts) < max_iters):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1e3)
    return dict(median_ms=statistics.median(ts), min_ms=min(ts), max_ms=max(ts), iters=len(ts))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sizes", default="256,512,1024,2048")
    ap.add_argument("--min-time", type=float, default=2.0)
    a = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        if os.environ.get(var) != str(a.threads):
            print(f"# warning: {var}={os.environ.get(var)} but --threads {a.threads}", file=sys.stderr)
    torch.set_num_threads(a.threads)
    g = torch.Generator().manual_seed(0)
    for n in (int(s) for s in a.sizes.split(",") if s):
        x = torch.rand((n, n), generator=g) * 2 - 1
        y = torch.rand((n, n), generator=g) * 2 - 1
        r = bench(lambda: torch.matmul(x, y), min_time=a.min_time)
        print("RESULT " + json.dumps(dict(w=f"sgemm.{n}", peer="torch", version=torch.__version__,
                                          variant="torch.matmul", threads=a.threads, **r)), flush=True)
