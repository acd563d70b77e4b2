"""torch_threads.py -- thread setup of the PyTorch side of the benchmarks, as
../shared/bench/cpu_torch.py does it: torch's OpenMP threads, one interop
thread, and OpenBLAS's own pool (Debian's torch calls OpenBLAS, whose threads
do not follow torch.set_num_threads)."""
import ctypes

import torch


def set_threads(n):
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:   # already set in this process
        pass
    try:
        ctypes.CDLL("libopenblas.so.0").openblas_set_num_threads(n)
    except OSError:
        pass
