// The kernels compiled once per instruction set (isa_kernels.h), each run with the active one
// (isa.h): the declarations are in cpu_ops.h, int8_dot.h, quant_dot.h, quant_fast.h and
// quant_matmul.h.
#include <utility>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/int8_dot.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/isa_kernels.h"
#include "kernels/cpu/quant_fast.h"
#include "kernels/cpu/quant_matmul.h"

namespace kvwb::kernels::cpu {
namespace {

template <auto Portable, auto Avx2, auto Avx512, typename... Args>
void on_active_isa(Args&&... args) {
#if defined(__x86_64__)
  switch (active_isa()) {
    case Isa::Avx512: return Avx512(std::forward<Args>(args)...);
    case Isa::Avx2: return Avx2(std::forward<Args>(args)...);
    default: break;
  }
#endif
  Portable(std::forward<Args>(args)...);
}

}  // namespace

#if defined(__x86_64__)
#define KVWB_ON_ACTIVE_ISA(f, ...) on_active_isa<isa_portable::f, isa_avx2::f, isa_avx512::f>(__VA_ARGS__)
#else
#define KVWB_ON_ACTIVE_ISA(f, ...) on_active_isa<isa_portable::f, isa_portable::f, isa_portable::f>(__VA_ARGS__)
#endif

void matvec(const float* x, int64_t n, const Matrix& w, const float* bias, float* y, int threads) {
  KVWB_ON_ACTIVE_ISA(matvec, x, n, w, bias, y, threads);
}
void quant_matvec(const float* x, int64_t n, const Matrix& w, const float* bias, float* y, int threads) {
  KVWB_ON_ACTIVE_ISA(quant_matvec, x, n, w, bias, y, threads);
}
void quant_matmul_int8(const float* x, int64_t n, const Matrix& w, const float* bias, float* y, int threads) {
  KVWB_ON_ACTIVE_ISA(quant_matmul_int8, x, n, w, bias, y, threads);
}
void quant_dot_rows(const QuantDotArgs& a) { KVWB_ON_ACTIVE_ISA(quant_dot_rows, a); }
void int8_dot_rows(const Int8DotArgs& a) { KVWB_ON_ACTIVE_ISA(int8_dot_rows, a); }
void dequantize_row_fast(DType dtype, const void* src, float* dst, int64_t n) {
  KVWB_ON_ACTIVE_ISA(dequantize_row_fast, dtype, src, dst, n);
}
void matrix_rows_to_f32(const Matrix& w, int64_t r0, int64_t count, float* dst) {
  KVWB_ON_ACTIVE_ISA(matrix_rows_to_f32, w, r0, count, dst);
}
void embedding(const Matrix& table, const int32_t* ids, int64_t n, float* out, int threads) {
  KVWB_ON_ACTIVE_ISA(embedding, table, ids, n, out, threads);
}
void rmsnorm(const float* x, const float* weight, int64_t n, int64_t dim, float eps, float* out, int threads) {
  KVWB_ON_ACTIVE_ISA(rmsnorm, x, weight, n, dim, eps, out, threads);
}
void swiglu(const float* gate, const float* up, int64_t n, float* out, int threads) {
  KVWB_ON_ACTIVE_ISA(swiglu, gate, up, n, out, threads);
}
void add(float* x, const float* y, int64_t n, int threads) { KVWB_ON_ACTIVE_ISA(add, x, y, n, threads); }
void paged_attention(const AttentionBatch& batch, const float* q, const PagedKv& kv, float* out, int threads) {
  KVWB_ON_ACTIVE_ISA(paged_attention, batch, q, kv, out, threads);
}

}  // namespace kvwb::kernels::cpu
