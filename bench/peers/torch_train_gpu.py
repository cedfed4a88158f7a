#!/usr/bin/env python3
"""PyTorch on the GPU: the anchors' W1 and W2 training and inference steps (../shared/anchors/peers_torch.py: the
same models, optimizers and loss), on cuda, as the peer of `node bench/train.js --device cuda`.

  python3 bench/peers/torch_train_gpu.py [--only W1,W2] [--batch W2=128] [--layouts nchw,cl] [--anchors DIR]

FP32 throughout: TF32 off for matmul and cuDNN, cudnn.benchmark on (cuDNN picks its fastest algorithm per shape
during the warm-up). Each step is timed between torch.cuda.synchronize() calls, so it includes all the GPU work
it queued; 10 warm-up steps, then >= 20 timed steps until 2 s (at most 200); median. The batch stays on the GPU
(nodegrad uploads its batch every step, as fit() does: this peer is the stricter comparison).
Prints one 'RESULT {json}' line per measurement (w, peer, device, gpu, variant, batch, median_ms, min_ms, max_ms, iters).
"""
import argparse, importlib.util, json, os, statistics, time

import torch
import torch.nn.functional as F


def load_anchors(directory):
    """The anchors' model definitions (MODELS: name -> (constructor, NCHW input shape, optimizer))."""
    spec = importlib.util.spec_from_file_location("peers_torch", os.path.join(directory, "peers_torch.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.MODELS


def bench(fn, warmup=10, min_iters=20, max_iters=200, min_time=2.0):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    ts, start = [], time.perf_counter()
    while len(ts) < min_iters or (time.perf_counter() - start < min_time and len(ts) < max_iters):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        ts.append((time.perf_counter() - t0) * 1e3)
    return dict(median_ms=statistics.median(ts), min_ms=min(ts), max_ms=max(ts), iters=len(ts))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="W1,W2")
    ap.add_argument("--batch", default="", help="batch sizes by workload, e.g. W2=128 (default: the anchors')")
    ap.add_argument("--layouts", default="nchw,cl", help="nchw, cl (channels_last) or both")
    ap.add_argument("--anchors", default=os.environ.get("NODEGRAD_ANCHORS_DIR", os.path.join(here, "..", "..", "..", "shared", "anchors")))
    a = ap.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("torch_train_gpu: torch.cuda.is_available() is False")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    models = load_anchors(a.anchors)
    batches = {k: int(v) for k, v in (p.split("=") for p in a.batch.split(",") if p)}
    dev = torch.device("cuda")
    gpu = torch.cuda.get_device_name(0)
    for name in [w.strip().upper() for w in a.only.split(",") if w.strip()]:
        ctor, shape, make_opt = models[name]
        shape = (batches.get(name, shape[0]),) + tuple(shape[1:])
        for cl in [l.strip() == "cl" for l in a.layouts.split(",") if l.strip()]:
            fmt = torch.channels_last if cl else torch.contiguous_format
            torch.manual_seed(0)
            model = ctor().to(dev, memory_format=fmt)
            x = torch.randn(shape, device=dev).contiguous(memory_format=fmt)
            y = torch.randint(0, 10, (shape[0],), device=dev)
            opt = make_opt(model.parameters())

            def step():
                opt.zero_grad(set_to_none=True)
                loss = F.cross_entropy(model(x), y)
                loss.backward()
                opt.step()

            def infer():
                with torch.inference_mode():
                    return F.softmax(model(x), dim=1)

            common = dict(peer="torch", version=torch.__version__, device="cuda", gpu=gpu,
                          variant="channels_last" if cl else "NCHW", batch=shape[0])
            model.train()
            print("RESULT " + json.dumps(dict(w=f"{name}.train", **common, **bench(step))), flush=True)
            model.eval()
            print("RESULT " + json.dumps(dict(w=f"{name}.infer", **common, **bench(infer))), flush=True)


if __name__ == "__main__":
    main()
