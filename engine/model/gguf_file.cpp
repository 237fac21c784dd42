// GgufFile: parse and validate the whole header of a GGUF file before any tensor byte is used.
#include "engine/model/gguf_file.h"

#include <algorithm>
#include <cstring>
#include <fstream>

#include "engine/core/error.h"

namespace kvwb {
namespace {

struct GgmlType {
  uint32_t id;
  std::string_view name;
  int64_t block_elems;
  int64_t block_bytes;
};

// Every ggml type id a GGUF may use (block sizes as gguf-py 0.19's GGML_QUANT_SIZES lists
// them), so that a file with types kvwb does not run still opens and the model loader can name
// the tensor and its type. Ids not listed here (4, 5, 31-33: removed types) are unknown.
constexpr GgmlType kGgmlTypes[] = {
    {0, "F32", 1, 4},        {1, "F16", 1, 2},         {2, "Q4_0", 32, 18},     {3, "Q4_1", 32, 20},
    {6, "Q5_0", 32, 22},     {7, "Q5_1", 32, 24},      {8, "Q8_0", 32, 34},     {9, "Q8_1", 32, 40},
    {10, "Q2_K", 256, 84},   {11, "Q3_K", 256, 110},   {12, "Q4_K", 256, 144},  {13, "Q5_K", 256, 176},
    {14, "Q6_K", 256, 210},  {15, "Q8_K", 256, 292},   {16, "IQ2_XXS", 256, 66}, {17, "IQ2_XS", 256, 74},
    {18, "IQ3_XXS", 256, 98}, {19, "IQ1_S", 256, 50},  {20, "IQ4_NL", 32, 18},  {21, "IQ3_S", 256, 110},
    {22, "IQ2_S", 256, 82},  {23, "IQ4_XS", 256, 136}, {24, "I8", 1, 1},        {25, "I16", 1, 2},
    {26, "I32", 1, 4},       {27, "I64", 1, 8},        {28, "F64", 1, 8},       {29, "IQ1_M", 256, 56},
    {30, "BF16", 1, 2},      {34, "TQ1_0", 256, 54},   {35, "TQ2_0", 256, 66},  {39, "MXFP4", 32, 17},
    {40, "NVFP4", 64, 36},   {41, "Q1_0", 128, 18},
};

const GgmlType* find_ggml_type(uint32_t id) {
  for (const GgmlType& t : kGgmlTypes)
    if (t.id == id) return &t;
  return nullptr;
}

constexpr uint32_t kMaxDims = 4;        // GGML_MAX_DIMS
constexpr int kMaxArrayDepth = 4;       // nested arrays; deeper is garbage, not a real file
constexpr uint64_t kDefaultAlignment = 32;

// A bounds-checked little-endian reader over the mapping. Every read names what it reads, so
// a truncated file says where it ended.
class Cursor {
 public:
  Cursor(const MappedFile& file) : file_(file) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return file_.size() - pos_; }

  const uint8_t* take(size_t n, std::string_view what) {
    if (n > remaining())
      fail(file_.path(), "truncated: {} needs {} bytes at offset {}, but the file ends at {}", what, n, pos_,
           file_.size());
    const uint8_t* p = file_.data() + pos_;
    pos_ += n;
    return p;
  }
  template <typename T>
  T read(std::string_view what) {
    T v;
    std::memcpy(&v, take(sizeof(T), what), sizeof(T));
    return v;
  }
  std::string read_string(std::string_view what) {
    const uint64_t len = read<uint64_t>(what);
    if (len > remaining())
      fail(file_.path(), "truncated or corrupt: {} has length {} but only {} bytes remain at offset {}", what, len,
           remaining(), pos_);
    const uint8_t* p = take(static_cast<size_t>(len), what);
    return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(len));
  }

 private:
  const MappedFile& file_;
  size_t pos_ = 0;
};

// The fewest bytes one value of a type occupies (to bound counts before allocating).
size_t min_value_bytes(GgufType t) {
  switch (t) {
    case GgufType::U8: case GgufType::I8: case GgufType::Bool: return 1;
    case GgufType::U16: case GgufType::I16: return 2;
    case GgufType::U32: case GgufType::I32: case GgufType::F32: return 4;
    case GgufType::U64: case GgufType::I64: case GgufType::F64: case GgufType::String: return 8;
    case GgufType::Array: return 12;
  }
  return 1;
}

bool valid_type(uint32_t t) { return t <= static_cast<uint32_t>(GgufType::F64); }

