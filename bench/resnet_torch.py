#!/usr/bin/python3
"""resnet_torch.py -- the PyTorch side of bench/resnet-bench.sh (Debian's python3-torch).

Usage: /usr/bin/python3 resnet_torch.py train|infer depth(50|20|inception) batch threads steps
Prints "img_per_s peak_rss_mb".  ResNet-50 is torchvision's resnet50 written
out here (torchvision v1.5 layout: bottlenecks with the stride in the 3x3
convolution, BatchNorm and in-place relu, projection shortcuts), so that the
benchmark needs no python3-torchvision; ResNet-20 is He et al.'s CIFAR net;
"inception" is the talk's Inception-BN as bench/inception-bn.R builds it
(convolutions with bias, BatchNorm eps 2e-5, floor pooling, average pooling
counting the padding, as MXNet's defaults).
Synthetic data of one batch reused every step; SGD with momentum 0.9,
cross-entropy; two warm-up steps, then the median step time.
"""
import resource
import sys
import time

import torch
import torch.nn as nn

from torch_threads import set_threads  # the script's folder is on sys.path


def cbr(cin, cout, k, s, p, relu=True):
    layers = [nn.Conv2d(cin, cout, k, s, p, bias=False), nn.BatchNorm2d(cout)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class Block(nn.Module):
    def __init__(self, body, short):
        super().__init__()
        self.body, self.short, self.relu = body, short, nn.ReLU(inplace=True)

    def forward(self, x):
        s = self.short(x) if self.short is not None else x
        return self.relu(self.body(x) + s)


def bottleneck(cin, width, stride):
    body = nn.Sequential(cbr(cin, width, 1, 1, 0), cbr(width, width, 3, stride, 1),
                         cbr(width, width * 4, 1, 1, 0, relu=False))
    short = cbr(cin, width * 4, 1, stride, 0, relu=False) if (stride != 1 or cin != width * 4) else None
    return Block(body, short)


def basic(cin, cout, stride):
    body = nn.Sequential(cbr(cin, cout, 3, stride, 1), cbr(cout, cout, 3, 1, 1, relu=False))
    short = cbr(cin, cout, 1, stride, 0, relu=False) if stride != 1 or cin != cout else None
    return Block(body, short)


def resnet50():
    layers = [cbr(3, 64, 7, 2, 3), nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for i, n in enumerate([3, 4, 6, 3]):
        width = 64 * 2 ** i
        for j in range(n):
            layers.append(bottleneck(cin, width, 2 if (j == 0 and i > 0) else 1))
            cin = width * 4
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, 1000)]
    return nn.Sequential(*layers)


def resnet20():
    layers = [cbr(3, 16, 3, 1, 1)]
    cin = 16
    for i in range(3):
        for j in range(3):
            cout = 16 * 2 ** i
            layers.append(basic(cin, cout, 2 if (j == 0 and i > 0) else 1))
            cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    return nn.Sequential(*layers)


def cf(cin, cout, k, s=1, p=0):
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, p), nn.BatchNorm2d(cout, eps=2e-5),
                         nn.ReLU(inplace=True))


class Cat(nn.Module):
    def __init__(self, *branches):
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x):
        return torch.cat([b(x) for b in self.branches], 1)


def pool(kind, s=1, p=1):
    return nn.MaxPool2d(3, s, p) if kind == "max" else nn.AvgPool2d(3, s, p)


def inc_a(cin, n1, n3r, n3, nd3r, nd3, ptype, proj):
    return Cat(cf(cin, n1, 1), nn.Sequential(cf(cin, n3r, 1), cf(n3r, n3, 3, 1, 1)),
               nn.Sequential(cf(cin, nd3r, 1), cf(nd3r, nd3, 3, 1, 1), cf(nd3, nd3, 3, 1, 1)),
               nn.Sequential(pool(ptype), cf(cin, proj, 1))), n1 + n3 + nd3 + proj


def inc_b(cin, n3r, n3, nd3r, nd3):
    return Cat(nn.Sequential(cf(cin, n3r, 1), cf(n3r, n3, 3, 2, 1)),
               nn.Sequential(cf(cin, nd3r, 1), cf(nd3r, nd3, 3, 1, 1), cf(nd3, nd3, 3, 2, 1)),
               pool("max", 2, 1)), n3 + nd3 + cin


def inception_bn():
    layers = [cf(3, 64, 7, 2, 3), pool("max", 2, 0), cf(64, 64, 1), cf(64, 192, 3, 1, 1),
              pool("max", 2, 0)]
    cin = 192
    for kind, a in [("a", (64, 64, 64, 64, 96, "avg", 32)), ("a", (64, 64, 96, 64, 96, "avg", 64)),
                    ("b", (128, 160, 64, 96)), ("a", (224, 64, 96, 96, 128, "avg", 128)),
                    ("a", (192, 96, 128, 96, 128, "avg", 128)),
                    ("a", (160, 128, 160, 128, 160, "avg", 128)),
                    ("a", (96, 128, 192, 160, 192, "avg", 128)), ("b", (128, 192, 192, 256)),
                    ("a", (352, 192, 320, 160, 224, "avg", 128)),
                    ("a", (352, 192, 320, 192, 224, "max", 128))]:
        m, cin = (inc_a if kind == "a" else inc_b)(cin, *a)
        layers.append(m)
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 1000)]
    return nn.Sequential(*layers)


def main():
    mode, depth, batch, threads, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
        int(sys.argv[4]), int(sys.argv[5])
    set_threads(threads)
    torch.manual_seed(0)
    net = {"50": resnet50, "20": resnet20, "inception": inception_bn}[depth]()
    side, classes = (32, 10) if depth == "20" else (224, 1000)
    x = torch.rand(batch, 3, side, side)
    y = torch.randint(0, classes, (batch,))
    stamps = []
    if mode == "train":
        net.train()
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        loss_fn = nn.CrossEntropyLoss()
        for _ in range(2 + steps):
            opt.zero_grad(set_to_none=True)
            loss_fn(net(x), y).backward()
            opt.step()
            stamps.append(time.perf_counter())
    else:
        net.eval()
        with torch.no_grad():
            for _ in range(2 + steps):
                net(x)
                stamps.append(time.perf_counter())
    dts = sorted(b - a for a, b in zip(stamps[1:], stamps[2:]))
    med = dts[len(dts) // 2]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("%.2f %.0f" % (batch / med, peak))


if __name__ == "__main__":
    main()
