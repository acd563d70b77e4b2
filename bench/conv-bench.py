# PyTorch CPU timings on LeNet's layer shapes (batch 128), for comparison with
# bench/conv-bench.R: ms per forward and per backward at 1 and 2 threads.
# Backward = (forward + backward) - forward; conv1's input needs no gradient
# in training, so it is timed without one (as a training step does).
import statistics
import sys
import time

import torch
import torch.nn.functional as F

reps = int(sys.argv[1]) if len(sys.argv) > 1 else 9
torch.manual_seed(1)


def median_time(f):
    f(); f()
    t0 = time.perf_counter(); f(); t1 = time.perf_counter() - t0
    k = max(1, int(0.1 / max(t1, 1e-4)) + 1)
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(k):
            f()
        ts.append((time.perf_counter() - t0) / k)
    return statistics.median(ts)


def conv_layer(xs, ws, need_dx):
    x = torch.rand(*xs) * 2 - 1
    w = (torch.rand(*ws) * 2 - 1) * 0.1
    b = torch.rand(ws[0])
    x.requires_grad_(need_dx); w.requires_grad_(True); b.requires_grad_(True)
    fwd = lambda: F.conv2d(x, w, b)
    g = torch.rand_like(fwd())
    def fb():
        y = F.conv2d(x, w, b)
        y.backward(g)
    return fwd, fb


def pool_layer(xs):
    x = (torch.rand(*xs) * 2 - 1).requires_grad_(True)
    fwd = lambda: F.max_pool2d(x, 2, 2)
    g = torch.rand_like(fwd())
    def fb():
        y = F.max_pool2d(x, 2, 2)
        y.backward(g)
    return fwd, fb


layers = {
    "conv1": lambda: conv_layer((128, 1, 28, 28), (20, 1, 5, 5), False),
    "conv2": lambda: conv_layer((128, 20, 12, 12), (50, 20, 5, 5), True),
    "pool1": lambda: pool_layer((128, 20, 24, 24)),
    "pool2": lambda: pool_layer((128, 50, 8, 8)),
}
print("%-6s %-8s %7s %7s %7s" % ("layer", "impl", "threads", "fwd_ms", "bwd_ms"))
for name, mk in layers.items():
    for th in (1, 2):
        torch.set_num_threads(th)
        fwd, fb = mk()
        with torch.no_grad():
            tf = median_time(fwd)
        tfb = median_time(fb)
        print("%-6s %-8s %7d %7.2f %7.2f" % (name, "torch", th, tf * 1e3, (tfb - tf) * 1e3))
