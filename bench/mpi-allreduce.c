/* Raw MPI_Allreduce bandwidth, the ceiling for bench/dist-bench.sh: float32
 * SUM in place over the sizes given (MB), each call fenced by a barrier;
 * prints "size_mb seconds_best seconds_median" (rank 0, max over ranks). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  int reps = 15;
  for (int k = 1; k < argc; k++) {
    double mb = atof(argv[k]);
    long n = (long)(mb * 1048576.0 / 4);
    float *buf = malloc((size_t)n * sizeof *buf);
    for (long i = 0; i < n; i++) buf[i] = 1.0f;
    double t[64];
    for (int r = -2; r < reps; r++) {
      MPI_Barrier(MPI_COMM_WORLD);
      double t0 = MPI_Wtime();
      MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      double dt = MPI_Wtime() - t0, mx = 0;
      MPI_Allreduce(&dt, &mx, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
      if (r >= 0) t[r] = mx;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp);
    if (rank == 0) printf("%g %.6f %.6f\n", mb, t[0], t[reps / 2]);
    free(buf);
  }
  MPI_Finalize();
  return 0;
}
