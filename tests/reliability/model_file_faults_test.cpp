// Model files that change under a running kvwb. Weights are memory-mapped: a file deleted while
// loaded stays readable (the mapping holds the inode), and a file truncated while loaded must
// not kill the process with SIGBUS (mapping_guard.h): the lost bytes read as zeros and the next
// forward pass ends in an Error naming the file.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "engine/core/error.h"
#include "engine/core/mapped_file.h"
#include "engine/core/mapping_guard.h"
#include "engine/model/model.h"
#include "engine/runtime/generator.h"
#include "kernels/backend_factory.h"
#include "tests/sessions/session_test_util.h"

namespace kvwb {
namespace {

namespace fs = std::filesystem;
using testing_util::ScratchDir;

const std::string kSource = KVWB_SOURCE_DIR;
const std::vector<int32_t> kPrompt{1, 5, 9, 14, 3, 7};

GenerationOptions greedy(int64_t n) {
  GenerationOptions o;
  o.max_new_tokens = n;
  o.stop_at_eos = false;
  return o;
}

void fill_file(const std::string& path, size_t bytes, uint8_t value) {
  std::ofstream(path, std::ios::binary) << std::string(bytes, static_cast<char>(value));
}

TEST(MappingGuard, AFileTruncatedUnderItsMapReadsZerosAndIsMarkedDamaged) {
  ScratchDir dir;
  const std::string path = dir.file("blob.bin");
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  fill_file(path, 4 * page, 0xAB);
  MappedFile file(path);
  EXPECT_EQ(file.data()[3 * page + 5], 0xAB);
  EXPECT_FALSE(mapping_guard::damaged(file.data()));
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(page)), 0);
  // Without the guard this read is a SIGBUS: the page left the file.
  const volatile uint8_t* lost = file.data() + 3 * page + 5;
  EXPECT_EQ(*lost, 0);
  EXPECT_TRUE(mapping_guard::damaged(file.data()));
  EXPECT_EQ(file.data()[5], 0xAB) << "bytes still in the file stay the file's";
}

TEST(MappingGuard, ASigbusOutsideGuardedMappingsStillKills) {
  ScratchDir dir;
  const std::string path = dir.file("unguarded.bin");
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  fill_file(path, 4 * page, 1);
  MappedFile guarded(path);  // installs the handler, guards only its own range
  EXPECT_DEATH(
      {
        const int fd = ::open(path.c_str(), O_RDONLY);
        void* raw = ::mmap(nullptr, 4 * page, PROT_READ, MAP_PRIVATE, fd, 0);
        (void)!::ftruncate(::open(path.c_str(), O_RDWR), static_cast<off_t>(page));
        const volatile uint8_t* p = static_cast<const uint8_t*>(raw) + 3 * page;
        std::printf("%d\n", *p);
      },
      "");
}

TEST(ModelFile, DeletedWhileLoadedKeepsGeneratingTheSameTokens) {
  ScratchDir dir;
  const fs::path copy = dir.path() / "llama-tied";
  fs::copy(kSource + "/tests/fixtures/models/llama-tied", copy);
  const std::unique_ptr<Model> model = load_model(copy.string());
  auto backend = kernels::make_cpu_backend(1);
  const std::vector<int32_t> before = generate(*model, *backend, kPrompt, greedy(12)).tokens;
  fs::remove_all(copy);
  ASSERT_FALSE(fs::exists(copy));
  EXPECT_EQ(generate(*model, *backend, kPrompt, greedy(12)).tokens, before);
  for (const MappedFile& f : model->weights.files) EXPECT_FALSE(mapping_guard::damaged(f.data()));
}

// Truncates `weights` to a quarter (the header stays, most tensors go) while `model` is loaded
// and expects the next generation to fail with an Error naming the file.
void expect_truncation_is_an_error(const Model& model, const std::string& weights) {
  auto backend = kernels::make_cpu_backend(1);
  ASSERT_EQ(generate(model, *backend, kPrompt, greedy(4)).tokens.size(), 4u);
  ASSERT_EQ(::truncate(weights.c_str(), static_cast<off_t>(fs::file_size(weights) / 4)), 0);
  try {
    generate(model, *backend, kPrompt, greedy(4));
    FAIL() << "generated from a truncated file";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind(weights + ": ", 0), 0u) << what;
    EXPECT_NE(what.find("shrank while kvwb had it memory-mapped"), std::string::npos) << what;
  }
}

TEST(ModelFile, SafetensorsTruncatedWhileLoadedIsAnErrorNamingTheFile) {
  ScratchDir dir;
  const fs::path copy = dir.path() / "llama-tied";
  fs::copy(kSource + "/tests/fixtures/models/llama-tied", copy);
  const std::unique_ptr<Model> model = load_model(copy.string());
  expect_truncation_is_an_error(*model, (copy / "model.safetensors").string());
}

TEST(ModelFile, GgufTruncatedWhileLoadedIsAnErrorNamingTheFile) {
  ScratchDir dir;
  const fs::path copy = dir.path() / "llama-tied.gguf";
  fs::copy_file(kSource + "/tests/fixtures/gguf/llama-tied.gguf", copy);
  const std::unique_ptr<Model> model = load_model(copy.string());
  expect_truncation_is_an_error(*model, copy.string());
}

TEST(ModelFile, TruncatedBeforeLoadingIsAnErrorNamingTheFile) {
  ScratchDir dir;
  const fs::path copy = dir.path() / "llama-tied";
  fs::copy(kSource + "/tests/fixtures/models/llama-tied", copy);
  const std::string weights = (copy / "model.safetensors").string();
  ASSERT_EQ(::truncate(weights.c_str(), static_cast<off_t>(fs::file_size(weights) - 1)), 0);
  try {
    load_model(copy.string());
    FAIL() << "loaded a truncated file";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(weights + ": ", 0), 0u) << e.what();
  }
}

}  // namespace
}  // namespace kvwb
