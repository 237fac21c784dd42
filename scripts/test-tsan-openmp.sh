# Sourced by scripts/test-sanitizers.sh (KVWB_SANITIZE=thread KVWB_TSAN_OPENMP=archer), in the
# build directory: the CPU kernels' OpenMP regions run with two threads under TSan too.
# Debian's libgomp is not instrumented, so TSan cannot see its barriers and reports races that
# are not there. LLVM's libomp implements libgomp's GOMP_* entry points, and its Archer tool tells
# TSan what OpenMP's barriers, locks and tasks order. The gcc-built binaries are not rebuilt:
# libomp takes libgomp's place through LD_LIBRARY_PATH. A control program first has to show
# one real race reported and no false one, else the setup proves nothing and the script stops.
llvm_lib=${KVWB_LLVM_LIB:-$({ ls -d /usr/lib/llvm-*/lib 2>/dev/null || true; } | sort -V | tail -n 1)}
for f in libomp.so.5 libarcher.so; do
  if [[ ! -e "$llvm_lib/$f" ]]; then
    echo "test-sanitizers.sh: KVWB_TSAN_OPENMP=archer needs ${llvm_lib:-/usr/lib/llvm-*/lib}/$f (libomp-dev; KVWB_LLVM_LIB=another LLVM lib folder)" >&2
    exit 2
  fi
done
mkdir -p archer-omp
ln -sf "$llvm_lib/libomp.so.5" archer-omp/libgomp.so.1
export LD_LIBRARY_PATH=$PWD/archer-omp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export OMP_TOOL_LIBRARIES=$llvm_lib/libarcher.so
# Archer's own advice: libomp itself is not instrumented either; only kvwb's accesses count.
export TSAN_OPTIONS=$TSAN_OPTIONS:ignore_noninstrumented_modules=1
export OMP_NUM_THREADS=2 OMP_THREAD_LIMIT=2
"${CXX:-g++}" -O1 -g -fsanitize=thread -fopenmp "$(dirname "${BASH_SOURCE[0]}")/test-tsan-openmp-control.cpp" \
  -o archer-omp/control
if ! archer-omp/control >/dev/null; then
  echo "test-sanitizers.sh: KVWB_TSAN_OPENMP=archer: TSan reported a race in the race-free control (report above)" >&2
  exit 1
fi
if archer-omp/control racy >/dev/null 2>&1; then
  echo "test-sanitizers.sh: KVWB_TSAN_OPENMP=archer: TSan missed the control's race; the setup would prove nothing" >&2
  exit 1
fi
echo "test-sanitizers.sh: OpenMP under TSan via $OMP_TOOL_LIBRARIES, $OMP_NUM_THREADS threads (control: race found, none false)"