GgufValue read_value(Cursor& c, GgufType type, const std::string& key, const std::string& path, int depth) {
  GgufValue v;
  v.type = type;
  switch (type) {
    case GgufType::U8: v.value = uint64_t{c.read<uint8_t>(key)}; break;
    case GgufType::I8: v.value = int64_t{c.read<int8_t>(key)}; break;
    case GgufType::U16: v.value = uint64_t{c.read<uint16_t>(key)}; break;
    case GgufType::I16: v.value = int64_t{c.read<int16_t>(key)}; break;
    case GgufType::U32: v.value = uint64_t{c.read<uint32_t>(key)}; break;
    case GgufType::I32: v.value = int64_t{c.read<int32_t>(key)}; break;
    case GgufType::U64: v.value = c.read<uint64_t>(key); break;
    case GgufType::I64: v.value = c.read<int64_t>(key); break;
    case GgufType::F32: v.value = double{c.read<float>(key)}; break;
    case GgufType::F64: v.value = c.read<double>(key); break;
    case GgufType::Bool: {
      const uint8_t b = c.read<uint8_t>(key);
      if (b > 1) fail(path, "metadata '{}': bool value {} is neither 0 nor 1", key, b);
      v.value = b == 1;
      break;
    }
    case GgufType::String: v.value = c.read_string(key); break;
    case GgufType::Array: {
      if (depth >= kMaxArrayDepth) fail(path, "metadata '{}': arrays nested deeper than {}", key, kMaxArrayDepth);
      const uint32_t elem = c.read<uint32_t>(key);
      if (!valid_type(elem)) fail(path, "metadata '{}': unknown array element type {}", key, elem);
      const uint64_t count = c.read<uint64_t>(key);
      const GgufType et = static_cast<GgufType>(elem);
      if (count > c.remaining() / min_value_bytes(et))
        fail(path, "truncated or corrupt: metadata '{}' claims {} elements of {} but only {} bytes remain", key,
             count, gguf_type_name(et), c.remaining());
      GgufArray a;
      a.element_type = et;
      a.items.reserve(static_cast<size_t>(count));
      for (uint64_t i = 0; i < count; ++i) a.items.push_back(read_value(c, et, key, path, depth + 1));
      v.value = std::move(a);
      break;
    }
  }
  return v;
}

// An integer metadata value as int64 (nullopt when it is not an integer or does not fit).
std::optional<int64_t> as_int(const GgufValue& v) {
  if (const auto* u = std::get_if<uint64_t>(&v.value)) {
    if (*u > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(*u);
  }
  if (const auto* i = std::get_if<int64_t>(&v.value)) return *i;
  return std::nullopt;
}

}  // namespace

std::string_view gguf_type_name(GgufType type) {
  switch (type) {
    case GgufType::U8: return "uint8";
    case GgufType::I8: return "int8";
    case GgufType::U16: return "uint16";
    case GgufType::I16: return "int16";
    case GgufType::U32: return "uint32";
    case GgufType::I32: return "int32";
    case GgufType::F32: return "float32";
    case GgufType::Bool: return "bool";
    case GgufType::String: return "string";
    case GgufType::Array: return "array";
    case GgufType::U64: return "uint64";
    case GgufType::I64: return "int64";
    case GgufType::F64: return "float64";
  }
  return "unknown";
}

std::optional<kernels::DType> gguf_kernel_dtype(uint32_t ggml_type) {
  using kernels::DType;
  switch (ggml_type) {
    case 0: return DType::F32;
    case 1: return DType::F16;
    case 2: return DType::Q4_0;
    case 3: return DType::Q4_1;
    case 8: return DType::Q8_0;
    case 12: return DType::Q4_K;
    case 14: return DType::Q6_K;
    case 30: return DType::BF16;
    default: return std::nullopt;
  }
}

std::string_view ggml_type_name(uint32_t ggml_type) {
  const GgmlType* t = find_ggml_type(ggml_type);
  return t != nullptr ? t->name : "unknown";
}

int64_t GgufTensorInfo::elements() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

