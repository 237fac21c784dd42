// Control for scripts/test-tsan-openmp.sh: shows that TSan, with the OpenMP runtime it is given,
// reports a real race and no false one. `racy`: both threads add to one counter unsynchronised.
// Otherwise each thread writes its own element and, after a barrier, thread 0 reads thread 1's:
// race-free, but reported by TSan on an uninstrumented libgomp, whose barrier TSan cannot see.
#include <omp.h>

#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  const bool racy = argc > 1 && std::strcmp(argv[1], "racy") == 0;
  long shared = 0, seen = 0;
  long own[2] = {0, 0};
#pragma omp parallel num_threads(2)
  {
    const int t = omp_get_thread_num();
    if (racy) shared += 1;
    own[t] = t + 1;
#pragma omp barrier
    if (t == 0) seen = own[1];
  }
  std::printf("threads 2, counter %ld, seen %ld\n", shared, seen);
  return 0;
}
