"""The PyTorch side of test/io/torch-import.test.ts: builds models in PyTorch, saves their state_dicts as
safetensors (as `safetensors.torch.save_file(model.state_dict(), path)` does; written by hand when the
safetensors package is missing) with a fixed input batch and PyTorch's outputs for it.

    python3 torch_models.py OUTDIR SIZE

writes into OUTDIR:
  resnet18.safetensors      torchvision.models.resnet18() (seed 0), batch norm affine and running statistics
                            randomised so that they matter
  resnet18_io.safetensors   x [2, 3, SIZE, SIZE] (NCHW) and logits [2, 1000], eval mode
  custom.safetensors        a small network with every other layout rule: a non-square conv kernel, batch norm,
                            a depthwise conv (channel multiplier 2), a grouped conv, a separable conv written
                            as sep.depthwise + sep.pointwise, three transposed convs
                            ('valid' k2 s2, 'same' k3 s1 p1, 'same' k4 s2 p1), flatten -> batch norm 1d -> linear
  custom_io.safetensors     x [2, 3, 7, 5] and logits [2, 7], eval mode
  conv1d.safetensors        Conv1d(3, 4, 3) -> ReLU -> Flatten -> Linear(24, 5)
  conv1d_io.safetensors     x [2, 3, 8] (NCL) and logits [2, 5]
"""
import json
import struct
import sys

import torch
import torchvision

DTYPES = {torch.float32: 'F32', torch.float64: 'F64', torch.float16: 'F16', torch.bfloat16: 'BF16', torch.int64: 'I64'}


def save_file(tensors, path):
    """The safetensors format: u64 LE header length, JSON header (padded to 8 bytes), the raw data."""
    try:
        from safetensors.torch import save_file as reference
        reference(tensors, path)
        return
    except ImportError:
        pass
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
        header[name] = {'dtype': DTYPES[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * ((8 - len(text) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def randomise_bn(model, gen):
    for m in model.modules():
        if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            n = m.num_features
            m.weight.data = torch.rand(n, generator=gen) + 0.5
            m.bias.data = torch.rand(n, generator=gen) - 0.5
            m.running_mean = (torch.rand(n, generator=gen) - 0.5) * 0.4
            m.running_var = torch.rand(n, generator=gen) * 1.5 + 0.5
            m.num_batches_tracked.fill_(7)


class Separable(torch.nn.Module):
    """A depthwise separable convolution as PyTorch models write it: two convolutions, the bias on the second."""
    def __init__(self, c, f):
        super().__init__()
        self.depthwise = torch.nn.Conv2d(c, c, 3, padding=1, groups=c, bias=False)
        self.pointwise = torch.nn.Conv2d(c, f, 1)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


class Custom(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, (3, 2))                                   # valid: 7x5 -> 5x4
        self.bn = torch.nn.BatchNorm2d(8)
        self.dw = torch.nn.Conv2d(8, 16, 3, padding=1, groups=8)                   # depthwise, multiplier 2
        self.grp = torch.nn.Conv2d(16, 12, 3, padding=1, groups=4, bias=False)     # grouped
        self.sep = Separable(12, 12)
        self.up = torch.nn.ConvTranspose2d(12, 6, 2, stride=2)                     # valid: 5x4 -> 10x8
        self.up2 = torch.nn.ConvTranspose2d(6, 5, 3, stride=1, padding=1)          # same
        self.up3 = torch.nn.ConvTranspose2d(5, 3, 4, stride=2, padding=1)          # same: 10x8 -> 20x16
        self.flatten = torch.nn.Flatten()
        self.bn1d = torch.nn.BatchNorm1d(3 * 20 * 16)
        self.fc = torch.nn.Linear(3 * 20 * 16, 7)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        x = torch.relu(self.dw(x))
        x = self.sep(self.grp(x))
        x = torch.relu(self.up(x))
        x = self.up3(self.up2(x))
        return self.fc(self.bn1d(self.flatten(x)))


def main():
    out, size = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(2)
    gen = torch.Generator().manual_seed(1)

    torch.manual_seed(0)
    net = torchvision.models.resnet18()
    randomise_bn(net, gen)
    net.eval()
    x = torch.randn(2, 3, size, size, generator=gen)
    with torch.no_grad():
        logits = net(x)
    save_file(net.state_dict(), f'{out}/resnet18.safetensors')
    save_file({'x': x, 'logits': logits}, f'{out}/resnet18_io.safetensors')

    torch.manual_seed(0)
    net = Custom()
    randomise_bn(net, gen)
    net.eval()
    x = torch.randn(2, 3, 7, 5, generator=gen)
    with torch.no_grad():
        logits = net(x)
    save_file(net.state_dict(), f'{out}/custom.safetensors')
    save_file({'x': x, 'logits': logits}, f'{out}/custom_io.safetensors')

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv1d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 6, 5))
    net.eval()
    x = torch.randn(2, 3, 8, generator=gen)
    with torch.no_grad():
        logits = net(x)
    save_file(net.state_dict(), f'{out}/conv1d.safetensors')
    save_file({'x': x, 'logits': logits}, f'{out}/conv1d_io.safetensors')


if __name__ == '__main__':
    main()