GgufFile::GgufFile(const std::string& path) : file_(path) {
  Cursor c(file_);
  if (file_.size() < 4 || std::memcmp(file_.data(), "GGUF", 4) != 0)
    fail(path, "not a GGUF file (the first 4 bytes are not the magic 'GGUF')");
  c.take(4, "magic");
  version_ = c.read<uint32_t>("version");
  if (version_ == 0x03000000u || version_ == 0x02000000u)
    fail(path, "big-endian GGUF files are not supported (version field reads {:#x})", version_);
  if (version_ != 2 && version_ != 3)
    fail(path, "unsupported GGUF version {} (kvwb reads versions 2 and 3)", version_);
  const uint64_t tensor_count = c.read<uint64_t>("tensor count");
  const uint64_t metadata_count = c.read<uint64_t>("metadata count");
  // Each entry needs at least a length-prefixed name and a type: bound the counts by the
  // file size so that garbage counts fail here, not in an allocation.
  if (metadata_count > c.remaining() / 12)
    fail(path, "corrupt header: {} metadata entries cannot fit in a {}-byte file", metadata_count, file_.size());
  if (tensor_count > c.remaining() / 24)
    fail(path, "corrupt header: {} tensors cannot fit in a {}-byte file", tensor_count, file_.size());

  for (uint64_t i = 0; i < metadata_count; ++i) {
    std::string key = c.read_string(fmt::format("metadata key #{}", i));
    const uint32_t type = c.read<uint32_t>(key);
    if (!valid_type(type)) fail(path, "metadata '{}': unknown value type {}", key, type);
    GgufValue value = read_value(c, static_cast<GgufType>(type), key, path, 0);
    if (metadata_.count(key) != 0) fail(path, "metadata key '{}' appears twice", key);
    metadata_.emplace(std::move(key), std::move(value));
  }

  if (const GgufValue* a = find("general.alignment")) {
    const std::optional<int64_t> align = as_int(*a);
    if (a->type != GgufType::U32 || !align)
      fail(path, "metadata 'general.alignment' has type {}, expected uint32", gguf_type_name(a->type));
    if (*align == 0 || (*align & (*align - 1)) != 0)
      fail(path, "metadata 'general.alignment' is {}, expected a power of two", *align);
    alignment_ = static_cast<uint32_t>(*align);
  } else {
    alignment_ = kDefaultAlignment;
  }

  tensors_.reserve(static_cast<size_t>(tensor_count));
  for (uint64_t i = 0; i < tensor_count; ++i) {
    GgufTensorInfo t;
    t.name = c.read_string(fmt::format("tensor name #{}", i));
    const uint32_t n_dims = c.read<uint32_t>(t.name);
    if (n_dims == 0 || n_dims > kMaxDims)
      fail(path, "tensor '{}' has {} dimensions (expected 1 to {})", t.name, n_dims, kMaxDims);
    int64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t dim = c.read<uint64_t>(t.name);
      if (dim == 0 || dim > (uint64_t{1} << 40) || static_cast<int64_t>(dim) > (int64_t{1} << 50) / elements)
        fail(path, "tensor '{}' has an invalid dimension {} (dims {})", t.name, dim, n_dims);
      t.dims.push_back(static_cast<int64_t>(dim));
      elements *= static_cast<int64_t>(dim);
    }
    t.ggml_type = c.read<uint32_t>(t.name);
    const GgmlType* type = find_ggml_type(t.ggml_type);
    if (type == nullptr) fail(path, "tensor '{}' has unknown tensor type {}", t.name, t.ggml_type);
    if (t.dims[0] % type->block_elems != 0)
      fail(path, "tensor '{}': its innermost dimension {} is not a multiple of the {} block size {}", t.name,
           t.dims[0], type->name, type->block_elems);
    t.nbytes = static_cast<size_t>(elements / type->block_elems * type->block_bytes);
    t.offset = c.read<uint64_t>(t.name);
    if (t.offset % alignment_ != 0)
      fail(path, "tensor '{}' has offset {}, not a multiple of the alignment {}", t.name, t.offset, alignment_);
    if (auto dt = gguf_kernel_dtype(t.ggml_type)) t.dtype = *dt;
    if (tensor_index_.count(t.name) != 0) fail(path, "tensor '{}' appears twice", t.name);
    tensor_index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
  }

  // The data section starts at the next multiple of the alignment.
  const uint64_t header_end = c.pos();
  const uint64_t data_start = (header_end + alignment_ - 1) / alignment_ * alignment_;
  if (data_start > file_.size() && !tensors_.empty())
    fail(path, "truncated: the data section would start at {} but the file has {} bytes", data_start, file_.size());
  const uint64_t data_size = data_start <= file_.size() ? file_.size() - data_start : 0;
  data_offset_ = data_start;

  // Every tensor inside the data section, and no two overlapping.
  std::vector<std::pair<uint64_t, size_t>> order;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    GgufTensorInfo& t = tensors_[i];
    if (t.offset > data_size || t.nbytes > data_size - t.offset)
      fail(path, "truncated: tensor '{}' ({} bytes at data offset {}) runs past the end of the file ({} data bytes)",
           t.name, t.nbytes, t.offset, data_size);
    t.data = file_.data() + data_start + t.offset;
    order.emplace_back(t.offset, i);
  }
  std::sort(order.begin(), order.end());
  for (size_t k = 1; k < order.size(); ++k) {
    const GgufTensorInfo& prev = tensors_[order[k - 1].second];
    const GgufTensorInfo& cur = tensors_[order[k].second];
    if (prev.offset + prev.nbytes > cur.offset)
      fail(path, "tensors '{}' and '{}' overlap in the data section", prev.name, cur.name);
  }
}

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = metadata_.find(key);
  return it == metadata_.end() ? nullptr : &it->second;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const GgufValue& GgufFile::required(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) fail(path(), "missing metadata '{}'", key);
  return *v;
}

