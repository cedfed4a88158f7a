#!/usr/bin/env python3
"""The PyTorch half of the W1 parity run (bench/parity/w1.js starts it; see bench/parity/README.md).

  /usr/bin/python3 bench/parity/w1_torch.py --dir DIR [--steps 50] [--batch 64] [--lr 1e-3]

Reads, from DIR (written by w1.js with nodegrad's own writers):
  init.safetensors   nodegrad's initial weights (saveWeights): conv kernels HWIO [KH,KW,Cin,Cout], dense kernel
                     [in,out] with NHWC flatten order, biases
  data.safetensors   x [N,28,28,1] float32 (NHWC), y [N] int32; batch s = samples [s*batch, (s+1)*batch)
  names.json         the 8 variable names in model order (conv kernel, conv bias, ..., dense kernel, dense bias)
Trains the anchors' W1 model (the definition of ../shared/anchors/peers_torch.py mnist_convnet, repeated here so
the run needs no anchors folder) from those weights on those batches, in several variants, and writes
  out.safetensors    final weights per variant, mapped back to nodegrad's layout and names ('<variant>/<name>')
and prints one JSON line: {"torch": version, "variants": {name: {"losses": [...], "dtype": ...}}, "teacher": {...}}.

Teacher forcing (when DIR/traj.safetensors exists: nodegrad's weights before every step, 'w<s>/<name>', and its
gradients of that step, 'g<s>/<name>'): for every step s, torch computes loss and gradients of batch s from
nodegrad's own weights w<s>, in float64 (the reference) and in float32. This compares one step at a time, along
nodegrad's trajectory, so nothing accumulates: per step, the loss difference and per variable
max|g_nodegrad - g_f64| / max|g_f64| (and the same for torch float32, as the yardstick).

Variants:
  keras_f32      float32 model; the optimizer step is nodegrad's Adam (src/optim/adam.ts) written out: Keras's
                 formula (epsilon-hat 1e-7 added to sqrt(v), bias correction folded into the step size) and
                 nodegrad's arithmetic (each element computed in float64 from the float32 slots, stored rounded
                 to float32 once). Differences from nodegrad then come from the forward/backward kernels only.
  keras_f64      the same in float64 throughout (model, data, optimizer): the reference trajectory, against
                 which both float32 runs' rounding is measured.
  keras_f32_ulp1, keras_f32_ulp2
                 keras_f32 from initial weights moved by -1/0/+1 ulp at random (seeds 1, 2): float32 runs as
                 legitimate as keras_f32; with it, their distance from keras_f64 shows how far rounding-level
                 differences carry on this trajectory (the "float32 envelope").
  torch_eps1e-7  float32, torch.optim.Adam(lr, eps=1e-7): torch's own formula, epsilon outside the bias
                 correction (sqrt(v)/sqrt(1-b2^t) + eps), i.e. Keras's eps-hat = eps*sqrt(1-b2^t).
  torch_default  float32, torch.optim.Adam(lr) (eps 1e-8).

Layout mapping (nodegrad -> torch): conv HWIO -> OIHW is permute(3, 2, 0, 1); dense [in,out] -> [out,in] is the
transpose, and its rows are permuted from NHWC flatten order (index (h*3+w)*128+c) to torch's NCHW flatten
order (index c*9+h*3+w), so the torch model is the anchors' unchanged (nn.Flatten on NCHW activations).
"""
import argparse, json, os, struct, sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    dt = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        out[name] = np.frombuffer(data[b:e], dtype=dt[info["dtype"]]).reshape(info["shape"]).copy()
    return out


def write_safetensors(path, tensors):
    names = sorted(tensors)
    header, off, blobs = {}, 0, []
    for name in names:
        a = np.ascontiguousarray(tensors[name])
        code = {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64"}[a.dtype]
        b = a.tobytes()
        header[name] = {"dtype": code, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def mnist_convnet():  # = ../shared/anchors/peers_torch.py mnist_convnet (logits out)
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 3 * 128, 10))


CONVS = [0, 3, 6]  # torch module indices of the conv layers, in order
DENSE = 9
FLAT_HWC = (3, 3, 128)


