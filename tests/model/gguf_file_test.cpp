// GgufFile: the fixtures written by gguf-py (an independent writer) parse to what was written;
// every kind of broken file gives an Error naming the file and the key or tensor, never a
// crash (every truncation of a real file included).
#include <gtest/gtest.h>

#include <cstring>

#include "engine/core/error.h"
#include "engine/model/gguf_file.h"
#include "tests/model/checkpoint_writer.h"
#include "tests/model/gguf_writer.h"

namespace kvwb {
namespace {

using test::GgufBuilder;
using test::TempDir;

std::string fixture(const std::string& name) { return std::string(KVWB_SOURCE_DIR) + "/tests/fixtures/gguf/" + name; }

std::string error_of(const std::string& path) {
  try {
    GgufFile f(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Expects an Error whose message starts with the path and contains `part`.
void expect_error(const std::string& path, const std::string& part) {
  const std::string e = error_of(path);
  EXPECT_EQ(e.rfind(path + ": ", 0), 0u) << e;
  EXPECT_NE(e.find(part), std::string::npos) << e;
}

TEST(GgufFile, ReadsTheFixtureWrittenByGgufPy) {
  GgufFile f(fixture("llama-tied.gguf"));
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.get_int("llama.block_count"), 2);
  EXPECT_EQ(f.get_int("llama.embedding_length"), 64);
  EXPECT_FLOAT_EQ(static_cast<float>(f.get_float("llama.attention.layer_norm_rms_epsilon")), 1e-5f);
  EXPECT_EQ(f.find("llama.block_count")->type, GgufType::U32);
  EXPECT_EQ(f.get_string_array("tokenizer.ggml.tokens").size(), 384u);
  EXPECT_EQ(f.get_string_array("tokenizer.ggml.tokens")[0], "<|endoftext|>");
  EXPECT_EQ(f.get_int_array("tokenizer.ggml.token_type")[0], 3);
  EXPECT_FALSE(f.get_bool("tokenizer.ggml.add_bos_token", true));

  const GgufTensorInfo* embd = f.find_tensor("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  EXPECT_EQ(embd->dims, (std::vector<int64_t>{64, 384}));  // [hidden, vocab]: innermost first
  EXPECT_EQ(embd->ggml_type, 8u);
  EXPECT_EQ(embd->dtype, kernels::DType::Q8_0);
  EXPECT_EQ(embd->nbytes, 384u * 2 * 34);
  const GgufTensorInfo* down = f.find_tensor("blk.0.ffn_down.weight");
  EXPECT_EQ(down->dtype, kernels::DType::BF16);
  EXPECT_EQ(down->dims, (std::vector<int64_t>{128, 64}));
  // Data is aligned to general.alignment from the start of the (page-aligned) mapping.
  for (const GgufTensorInfo& t : f.tensors()) {
    EXPECT_EQ(t.offset % 64, 0u) << t.name;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % 64, 0u) << t.name;
  }
  EXPECT_EQ(f.find_tensor("output.weight"), nullptr);
}

TEST(GgufFile, ValuesRoundTripThroughTheTestWriter) {
  TempDir dir;
  GgufBuilder b;
  b.set("a.u32", test::gguf_u32(7));
  b.set("a.i32", test::gguf_i32(-5));
  b.set("a.f32", test::gguf_f32(0.25f));
  b.set("a.bool", test::gguf_bool(true));
  b.set("a.str", test::gguf_str("héllo"));
  b.set("a.list", test::gguf_i32s({1, -2, 3}));
  b.set("a.u64", GgufValue{GgufType::U64, uint64_t{1} << 40});
  b.set("a.f64", GgufValue{GgufType::F64, 2.5});
  b.set("a.i8", GgufValue{GgufType::I8, int64_t{-3}});
  b.tensors.push_back({"t", {32, 2}, 2 /* Q4_0 */, std::vector<uint8_t>(2 * 18, 0x11), -1});
  b.write(dir.file("x.gguf"));
  GgufFile f(dir.file("x.gguf"));
  EXPECT_EQ(f.get_int("a.u32"), 7);
  EXPECT_EQ(f.get_int("a.i32"), -5);
  EXPECT_EQ(f.get_int("a.i8"), -3);
  EXPECT_EQ(f.get_int("a.u64"), int64_t{1} << 40);
  EXPECT_EQ(f.get_float("a.f32"), 0.25);
  EXPECT_EQ(f.get_float("a.f64"), 2.5);
  EXPECT_TRUE(f.get_bool("a.bool", false));
  EXPECT_EQ(f.get_string("a.str"), "héllo");
  EXPECT_EQ(f.get_int_array("a.list"), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(f.get_int("absent", 42), 42);
  ASSERT_NE(f.find_tensor("t"), nullptr);
  EXPECT_EQ(f.find_tensor("t")->data[0], 0x11);
  EXPECT_EQ(f.alignment(), 32u);  // the default without general.alignment
}

TEST(GgufFile, TypedGettersNameTheKeyAndTheType) {
  GgufFile f(fixture("llama-tied.gguf"));
  const std::string p = fixture("llama-tied.gguf");
  auto message = [](auto&& fn) {
    try {
      fn();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(message([&] { f.get_int("general.architecture"); }),
            p + ": metadata 'general.architecture' has type string, expected an integer");
  EXPECT_EQ(message([&] { f.get_string("llama.block_count"); }),
            p + ": metadata 'llama.block_count' has type uint32, expected string");
  EXPECT_EQ(message([&] { f.get_string("no.such.key"); }), p + ": missing metadata 'no.such.key'");
  EXPECT_EQ(message([&] { f.get_int_array("tokenizer.ggml.tokens"); }),
            p + ": metadata 'tokenizer.ggml.tokens' is an array of string, expected integers");
}

TEST(GgufFile, EveryTruncationIsAnErrorNamingTheFile) {
  const std::string src = fixture("qwen2-bias.gguf");
  MappedFile full(src);
  GgufFile whole(src);
  TempDir dir;
  const std::string path = dir.file("cut.gguf");
  // Every prefix up to the end of the header, then a sample of prefixes into the data.
  const size_t header_end = static_cast<size_t>(whole.data_offset());
  ASSERT_GT(header_end, 1000u);
  ASSERT_LT(header_end, full.size());
  std::vector<size_t> cuts;
  for (size_t n = 0; n < header_end; n += (n < 2048 ? 1 : 5)) cuts.push_back(n);
  for (size_t n = header_end; n < full.size(); n += 997) cuts.push_back(n);
  cuts.push_back(full.size() - 1);
  for (size_t n : cuts) {
    test::write_bytes(path, std::vector<uint8_t>(full.data(), full.data() + n));
    const std::string e = error_of(path);
    ASSERT_EQ(e.rfind(path + ": ", 0), 0u) << "cut at " << n << ": " << e;
  }
}

TEST(GgufFile, BadMagicAndVersions) {
  TempDir dir;
  const std::string path = dir.file("bad.gguf");
  test::write_bytes(path, {'G', 'G', 'M', 'L', 3, 0, 0, 0});
  expect_error(path, "not a GGUF file");
  GgufBuilder b;
  for (uint32_t v : {1u, 4u}) {
    b.version = v;
    b.write(path);
    expect_error(path, "unsupported GGUF version " + std::to_string(v));
  }
  b.version = 0x03000000u;
  b.write(path);
  expect_error(path, "big-endian");
  b.version = 2;  // version 2 has the same layout as 3
  b.write(path);
  EXPECT_EQ(error_of(path), "");
}

TEST(GgufFile, CorruptHeadersNameTheKeyOrTensor) {
  TempDir dir;
  const std::string path = dir.file("bad.gguf");
  auto with_tensor = [](uint32_t type, std::vector<int64_t> dims, size_t bytes) {
    GgufBuilder b;
    b.tensors.push_back({"blk.0.attn_q.weight", std::move(dims), type, std::vector<uint8_t>(bytes, 0), -1});
    return b;
  };
  with_tensor(99, {32}, 18).write(path);
  expect_error(path, "tensor 'blk.0.attn_q.weight' has unknown tensor type 99");
  with_tensor(2, {48}, 27).write(path);
  expect_error(path, "tensor 'blk.0.attn_q.weight': its innermost dimension 48 is not a multiple of the Q4_0 block size 32");
  with_tensor(0, {}, 0).write(path);
  expect_error(path, "tensor 'blk.0.attn_q.weight' has 0 dimensions");
  with_tensor(0, {1, 1, 1, 1, 1}, 4).write(path);
  expect_error(path, "tensor 'blk.0.attn_q.weight' has 5 dimensions");
  with_tensor(0, {4, 0}, 0).write(path);
  expect_error(path, "tensor 'blk.0.attn_q.weight' has an invalid dimension 0");

  GgufBuilder misaligned = with_tensor(0, {8}, 32);
  misaligned.tensors[0].offset = 4;
  misaligned.write(path);
  expect_error(path, "tensor 'blk.0.attn_q.weight' has offset 4, not a multiple of the alignment 32");

  GgufBuilder overlap = with_tensor(0, {16}, 64);
  overlap.tensors.push_back({"second", {16}, 0, std::vector<uint8_t>(64, 0), 32});
  overlap.write(path);
  expect_error(path, "tensors 'blk.0.attn_q.weight' and 'second' overlap");

  GgufBuilder dup = with_tensor(0, {8}, 32);
  dup.tensors.push_back(dup.tensors[0]);
  dup.write(path);
  expect_error(path, "tensor 'blk.0.attn_q.weight' appears twice");

  GgufBuilder keys;
  keys.metadata.emplace_back("k", test::gguf_u32(1));
  keys.metadata.emplace_back("k", test::gguf_u32(2));
  keys.write(path);
  expect_error(path, "metadata key 'k' appears twice");

  GgufBuilder align;
  align.set("general.alignment", test::gguf_u32(24));
  align.write(path);
  expect_error(path, "'general.alignment' is 24, expected a power of two");

  GgufBuilder boolean;
  boolean.alignment = 1;  // no padding: the bool's byte ends the file
  boolean.set("flag", test::gguf_bool(true));
  std::vector<uint8_t> bytes = boolean.bytes();
  bytes.back() = 2;
  test::write_bytes(path, bytes);
  expect_error(path, "metadata 'flag': bool value 2 is neither 0 nor 1");
}

TEST(GgufFile, ImpossibleCountsAndLengthsFailBeforeAllocating) {
  TempDir dir;
  const std::string path = dir.file("bad.gguf");
  GgufBuilder b;
  b.set("name", test::gguf_str("x"));
  std::vector<uint8_t> bytes = b.bytes();
  std::vector<uint8_t> huge = bytes;
  const uint64_t many = uint64_t{1} << 60;
  std::memcpy(huge.data() + 16, &many, 8);  // metadata count
  test::write_bytes(path, huge);
  expect_error(path, "metadata entries cannot fit");
  huge = bytes;
  std::memcpy(huge.data() + 8, &many, 8);  // tensor count
  test::write_bytes(path, huge);
  expect_error(path, "tensors cannot fit");
  huge = bytes;
  std::memcpy(huge.data() + 24, &many, 8);  // length of the first key
  test::write_bytes(path, huge);
  expect_error(path, "metadata key #0 has length 1152921504606846976");

  GgufBuilder arr;
  arr.set("list", test::gguf_i32s({1, 2}));
  bytes = arr.bytes();
  // key: 8 + 4 bytes; type 4; element type 4; then the count.
  const size_t count_at = 24 + 8 + 4 + 4 + 4;
  std::memcpy(bytes.data() + count_at, &many, 8);
  test::write_bytes(path, bytes);
  expect_error(path, "metadata 'list' claims 1152921504606846976 elements of int32");
}

TEST(GgufFile, TensorsPastTheEndAreTruncation) {
  TempDir dir;
  const std::string path = dir.file("bad.gguf");
  GgufBuilder b;
  b.tensors.push_back({"w", {8, 4}, 0, std::vector<uint8_t>(128, 0), -1});
  std::vector<uint8_t> bytes = b.bytes();
  bytes.resize(bytes.size() - 1);
  test::write_bytes(path, bytes);
  expect_error(path, "truncated: tensor 'w' (128 bytes at data offset 0) runs past the end of the file");
}

TEST(GgufFile, MagicProbe) {
  EXPECT_TRUE(has_gguf_magic(fixture("llama-tied.gguf")));
  EXPECT_FALSE(has_gguf_magic(std::string(KVWB_SOURCE_DIR) + "/tests/fixtures/models/llama-tied/config.json"));
  EXPECT_FALSE(has_gguf_magic("/no/such/file"));
}

}  // namespace
}  // namespace kvwb