int64_t GgufFile::get_int(std::string_view key) const {
  const GgufValue& v = required(key);
  const std::optional<int64_t> i = as_int(v);
  if (!i) fail(path(), "metadata '{}' has type {}, expected an integer", key, gguf_type_name(v.type));
  return *i;
}

int64_t GgufFile::get_int(std::string_view key, int64_t fallback) const {
  return find(key) != nullptr ? get_int(key) : fallback;
}

double GgufFile::get_float(std::string_view key) const {
  const GgufValue& v = required(key);
  if (const auto* d = std::get_if<double>(&v.value)) return *d;
  if (const std::optional<int64_t> i = as_int(v)) return static_cast<double>(*i);
  fail(path(), "metadata '{}' has type {}, expected a number", key, gguf_type_name(v.type));
}

double GgufFile::get_float(std::string_view key, double fallback) const {
  return find(key) != nullptr ? get_float(key) : fallback;
}

bool GgufFile::get_bool(std::string_view key, bool fallback) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return fallback;
  if (const auto* b = std::get_if<bool>(&v->value)) return *b;
  fail(path(), "metadata '{}' has type {}, expected bool", key, gguf_type_name(v->type));
}

std::string GgufFile::get_string(std::string_view key) const {
  const GgufValue& v = required(key);
  if (const auto* s = std::get_if<std::string>(&v.value)) return *s;
  fail(path(), "metadata '{}' has type {}, expected string", key, gguf_type_name(v.type));
}

std::string GgufFile::get_string(std::string_view key, const std::string& fallback) const {
  return find(key) != nullptr ? get_string(key) : fallback;
}

const GgufArray& GgufFile::array(std::string_view key, const char* expected) const {
  const GgufValue& v = required(key);
  const auto* a = std::get_if<GgufArray>(&v.value);
  if (a == nullptr) fail(path(), "metadata '{}' has type {}, expected an array of {}", key, gguf_type_name(v.type), expected);
  return *a;
}

std::vector<std::string> GgufFile::get_string_array(std::string_view key) const {
  const GgufArray& a = array(key, "strings");
  if (a.element_type != GgufType::String)
    fail(path(), "metadata '{}' is an array of {}, expected strings", key, gguf_type_name(a.element_type));
  std::vector<std::string> out;
  out.reserve(a.items.size());
  for (const GgufValue& v : a.items) out.push_back(std::get<std::string>(v.value));
  return out;
}

std::vector<int64_t> GgufFile::get_int_array(std::string_view key) const {
  const GgufArray& a = array(key, "integers");
  std::vector<int64_t> out;
  out.reserve(a.items.size());
  for (const GgufValue& v : a.items) {
    const std::optional<int64_t> i = as_int(v);
    if (!i) fail(path(), "metadata '{}' is an array of {}, expected integers", key, gguf_type_name(a.element_type));
    out.push_back(*i);
  }
  return out;
}

std::vector<double> GgufFile::get_float_array(std::string_view key) const {
  const GgufArray& a = array(key, "numbers");
  std::vector<double> out;
  out.reserve(a.items.size());
  for (const GgufValue& v : a.items) {
    if (const auto* d = std::get_if<double>(&v.value)) {
      out.push_back(*d);
    } else if (const std::optional<int64_t> i = as_int(v)) {
      out.push_back(static_cast<double>(*i));
    } else {
      fail(path(), "metadata '{}' is an array of {}, expected numbers", key, gguf_type_name(a.element_type));
    }
  }
  return out;
}

bool has_gguf_magic(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::memcmp(magic, "GGUF", 4) == 0;
}

}  // namespace kvwb