def nodegrad_names(path):
    """Variable names in model order (names.json, from w1.js): [(kernel, bias)] for the 3 convs and the dense."""
    with open(path) as f:
        names = json.load(f)
    assert len(names) == 8, names
    return [(names[i], names[i + 1]) for i in range(0, 8, 2)]


def dense_rows_nhwc_to_nchw(k):
    """[in,out] kernel, rows in NHWC flatten order -> [out,in] torch weight, columns in NCHW flatten order."""
    h, w, c = FLAT_HWC
    return k.reshape(h, w, c, -1).transpose(2, 0, 1, 3).reshape(h * w * c, -1).T


def dense_back(wt):
    h, w, c = FLAT_HWC
    return wt.T.reshape(c, h, w, -1).transpose(1, 2, 0, 3).reshape(h * w * c, -1)


def load_into(model, init, names, dtype):
    with torch.no_grad():
        for idx, (kn, bn) in zip(CONVS, names[:3]):
            model[idx].weight.copy_(torch.from_numpy(init[kn].transpose(3, 2, 0, 1).copy()).to(dtype))
            model[idx].bias.copy_(torch.from_numpy(init[bn]).to(dtype))
        kn, bn = names[3]
        model[DENSE].weight.copy_(torch.from_numpy(np.ascontiguousarray(dense_rows_nhwc_to_nchw(init[kn]))).to(dtype))
        model[DENSE].bias.copy_(torch.from_numpy(init[bn]).to(dtype))


def export(model, names, prefix, out):
    for idx, (kn, bn) in zip(CONVS, names[:3]):
        out[f"{prefix}/{kn}"] = model[idx].weight.detach().numpy().transpose(2, 3, 1, 0).copy()
        out[f"{prefix}/{bn}"] = model[idx].bias.detach().numpy().copy()
    kn, bn = names[3]
    out[f"{prefix}/{kn}"] = np.ascontiguousarray(dense_back(model[DENSE].weight.detach().numpy()))
    out[f"{prefix}/{bn}"] = model[DENSE].bias.detach().numpy().copy()


class KerasAdam:
    """nodegrad's Adam (src/optim/adam.ts), element for element:
         alpha = lr * sqrt(1 - b2^t) / (1 - b1^t)
         m = m + (g - m) * (1 - b1);  v = v + (g*g - v) * (1 - b2)     (float64 from the float32 slots)
         w = w - alpha * m / (sqrt(v) + eps)                              (the float64 m, v; stored as float32)
       With a float64 model every quantity stays float64 (the reference trajectory)."""

    def __init__(self, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-7):
        self.params = list(params)
        self.lr, self.b1, self.b2, self.eps, self.t = lr, b1, b2, eps, 0
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    @torch.no_grad()
    def step(self):
        self.t += 1
        t, b1, b2 = self.t, self.b1, self.b2
        alpha = self.lr * (1 - b2 ** t) ** 0.5 / (1 - b1 ** t)
        c1, c2 = 1 - b1, 1 - b2
        for p, m, v in zip(self.params, self.m, self.v):
            g = p.grad.double()
            mi = m.double() + (g - m.double()) * c1
            vi = v.double() + (g * g - v.double()) * c2
            m.copy_(mi)  # rounds to the slot's dtype
            v.copy_(vi)
            p.copy_(p.double() - alpha * mi / (vi.sqrt() + self.eps))

    def zero_grad(self):
        for p in self.params:
            p.grad = None


def ulp_perturbed(init, seed):
    """Every float32 weight moved by -1, 0 or +1 ulp at random (seeded): a rounding-level change of the start."""
    rng = np.random.default_rng(seed)
    out = {}
    for k, a in init.items():
        step = rng.integers(-1, 2, size=a.shape)
        out[k] = np.where(step > 0, np.nextafter(a, np.float32(np.inf)), np.where(step < 0, np.nextafter(a, np.float32(-np.inf)), a)).astype(np.float32)
    return out


