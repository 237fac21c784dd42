#include "kernels/cuda/device_errors.h"

namespace kvwb::kernels::cuda {

std::string describe_device_error(const DeviceErrorRecord& r) {
  using std::to_string;
  switch (static_cast<DeviceErrorCode>(r.code)) {
    case DeviceErrorCode::None:
      return "no error";
    case DeviceErrorCode::TokenIdOutOfRange:
      return "embedding: token id " + to_string(r.a) + " is outside the vocabulary of " + to_string(r.b);
    case DeviceErrorCode::SlotOutOfPool:
      return "kv_write: slot " + to_string(r.a) + " is outside the pool of " + to_string(r.b) + " slots";
    case DeviceErrorCode::BlockOutOfPool:
      return "paged_attention: block id " + to_string(r.a) + " of row " + to_string(r.b) +
             " is outside the pool of " + to_string(r.c) + " blocks";
    case DeviceErrorCode::RowLengthExceedsBlocks:
      return "paged_attention: row " + to_string(r.a) + " has length " + to_string(r.b) + " but its blocks hold " +
             to_string(r.c) + " slots";
    case DeviceErrorCode::IndptrInvalid:
      return "paged_attention: indptr is not ascending or runs past the block list at row " + to_string(r.a) + " (" +
             to_string(r.b) + " .. " + to_string(r.c) + ")";
    case DeviceErrorCode::SequenceRowOutOfTable:
      return "paged_attention: token " + to_string(r.a) + " has sequence row " + to_string(r.b) +
             ", outside the block tables (room for " + to_string(r.c) + " sequences)";
    case DeviceErrorCode::NegativeSequenceRow:
      return "paged_attention: token " + to_string(r.a) + " has a negative sequence row (" + to_string(r.b) + ")";
  }
  return "unknown device error " + to_string(r.code);
}

}  // namespace kvwb::kernels::cuda
