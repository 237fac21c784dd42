#pragma once
// GGUF files (llama.cpp's single-file format, versions 2 and 3; little-endian):
//   "GGUF", u32 version, u64 tensor_count, u64 metadata_count,
//   metadata: (string key, u32 value type, value)*  — strings are u64 length + UTF-8 bytes,
//             arrays are u32 element type + u64 count + elements,
//   tensor infos: (string name, u32 n_dims, u64 dims[n_dims] innermost first, u32 ggml type,
//                  u64 offset from the start of the data section)*,
//   padding to `general.alignment` (default 32), then the data section.
// The file is memory-mapped and validated completely at open: every length, count and offset
// is checked against the file size before the bytes are read, so a truncated or corrupt file
// gives an Error naming the file and the key or tensor, never a crash.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "engine/core/mapped_file.h"
#include "kernels/dtype.h"

namespace kvwb {

// The value types of GGUF metadata (the numbers are the format's).
enum class GgufType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, Bool = 7, String = 8, Array = 9,
  U64 = 10, I64 = 11, F64 = 12,
};
std::string_view gguf_type_name(GgufType type);

struct GgufValue;
struct GgufArray {
  GgufType element_type = GgufType::U8;
  std::vector<GgufValue> items;
};

// One metadata value. Integers keep their signedness: unsigned types in `uint64_t`, signed in
// `int64_t`; both float types in `double`.
struct GgufValue {
  GgufType type = GgufType::U8;
  std::variant<uint64_t, int64_t, double, bool, std::string, GgufArray> value;
};

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> dims;  // innermost first, as written: an HF [out, in] weight is [in, out]
  uint32_t ggml_type = 0;     // as written
  kernels::DType dtype = kernels::DType::F32;
  uint64_t offset = 0;        // from the start of the data section
  const uint8_t* data = nullptr;  // inside the mapping
  size_t nbytes = 0;
  int64_t elements() const;
};

// The kernel dtype of a ggml type id, or nullopt for types kvwb does not run.
std::optional<kernels::DType> gguf_kernel_dtype(uint32_t ggml_type);
// The ggml name of a type id ("Q4_1", "Q5_K", ...) or "unknown".
std::string_view ggml_type_name(uint32_t ggml_type);

class GgufFile {
 public:
  explicit GgufFile(const std::string& path);  // maps and validates; throws Error

  const std::string& path() const { return file_.path(); }
  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // where the data section starts
  const std::map<std::string, GgufValue, std::less<>>& metadata() const { return metadata_; }
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufValue* find(std::string_view key) const;              // null when absent
  const GgufTensorInfo* find_tensor(std::string_view name) const;  // null when absent

  // Typed metadata access; errors name the file and the key ("missing", "has type string,
  // expected an integer", ...). Integer getters accept every integer type whose value fits.
  int64_t get_int(std::string_view key) const;
  int64_t get_int(std::string_view key, int64_t fallback) const;
  double get_float(std::string_view key) const;  // any float or integer type
  double get_float(std::string_view key, double fallback) const;
  bool get_bool(std::string_view key, bool fallback) const;
  std::string get_string(std::string_view key) const;
  std::string get_string(std::string_view key, const std::string& fallback) const;
  std::vector<std::string> get_string_array(std::string_view key) const;
  std::vector<int64_t> get_int_array(std::string_view key) const;
  std::vector<double> get_float_array(std::string_view key) const;

  // Hands over the mapping (tensor pointers stay valid as long as it lives).
  MappedFile take_mapping() && { return std::move(file_); }

 private:
  const GgufValue& required(std::string_view key) const;
  const GgufArray& array(std::string_view key, const char* expected) const;

  MappedFile file_;
  uint32_t version_ = 0;
  uint32_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::map<std::string, GgufValue, std::less<>> metadata_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
};

// Whether the file at `path` starts with the GGUF magic (false when it cannot be read).
bool has_gguf_magic(const std::string& path);

}  // namespace kvwb
