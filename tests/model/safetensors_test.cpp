// The safetensors reader: good files read back byte for byte; every malformed file gives an
// Error naming the file (and the tensor), never a crash.
#include "engine/model/safetensors.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "engine/core/error.h"
#include "tests/model/checkpoint_writer.h"

namespace kvwb {
namespace {

using test::ordered_json;
using test::TensorBytes;

std::vector<TensorBytes> sample_tensors() {
  return {
      {"a.f32", "F32", {2, 3}, test::encode("F32", {1.5f, -2.0f, 0.25f, 3.0f, -0.125f, 7.0f})},
      {"b.bf16", "BF16", {3}, test::encode("BF16", {-1.0f, 0.5f, 96.0f})},
      {"c.f16", "F16", {1, 2}, test::encode("F16", {-0.375f, 1024.0f})},
      {"d.i64", "I64", {1}, {42, 0, 0, 0, 0, 0, 0, 0}},
      {"e.empty", "F32", {0, 4}, {}},
  };
}

class Safetensors : public ::testing::Test {
 protected:
  std::string write(const std::string& bytes) {
    test::write_file(path(), bytes);
    return path();
  }
  std::string error_of(const std::string& bytes) {
    write(bytes);
    return error_of_existing();
  }
  std::string error_of_existing() {
    try {
      SafetensorsFile f(path());
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
  // A file whose header is `header` and whose data are those of sample_tensors().
  std::string with_header(const ordered_json& header) {
    return error_of(test::safetensors_file(header.dump(), test::safetensors_data(sample_tensors())));
  }
  std::string path() const { return dir_.file("model.safetensors"); }

  test::TempDir dir_;
};

TEST_F(Safetensors, ReadsTensorsByteForByte) {
  ordered_json header = test::safetensors_header(sample_tensors());
  header["__metadata__"] = {{"format", "pt"}};
  write(test::safetensors_file(header.dump(), test::safetensors_data(sample_tensors())));
  const SafetensorsFile f(path());
  EXPECT_EQ(f.tensors().size(), 5u);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  for (const TensorBytes& t : sample_tensors()) {
    const SafetensorsTensor* got = f.find(t.name);
    ASSERT_NE(got, nullptr) << t.name;
    EXPECT_EQ(got->dtype, t.dtype);
    EXPECT_EQ(got->shape, t.shape);
    ASSERT_EQ(got->nbytes, t.bytes.size());
    // std::equal, not memcmp: an empty tensor's bytes may have a null data(), which memcmp must not get.
    EXPECT_TRUE(std::equal(t.bytes.begin(), t.bytes.end(), got->data)) << t.name;
  }
  EXPECT_EQ(f.find("absent"), nullptr);
}

TEST_F(Safetensors, DtypeTables) {
  EXPECT_EQ(safetensors_dtype_size("BF16"), 2u);
  EXPECT_EQ(safetensors_dtype_size("F64"), 8u);
  EXPECT_EQ(safetensors_dtype_size("Q4"), 0u);
  EXPECT_EQ(safetensors_weight_dtype("F16"), kernels::DType::F16);
  EXPECT_FALSE(safetensors_weight_dtype("I64").has_value());
  EXPECT_EQ(format_shape({2, 3}), "[2, 3]");
}

TEST_F(Safetensors, MissingFileIsNamed) {
  try {
    SafetensorsFile f(path());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path() + ": cannot open", 0), 0u) << e.what();
  }
}

TEST_F(Safetensors, TooShortForTheLength) {
  EXPECT_EQ(error_of(""), path() + ": file is 0 bytes, too short for a safetensors header");
  EXPECT_EQ(error_of("abc"), path() + ": file is 3 bytes, too short for a safetensors header");
}

TEST_F(Safetensors, HeaderLengthPastTheEnd) {
  const std::string good = test::safetensors_file(sample_tensors());
  // Truncated inside the header.
  EXPECT_NE(error_of(good.substr(0, 20)).find(path() + ": header length"), std::string::npos);
  // A length field of 2^63 (e.g. a file that is not safetensors at all).
  std::string huge = good;
  huge[7] = '\x80';
  EXPECT_NE(error_of(huge).find("runs past the end of the file"), std::string::npos);
}

TEST_F(Safetensors, HeaderLengthAboveTheFormatLimit) {
  // A sparse 200 MB file whose length field says 150 MB: inside the file, but beyond the cap.
  std::string head(8, '\0');
  const uint64_t n = 150'000'000;
  for (int i = 0; i < 8; ++i) head[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  write(head);
  std::filesystem::resize_file(path(), 200'000'000);
  EXPECT_EQ(error_of_existing(), path() + ": header length 150000000 exceeds the format's limit of 100000000 bytes");
}

TEST_F(Safetensors, HeaderThatIsNotJsonOrNotAnObject) {
  EXPECT_NE(error_of(test::safetensors_file("{\"a\": [1, 2", "")).find(path() + " (safetensors header): malformed JSON"),
            std::string::npos);
  EXPECT_EQ(error_of(test::safetensors_file("[1, 2]", "")), path() + ": safetensors header is not a JSON object");
}

TEST_F(Safetensors, TruncatedDataIsCaughtByTheOffsets) {
  const std::string good = test::safetensors_file(sample_tensors());
  const std::string err = error_of(good.substr(0, good.size() - 5));
  EXPECT_NE(err.find(path() + ": tensor 'd.i64': data_offsets"), std::string::npos) << err;
  EXPECT_NE(err.find("run past the end of the data"), std::string::npos) << err;
}

TEST_F(Safetensors, MalformedEntriesNameTheTensor) {
  const ordered_json good = test::safetensors_header(sample_tensors());
  struct Case {
    const char* tensor;
    const char* key;
    ordered_json value;
    std::string expected;
  };
  const Case cases[] = {
      {"b.bf16", "dtype", "Q9", "unknown dtype 'Q9'"},
      {"b.bf16", "dtype", 5, "field 'dtype' has the wrong type"},
      {"b.bf16", "shape", "3", "missing or malformed 'shape'"},
      {"b.bf16", "shape", {-3}, "shape dimensions must be non-negative integers, got -3"},
      {"b.bf16", "shape", {4}, "span 6 bytes but shape [4] of BF16 needs 8"},
      {"a.f32", "dtype", "F16", "span 24 bytes but shape [2, 3] of F16 needs 12"},
      {"b.bf16", "data_offsets", {24}, "missing or malformed 'data_offsets'"},
      {"b.bf16", "data_offsets", {24, -30}, "data_offsets must be non-negative integers"},
      {"b.bf16", "data_offsets", {30, 24}, "end before they begin"},
      {"b.bf16", "data_offsets", {1000, 1006}, "run past the end of the data (42 bytes)"},
      {"b.bf16", "data_offsets", {18446744073709551610u, 18446744073709551615u}, "run past the end of the data"},
      {"b.bf16", "shape", {1u << 31, 1u << 31, 1u << 31}, "is too large"},
  };
  for (const Case& c : cases) {
    ordered_json h = good;
    h[c.tensor][c.key] = c.value;
    const std::string err = with_header(h);
    EXPECT_EQ(err.rfind(path() + ": tensor '" + c.tensor + "'", 0), 0u) << c.value.dump() << " -> " << err;
    EXPECT_NE(err.find(c.expected), std::string::npos) << c.value.dump() << " -> " << err;
  }
  ordered_json h = good;
  h["b.bf16"] = "BF16";
  EXPECT_EQ(with_header(h), path() + ": tensor 'b.bf16': header entry is not an object");
  h = good;
  h["__metadata__"] = {{"step", 3}};
  EXPECT_EQ(with_header(h), path() + ": '__metadata__' entry 'step' is not a string");
}

TEST_F(Safetensors, OverlappingTensorsAreRejected) {
  ordered_json h = test::safetensors_header(sample_tensors());
  h["c.f16"]["data_offsets"] = {28, 32};  // inside b.bf16's [24, 30)
  EXPECT_EQ(with_header(h), path() + ": tensors 'b.bf16' and 'c.f16' overlap (bytes [24, 30) and [28, 32))");
}

TEST_F(Safetensors, UnpaddedHeaderStillReads) {
  const std::vector<TensorBytes> t = sample_tensors();
  std::string header = test::safetensors_header(t).dump();
  if (header.size() % 8 == 0) header += ' ';  // make the data start unaligned on purpose
  write(test::safetensors_file(header, test::safetensors_data(t), /*pad=*/false));
  const SafetensorsFile f(path());
  EXPECT_EQ(std::memcmp(f.find("a.f32")->data, t[0].bytes.data(), t[0].bytes.size()), 0);
}

// --- sharded checkpoints ---------------------------------------------------------------------

class Checkpoint : public ::testing::Test {
 protected:
  void write_shards() {
    const std::vector<TensorBytes> t = sample_tensors();
    test::write_file(dir_.file("model-00001-of-00002.safetensors"), test::safetensors_file({t[0], t[1]}));
    test::write_file(dir_.file("model-00002-of-00002.safetensors"), test::safetensors_file({t[2], t[3]}));
  }
  void write_index(const ordered_json& weight_map) {
    test::write_file(index(), ordered_json{{"metadata", {{"total_size", 42}}}, {"weight_map", weight_map}}.dump());
  }
  std::string error_of() {
    try {
      SafetensorsCheckpoint c(dir_.path());
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
  std::string index() const { return dir_.file("model.safetensors.index.json"); }
  ordered_json good_map() const {
    return {{"a.f32", "model-00001-of-00002.safetensors"},
            {"b.bf16", "model-00001-of-00002.safetensors"},
            {"c.f16", "model-00002-of-00002.safetensors"},
            {"d.i64", "model-00002-of-00002.safetensors"}};
  }
  test::TempDir dir_;
};

TEST_F(Checkpoint, FindsTensorsAcrossShards) {
  write_shards();
  write_index(good_map());
  SafetensorsCheckpoint c(dir_.path());
  EXPECT_EQ(c.listing_path(), index());
  const auto a = c.find("a.f32");
  const auto cf = c.find("c.f16");
  ASSERT_NE(a.tensor, nullptr);
  ASSERT_NE(cf.tensor, nullptr);
  EXPECT_EQ(*a.file, dir_.file("model-00001-of-00002.safetensors"));
  EXPECT_EQ(*cf.file, dir_.file("model-00002-of-00002.safetensors"));
  EXPECT_EQ(std::memcmp(cf.tensor->data, sample_tensors()[2].bytes.data(), 4), 0);
  EXPECT_EQ(c.find("e.empty").tensor, nullptr);  // not in the weight map
  const uint8_t* before = a.tensor->data;
  std::vector<MappedFile> maps = std::move(c).take_mappings();
  ASSERT_EQ(maps.size(), 2u);
  EXPECT_GE(before, maps[0].data());  // pointers stay inside the handed-over mapping
  EXPECT_LT(before, maps[0].data() + maps[0].size());
}

TEST_F(Checkpoint, SingleFileWinsOverAnIndex) {
  write_shards();
  write_index(good_map());
  test::write_file(dir_.file("model.safetensors"), test::safetensors_file({sample_tensors()[4]}));
  SafetensorsCheckpoint c(dir_.path());
  EXPECT_EQ(c.listing_path(), dir_.file("model.safetensors"));
  EXPECT_NE(c.find("e.empty").tensor, nullptr);
  EXPECT_EQ(c.find("a.f32").tensor, nullptr);
}

TEST_F(Checkpoint, NoWeightsAtAll) {
  EXPECT_EQ(error_of(), dir_.path() + ": no weights: neither model.safetensors nor model.safetensors.index.json is present");
}

TEST_F(Checkpoint, BrokenIndexes) {
  write_shards();
  test::write_file(index(), "{\"weight_map\": ");
  EXPECT_NE(error_of().find(index() + ": malformed JSON"), std::string::npos);
  write_index(nullptr);
  EXPECT_EQ(error_of(), index() + ": missing or malformed field 'weight_map' (an object)");
  write_index({{"a.f32", 3}});
  EXPECT_EQ(error_of(), index() + ": weight_map entry 'a.f32' is not a file name");
  write_index({{"a.f32", "../elsewhere.safetensors"}});
  EXPECT_NE(error_of().find("not a file in the model directory"), std::string::npos);
  write_index({{"a.f32", "model-00003-of-00002.safetensors"}});
  EXPECT_EQ(error_of(), index() + ": shard 'model-00003-of-00002.safetensors' (holding tensor 'a.f32') is missing");
  write_index({{"c.f16", "model-00001-of-00002.safetensors"}});
  EXPECT_EQ(error_of(), dir_.file("model-00001-of-00002.safetensors") + ": tensor 'c.f16' is listed in " + index() +
                            " but absent from this shard");
}

TEST_F(Checkpoint, CorruptShardIsNamed) {
  write_shards();
  write_index(good_map());
  test::write_file(dir_.file("model-00002-of-00002.safetensors"), "garbage");
  EXPECT_EQ(error_of(), dir_.file("model-00002-of-00002.safetensors") +
                            ": file is 7 bytes, too short for a safetensors header");
}

}  // namespace
}  // namespace kvwb
