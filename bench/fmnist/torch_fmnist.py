#!/usr/bin/env python3
"""PyTorch peer of `nodegrad train` (issue 5's bar): the course's MNIST convnet on full Fashion-MNIST, Adam 1e-3
(eps 1e-7 as Keras), batch 64, 5 epochs, pixels scaled to [0, 1], shuffled each epoch, Keras' initialisers;
channels_last.
Prints one line per epoch (seconds) and the test accuracy. Run with Debian's /usr/bin/python3:
  OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/fmnist/torch_fmnist.py --threads 2
"""
import argparse, gzip, os, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--epochs", type=int, default=5)
ap.add_argument("--seed", type=int, default=42)
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)


def idx(name, offset):
    with gzip.open(os.path.join(a.data, name), "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


xtr = torch.tensor(idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28), dtype=torch.float32) / 255
ytr = torch.tensor(idx("train-labels-idx1-ubyte.gz", 8).astype(np.int64))
xte = torch.tensor(idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28), dtype=torch.float32) / 255
yte = torch.tensor(idx("t10k-labels-idx1-ubyte.gz", 8).astype(np.int64))
xtr = xtr.contiguous(memory_format=torch.channels_last)
xte = xte.contiguous(memory_format=torch.channels_last)

model = nn.Sequential(
    nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(64, 128, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 3 * 128, 10)).to(memory_format=torch.channels_last)
# Keras' initial weights (glorot_uniform kernels, zero biases), as nodegrad's layers, so both train "the same way".
for m in model:
    if isinstance(m, (nn.Conv2d, nn.Linear)):
        nn.init.xavier_uniform_(m.weight)
        nn.init.zeros_(m.bias)
opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
for epoch in range(a.epochs):
    t0 = time.perf_counter()
    perm = torch.randperm(len(xtr))
    model.train()
    total = 0.0
    for i in range(0, len(xtr), 64):
        b = perm[i:i + 64]
        opt.zero_grad()
        loss = F.cross_entropy(model(xtr[b]), ytr[b])
        loss.backward()
        opt.step()
        total += loss.item() * len(b)
    print(f"epoch {epoch + 1}/{a.epochs} {time.perf_counter() - t0:.2f} s loss {total / len(xtr):.4f}", flush=True)
model.eval()
with torch.no_grad():
    correct = sum((model(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item() for i in range(0, len(xte), 1000))
print(f"test accuracy {correct / len(xte):.4f} (threads {a.threads}, torch {torch.__version__})")
