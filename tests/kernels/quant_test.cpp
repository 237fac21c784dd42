// GGUF block types (kernels/quant.h): hand-made blocks with known scale/min/values (the
// low/high nibble order included), gguf-py's dequantization of random blocks
// (tests/fixtures/quant/blocks.json), and the CPU fast path bit-identical to the reference.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "engine/core/json_file.h"
#include "kernels/cpu/quant_fast.h"
#include "kernels/half.h"
#include "kernels/quant.h"

namespace kvwb::kernels {
namespace {

template <typename Block>
std::vector<float> dequantize_block(const Block& b, DType dtype) {
  std::vector<float> out(static_cast<size_t>(dtype_info(dtype).block_elems));
  dequantize_row(dtype, &b, out.data(), static_cast<int64_t>(out.size()));
  return out;
}

TEST(Quant, Q8_0IsScaleTimesSignedBytes) {
  BlockQ8_0 b{};
  b.d = f32_to_f16(0.5f);
  for (int i = 0; i < 32; ++i) b.qs[i] = static_cast<int8_t>(i * 8 - 128);  // -128 .. 120
  const std::vector<float> v = dequantize_block(b, DType::Q8_0);
  EXPECT_EQ(v[0], -64.0f);
  EXPECT_EQ(v[16], 0.0f);
  EXPECT_EQ(v[31], 60.0f);
}

TEST(Quant, Q4_0LowNibblesAreTheFirstHalfOfTheBlock) {
  BlockQ4_0 b{};
  b.d = f32_to_f16(2.0f);
  // Byte i: low nibble i (element i), high nibble 15 - i (element i + 16).
  for (int i = 0; i < 16; ++i) b.qs[i] = static_cast<uint8_t>(i | (15 - i) << 4);
  const std::vector<float> v = dequantize_block(b, DType::Q4_0);
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(v[i], 2.0f * static_cast<float>(i - 8)) << i;
    EXPECT_EQ(v[i + 16], 2.0f * static_cast<float>(15 - i - 8)) << i;
  }
}

TEST(Quant, Q4_1IsScaleTimesNibblePlusMin) {
  BlockQ4_1 b{};
  b.d = f32_to_f16(0.25f);
  b.m = f32_to_f16(-1.5f);
  for (int i = 0; i < 16; ++i) b.qs[i] = static_cast<uint8_t>(i | (15 - i) << 4);
  const std::vector<float> v = dequantize_block(b, DType::Q4_1);
  EXPECT_EQ(v[0], -1.5f);            // 0 * 0.25 - 1.5
  EXPECT_EQ(v[15], 2.25f);           // 15 * 0.25 - 1.5
  EXPECT_EQ(v[16], 2.25f);           // high nibble of byte 0 = 15
  EXPECT_EQ(v[31], -1.5f);           // high nibble of byte 15 = 0
  EXPECT_EQ(v[5], 5 * 0.25f - 1.5f);
}

TEST(Quant, Q4_KUnpacksSixBitScalesAndMins) {
  BlockQ4_K b{};
  b.d = f32_to_f16(1.0f);
  b.dmin = f32_to_f16(0.5f);
  // Sub-block 1 (j < 4): scale = scales[1] & 63 = 3, min = scales[5] & 63 = 4.
  b.scales[1] = 3;
  b.scales[5] = 4;
  // Sub-block 6 (j >= 4): scale = (scales[10] & 15) | (scales[2] >> 6) << 4 = 2 | 1 << 4 = 18,
  //                       min = (scales[10] >> 4) | (scales[6] >> 6) << 4 = 1 | 2 << 4 = 33.
  b.scales[10] = 0x12;
  b.scales[2] = 0x40;
  b.scales[6] = 0x80;
  // Sub-blocks 0/1 share qs[0..32): sub-block 1 is the high nibbles. Sub-block 6 is the low
  // nibbles of qs[96..128).
  b.qs[0] = 0x70;   // element 32 (sub-block 1, l = 0): nibble 7
  b.qs[97] = 0x05;  // element 193 (sub-block 6, l = 1): nibble 5
  const std::vector<float> v = dequantize_block(b, DType::Q4_K);
  EXPECT_EQ(v[0], 0.0f);                        // sub-block 0: scale 0, min 0
  EXPECT_EQ(v[32], 1.0f * 3 * 7 - 0.5f * 4);    // 19
  EXPECT_EQ(v[33], -0.5f * 4);                  // nibble 0
  EXPECT_EQ(v[193], 1.0f * 18 * 5 - 0.5f * 33); // 73.5
  EXPECT_EQ(v[192], -0.5f * 33);
}

TEST(Quant, Q6_KCombinesLowAndHighBits) {
  BlockQ6_K b{};
  b.d = f32_to_f16(0.5f);
  for (int i = 0; i < 16; ++i) b.scales[i] = static_cast<int8_t>(i + 1);
  // Element 0: ql[0] low nibble 0xA, qh[0] bits 0-1 = 2 -> q = 0xA | 2 << 4 = 42, minus 32 = 10.
  // Element 64: ql[0] high nibble 0x3, qh[0] bits 4-5 = 1 -> q = 3 | 16 = 19 - 32 = -13.
  b.ql[0] = 0x3A;
  b.qh[0] = 0x12;
  // Element 128 + 32 + 17 = 177 (second half, l = 17): ql[64 + 49] low nibble, qh[32 + 17] bits 2-3.
  b.ql[64 + 49] = 0x0F;
  b.qh[32 + 17] = 0x0C;  // bits 2-3 = 3 -> q = 15 | 48 = 63 - 32 = 31
  const std::vector<float> v = dequantize_block(b, DType::Q6_K);
  EXPECT_EQ(v[0], 0.5f * 1 * 10);            // scale scales[0] = 1
  EXPECT_EQ(v[64], 0.5f * 5 * -13);          // scales[0 + 4] = 5
  EXPECT_EQ(v[177], 0.5f * 12 * 31);         // half 1: scales[8 + 17/16 + 2] = scales[11] = 12
  EXPECT_EQ(v[1], 0.5f * 1 * -32);           // all bits zero
}

TEST(Quant, MatchesGgufPyOnRandomBlocks) {
  const nlohmann::json fixture = read_json_file(std::string(KVWB_SOURCE_DIR) + "/tests/fixtures/quant/blocks.json");
  const std::pair<const char*, DType> types[] = {
      {"q8_0", DType::Q8_0}, {"q4_0", DType::Q4_0}, {"q4_1", DType::Q4_1}, {"q4_k", DType::Q4_K}, {"q6_k", DType::Q6_K}};
  for (const auto& [name, dtype] : types) {
    const auto& c = fixture.at("types").at(name);
    const std::string hex = c.at("hex").get<std::string>();
    std::vector<uint8_t> bytes(hex.size() / 2);
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
    const auto want = c.at("values").get<std::vector<float>>();
    ASSERT_EQ(bytes.size() / dtype_info(dtype).block_bytes * dtype_info(dtype).block_elems, want.size()) << name;
    std::vector<float> got(want.size());
    dequantize_row(dtype, bytes.data() + 0, got.data(), static_cast<int64_t>(got.size()));
    for (size_t i = 0; i < want.size(); ++i) {
      // gguf-py computes in numpy f32 with the same operation order; allow one rounding step.
      EXPECT_NEAR(got[i], want[i], 1e-6 * std::fabs(want[i]) + 1e-9) << name << " value " << i;
    }
  }
}

// Random blocks with valid scales of every sign and size (subnormal f16 included).
std::vector<uint8_t> random_blocks(DType dtype, int64_t blocks, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> bytes(static_cast<size_t>(blocks * dtype_info(dtype).block_bytes));
  for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
  const float scales[] = {0.03f, -0.02f, 1e-6f /* subnormal in f16 */, 0.0f, 7.5f};
  for (int64_t i = 0; i < blocks; ++i) {
    uint8_t* p = bytes.data() + i * dtype_info(dtype).block_bytes;
    const uint16_t d = f32_to_f16(scales[rng() % 5]), m = f32_to_f16(scales[rng() % 5]);
    std::memcpy(p, &d, 2);
    if (dtype == DType::Q4_1) std::memcpy(p + 2, &m, 2);
  }
  return bytes;
}

TEST(Quant, CpuFastPathIsBitIdenticalToTheReference) {
  for (DType dtype : {DType::Q8_0, DType::Q4_0, DType::Q4_1}) {
    const int64_t n = 32 * 37;
    const std::vector<uint8_t> src = random_blocks(dtype, 37, 11);
    std::vector<float> ref(n), fast(n);
    dequantize_row(dtype, src.data(), ref.data(), n);
    cpu::dequantize_row_fast(dtype, src.data() + 0, fast.data(), n);
    EXPECT_EQ(std::memcmp(ref.data(), fast.data(), n * sizeof(float)), 0) << dtype_info(dtype).name;
  }
}

TEST(Quant, PartialBlocksAreRejected) {
  std::vector<uint8_t> src(40);
  std::vector<float> dst(64);
  EXPECT_THROW(dequantize_row(DType::Q4_1, src.data(), dst.data(), 33), std::invalid_argument);
  EXPECT_THROW(dequantize_row(DType::Q6_K, src.data(), dst.data(), 32), std::invalid_argument);
}

}  // namespace
}  // namespace kvwb::kernels
