// The time of one MPI_Allreduce (MPI_SUM, float) of a gradient-sized buffer, measured after a barrier
// so that no rank's compute is in it: the communication alone. Built by bench/mpi_compare.sh with mpicxx.
//   mpirun -np 2 mpi_allreduce FLOATS [REPEATS]
// prints: allreduce FLOATS floats (BYTES bytes) on N ranks: median X ms, best Y ms, bus bandwidth Z GB/s
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (argc < 2 || std::atol(argv[1]) <= 0) {
    if (rank == 0) std::fprintf(stderr, "usage: mpi_allreduce FLOATS [REPEATS]\n");
    MPI_Finalize();
    return 2;
  }
  const long n = std::atol(argv[1]);
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 50;
  std::vector<float> x(static_cast<size_t>(n), 1.0f);
  std::vector<double> t;
  for (int i = 0; i < repeats + 5; i++) {
    MPI_Barrier(MPI_COMM_WORLD);
    const double t0 = MPI_Wtime();
    MPI_Allreduce(MPI_IN_PLACE, x.data(), static_cast<int>(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    const double dt = MPI_Wtime() - t0;
    double worst = 0;
    MPI_Allreduce(&dt, &worst, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    if (i >= 5) t.push_back(worst);
  }
  std::sort(t.begin(), t.end());
  if (rank == 0) {
    const double bytes = static_cast<double>(n) * sizeof(float), med = t[t.size() / 2];
    // the bytes each rank sends and receives in a ring allreduce: 2 (N - 1) / N of the buffer
    const double bus = 2.0 * (size - 1) / size * bytes / med / 1e9;
    std::printf("allreduce %ld floats (%.0f bytes) on %d ranks: median %.3f ms, best %.3f ms, bus bandwidth %.2f GB/s\n",
                n, bytes, size, 1e3 * med, 1e3 * t.front(), bus);
  }
  MPI_Finalize();
  return 0;
}
