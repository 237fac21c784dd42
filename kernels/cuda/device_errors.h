#pragma once
// Errors found by kernels (a token id outside the vocabulary, a block id outside the pool, a
// block table that contradicts itself). A kernel cannot throw: it records the first problem in
// a small device-side record, skips the bad work (its outputs are zeros), and the backend turns
// the record into a std::runtime_error at the next synchronisation (copy_to_host, synchronize,
// sample). Nothing reads memory out of bounds in the meantime.
#include <cstdint>
#include <string>

namespace kvwb::kernels::cuda {

enum class DeviceErrorCode : int32_t {
  None = 0,
  TokenIdOutOfRange = 1,       // a: id, b: vocabulary size
  SlotOutOfPool = 2,           // a: slot, b: pool slots
  BlockOutOfPool = 3,          // a: block id, b: CSR row, c: pool blocks
  RowLengthExceedsBlocks = 4,  // a: CSR row, b: length, c: slots in its blocks
  IndptrInvalid = 5,           // a: CSR row, b: indptr[row], c: indptr[row + 1]
  SequenceRowOutOfTable = 6,   // a: token, b: sequence row, c: rows the tables can hold
  NegativeSequenceRow = 7,     // a: token, b: sequence row
};

// Written by the first failing thread only (code is claimed with atomicCAS).
struct DeviceErrorRecord {
  int32_t code;
  int32_t reserved;
  int64_t a, b, c;
};

// "paged_attention: block id 900 of row 3 is outside the pool of 64 blocks".
std::string describe_device_error(const DeviceErrorRecord& record);

#ifdef __CUDACC__
__device__ inline void report_device_error(DeviceErrorRecord* record, DeviceErrorCode code, int64_t a, int64_t b = 0,
                                           int64_t c = 0) {
  if (atomicCAS(&record->code, 0, -1) != 0) return;  // someone reported first; keep theirs
  record->a = a;
  record->b = b;
  record->c = c;
  __threadfence();
  atomicExch(&record->code, static_cast<int32_t>(code));
}
#endif

}  // namespace kvwb::kernels::cuda
