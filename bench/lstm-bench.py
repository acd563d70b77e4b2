# PyTorch side of bench/lstm-bench.R: one training step (forward + backward)
# of nn.LSTM, 2 layers, hidden 650, sequence 35, batch 32, input 650, CPU.
#   python3 bench/lstm-bench.py <threads> <reps>
# Prints the median seconds per step.
import statistics
import sys
import time

import torch

from torch_threads import set_threads  # the script's folder is on sys.path

nt = int(sys.argv[1]) if len(sys.argv) > 1 else 1
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 10
set_threads(nt)
torch.manual_seed(1)
T, N, I, H, L = 35, 32, 650, 650, 2
lstm = torch.nn.LSTM(I, H, L)
x = (torch.rand(T, N, I) * 2 - 1).requires_grad_(True)
h0 = torch.zeros(L, N, H)
c0 = torch.zeros(L, N, H)
g = torch.rand(T, N, H) * 2 - 1


def step():
    lstm.zero_grad()
    y, _ = lstm(x, (h0, c0))
    y.backward(g)


for _ in range(3):
    step()
ts = []
for _ in range(reps):
    t0 = time.perf_counter()
    step()
    ts.append(time.perf_counter() - t0)
print(statistics.median(ts))
