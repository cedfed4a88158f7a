#!/usr/bin/env python3
"""PyTorch batch norm peer on channels_last for bench/run.js: W3.bn_train (nn.BatchNorm2d(64), training mode) on
x [8, 64, 56, 56] in torch.channels_last, the memory layout of nodegrad's NHWC [8, 56, 56, 64]. The anchors'
peers_torch.py times batch norm in NCHW only; this script is its bn_train workload unchanged but for the layout
(same module, same forward and backward definitions, same timing protocol: 3 warm-up calls, then >= 10 timed
calls, more until --min-time seconds have passed, at most 100; median, min, max in ms).

  OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/peers/torch_bn_cl.py --threads 2

fwd: m(x) under no_grad in training mode (batch statistics, running statistics updated), as the anchors.
bwd: y = m(x) built untimed, then y.backward(dy) timed (dx, dgamma, dbeta), dy channels_last too.
Prints one 'RESULT {json}' line per pass (w = "W3.bn_train.fwd" / ".bwd", variant "channels_last"), and a
'#' line saying whether torch kept the output channels_last (a silent NCHW fallback would time the wrong layout).
"""
import argparse, json, os, statistics, sys, time

import torch
import torch.nn as nn


def bench(fn, setup=None, min_iters=10, max_iters=100, min_time=2.0, warmup=3):
    """Median/min/max ms of fn(); setup() (untimed) runs before every call if given."""
    for _ in range(warmup):
        if setup: setup()
        fn()
    ts, start = [], time.perf_counter()
    while len(ts) < min_iters or (time.perf_counter() - start < min_time and len(ts) < max_iters):
        if setup: setup()
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1e3)
    return dict(median_ms=statistics.median(ts), min_ms=min(ts), max_ms=max(ts), iters=len(ts))


def emit(**kw):
    print("RESULT " + json.dumps(dict(kw, version=torch.__version__)), flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--min-time", type=float, default=2.0)
    a = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        if os.environ.get(var) != str(a.threads):
            print(f"# warning: {var}={os.environ.get(var)} but --threads {a.threads}", file=sys.stderr)
    torch.set_num_threads(a.threads)
    cl = torch.channels_last
    torch.manual_seed(0)
    m = nn.BatchNorm2d(64).to(memory_format=cl)
    m.train()
    x = torch.randn((8, 64, 56, 56)).contiguous(memory_format=cl)
    with torch.no_grad():
        y0 = m(x)
        dy = torch.randn(y0.shape).contiguous(memory_format=cl)
    print(f"# torch {torch.__version__} threads={torch.get_num_threads()} bn output channels_last="
          f"{y0.is_contiguous(memory_format=cl)}", flush=True)

    def fwd():
        with torch.no_grad():
            return m(x)

    emit(w="W3.bn_train.fwd", peer="torch", variant="channels_last", threads=a.threads, **bench(fwd, min_time=a.min_time))
    xg = x.clone().requires_grad_(True)
    state = {}

    def setup():
        xg.grad = None
        for p in m.parameters(): p.grad = None
        state["y"] = m(xg)

    def bwd():
        state["y"].backward(dy)

    emit(w="W3.bn_train.bwd", peer="torch", variant="channels_last", threads=a.threads,
         **bench(bwd, setup=setup, min_time=a.min_time))
    if not xg.grad.is_contiguous(memory_format=cl):
        print("# warning: dx came back in NCHW, not channels_last", file=sys.stderr)
