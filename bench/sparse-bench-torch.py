# sparse-bench-torch.py -- torch.sparse.mm on the CSR matrix that
# bench/sparse-bench.R writes (its plain binary format: float64 header
# rows, cols, nnz; float64 indptr and indices; float32 values and labels),
# times the dense rhs (float32, C order (cols, k)).
# Usage: python3 sparse-bench-torch.py CSR RHS K REPS OUT
import sys
import time
import warnings

import numpy as np
import torch

csr_path, rhs_path, k, reps, out_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
torch.set_num_threads(2)
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
with open(csr_path, "rb") as f:
    rows, cols, nnz = (int(v) for v in np.fromfile(f, dtype=np.float64, count=3))
    indptr = np.fromfile(f, dtype=np.float64, count=rows + 1).astype(np.int64)
    indices = np.fromfile(f, dtype=np.float64, count=nnz).astype(np.int64)
    values = np.fromfile(f, dtype=np.float32, count=nnz)
rhs = torch.from_numpy(np.fromfile(rhs_path, dtype=np.float32).reshape(cols, k))
X = torch.sparse_csr_tensor(torch.from_numpy(indptr), torch.from_numpy(indices),
                            torch.from_numpy(values), size=(rows, cols))
out = torch.sparse.mm(X, rhs)
times = []
for _ in range(reps):
    t0 = time.perf_counter()
    out = torch.sparse.mm(X, rhs)
    times.append(time.perf_counter() - t0)
out.numpy().astype(np.float32).tofile(out_path)
print("INFO torch %s, %d threads, csr %d x %d, nnz %d" % (torch.__version__, torch.get_num_threads(), rows, cols, nnz))
print("TORCH %.6f" % sorted(times)[len(times) // 2])