def train(init, names, x, y, steps, batch, lr, dtype, make_opt, channels_last=False):
    torch.manual_seed(0)
    model = mnist_convnet().to(dtype)
    load_into(model, init, names, dtype)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    model.train()
    opt = make_opt(model.parameters())
    xs = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous().to(dtype)  # NHWC -> NCHW (C = 1: same bytes)
    if channels_last:
        xs = xs.contiguous(memory_format=torch.channels_last)
    ys = torch.from_numpy(y.astype(np.int64))
    losses = []
    for s in range(steps):
        xb, yb = xs[s * batch:(s + 1) * batch], ys[s * batch:(s + 1) * batch]
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        losses.append(float(loss))
        loss.backward()
        opt.step()
    return model, losses


def grads_nodegrad_layout(model, names):
    out = {}
    for idx, (kn, bn) in zip(CONVS, names[:3]):
        out[kn] = model[idx].weight.grad.double().numpy().transpose(2, 3, 1, 0)
        out[bn] = model[idx].bias.grad.double().numpy()
    kn, bn = names[3]
    out[kn] = dense_back(model[DENSE].weight.grad.double().numpy())
    out[bn] = model[DENSE].bias.grad.double().numpy()
    return out


def teacher(traj, names, x, y, steps, batch):
    flat = [n for p in names for n in p]
    xs = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
    ys = torch.from_numpy(y.astype(np.int64))
    res = {"loss64": [], "loss32": [], "gerr_nodegrad": [], "gerr_torch32": [], "names": flat}
    for s in range(steps):
        w = {n: traj[f"w{s}/{n}"] for n in flat}
        g = {}
        for dtype in (torch.float64, torch.float32):
            m = mnist_convnet().to(dtype)
            load_into(m, w, names, dtype)
            loss = F.cross_entropy(m(xs[s * batch:(s + 1) * batch].to(dtype)), ys[s * batch:(s + 1) * batch])
            loss.backward()
            res["loss64" if dtype == torch.float64 else "loss32"].append(float(loss))
            g[dtype] = grads_nodegrad_layout(m, names)
        ref = g[torch.float64]
        rel = lambda a, n: float(np.abs(a - ref[n]).max() / (np.abs(ref[n]).max() or 1.0))
        res["gerr_nodegrad"].append([rel(traj[f"g{s}/{n}"].astype(np.float64), n) for n in flat])
        res["gerr_torch32"].append([rel(g[torch.float32][n], n) for n in flat])
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    init = read_safetensors(f"{a.dir}/init.safetensors")
    data = read_safetensors(f"{a.dir}/data.safetensors")
    names = nodegrad_names(f"{a.dir}/names.json")
    keras = lambda p: KerasAdam(p, lr=a.lr, eps=1e-7)
    variants = {  # name: (dtype, optimizer, initial weights, channels_last)
        "keras_f32": (torch.float32, keras, init, False),
        "keras_f64": (torch.float64, keras, init, False),
        "keras_f32_ulp1": (torch.float32, keras, ulp_perturbed(init, 1), False),
        "keras_f32_ulp2": (torch.float32, keras, ulp_perturbed(init, 2), False),
        "torch_eps1e-7": (torch.float32, lambda p: torch.optim.Adam(p, lr=a.lr, eps=1e-7), init, False),
        "torch_default": (torch.float32, lambda p: torch.optim.Adam(p, lr=a.lr), init, False),
    }
    out, weights = {}, {}
    for name, (dtype, make_opt, w0, cl) in variants.items():
        model, losses = train(w0, names, data["x"], data["y"], a.steps, a.batch, a.lr, dtype, make_opt, cl)
        out[name] = {"losses": losses, "dtype": str(dtype).replace("torch.", "")}
        export(model, names, name, weights)
    write_safetensors(f"{a.dir}/out.safetensors", weights)
    tf = None
    if os.path.exists(f"{a.dir}/traj.safetensors"):
        tf = teacher(read_safetensors(f"{a.dir}/traj.safetensors"), names, data["x"], data["y"], a.steps, a.batch)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "names": [n for p in names for n in p],
                      "variants": out, "teacher": tf}))


if __name__ == "__main__":
    main()
