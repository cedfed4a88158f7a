#!/usr/bin/env python3
"""Parameter counts of the reference architectures, computed with PyTorch (Debian's python3-torch 1.13; no
torchvision needed): the torchvision/anchor structures written out. Run with /usr/bin/python3; the output
(JSON) is what test/models/counts.test.ts pins. `trainable` = sum of parameters; `non_trainable` = BN running
mean + variance (buffers; num_batches_tracked left out), which Keras counts as non-trainable weights.

Keras-documented counts (keras.io/api/applications) are not recomputed here: ResNet50 25,636,712 (Keras convs
carry biases, torchvision's do not), MobileNetV2 3,538,984.
"""
import json
import torch
from torch import nn


def counts(m):
    trainable = sum(p.numel() for p in m.parameters())
    stats = sum(b.numel() for n, b in m.named_buffers() if n.endswith("running_mean") or n.endswith("running_var"))
    return {"total": trainable + stats, "trainable": trainable, "non_trainable": stats}


def mnist_convnet():  # as ../shared/anchors/peers_torch.py
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(64, 128, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 3 * 128, 10))


def lenet5():
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2), nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),
                         nn.Flatten(), nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10))


def alexnet():  # the course's single-tower variant
    return nn.Sequential(
        nn.Conv2d(3, 96, 11, 4), nn.ReLU(), nn.MaxPool2d(3, 2), nn.Conv2d(96, 256, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(), nn.Conv2d(384, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2), nn.Flatten(),
        nn.Linear(256 * 5 * 5, 4096), nn.ReLU(), nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, 1000))


def vgg16(top=True):
    mods, cin = [], 3
    for cout, n in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
        for _ in range(n):
            mods += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU()]
            cin = cout
        mods.append(nn.MaxPool2d(2))
    if top:
        mods += [nn.Flatten(), nn.Linear(512 * 7 * 7, 4096), nn.ReLU(), nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, 1000)]
    return nn.Sequential(*mods)


class Block(nn.Module):  # torchvision BasicBlock / peers_torch.py Block
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False); self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False); self.b2 = nn.BatchNorm2d(cout)
        self.sc = nn.Sequential()
        if stride != 1 or cin != cout:
            self.sc = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))


def resnet(stem, widths, blocks, classes):
    mods, cin = list(stem), widths[0]
    for s, cout in enumerate(widths):
        for i in range(blocks):
            mods.append(Block(cin, cout, 2 if s > 0 and i == 0 else 1)); cin = cout
    return nn.Sequential(*mods, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes))


def resnet18():  # torchvision.models.resnet18: 11,689,512 parameters
    return resnet([nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)], (64, 128, 256, 512), 2, 1000)


def resnet20():  # ../shared/anchors/peers_torch.py resnet20 (W2)
    return resnet([nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()], (16, 32, 64), 3, 10)


def inception_3a(cin=192, f1=64, f3r=96, f3=128, f5r=16, f5=32, pp=32):
    return nn.ModuleList([nn.Conv2d(cin, f1, 1), nn.Conv2d(cin, f3r, 1), nn.Conv2d(f3r, f3, 3, padding=1),
                          nn.Conv2d(cin, f5r, 1), nn.Conv2d(f5r, f5, 5, padding=2), nn.Conv2d(cin, pp, 1)])


def sep(cin, cout):  # Keras SeparableConv2D: depthwise kernel (no bias) + pointwise kernel + bias
    return nn.Sequential(nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False), nn.Conv2d(cin, cout, 1))


def small_xception(units=1):
    mods = [nn.Conv2d(3, 128, 3, 2, 1), nn.BatchNorm2d(128)]
    prev = 128
    for size in (256, 512, 728):
        mods += [sep(prev, size), nn.BatchNorm2d(size), sep(size, size), nn.BatchNorm2d(size), nn.Conv2d(prev, size, 1, 2)]
        prev = size
    mods += [sep(728, 1024), nn.BatchNorm2d(1024), nn.Linear(1024, units)]
    return nn.ModuleList(mods)


def unet(cin=3, filters=(16, 32, 64), classes=3):
    def block(a, b):
        return [nn.Conv2d(a, b, 3, padding=1), nn.Conv2d(b, b, 3, padding=1)]
    mods, c = [], cin
    for f in filters:
        mods += block(c, f); c = f
    mods += block(c, 2 * filters[-1]); c = 2 * filters[-1]
    for f in reversed(filters):
        mods += [nn.ConvTranspose2d(c, f, 2, 2)] + block(2 * f, f); c = f
    mods.append(nn.Conv2d(c, classes, 1))
    return nn.ModuleList(mods)


MODELS = {
    "mnistConvnet": mnist_convnet, "lenet5": lenet5, "alexnet": alexnet, "vgg16": vgg16, "vgg16_notop": lambda: vgg16(False),
    "resnet18": resnet18, "resnet20": resnet20, "inceptionBlock": inception_3a, "smallXception": small_xception,
    "smallXception_10": lambda: small_xception(10), "unet": unet,
}

if __name__ == "__main__":
    print(json.dumps({k: counts(f()) for k, f in MODELS.items()}, indent=1))
