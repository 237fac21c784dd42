// A fuzzing driver for any compiler (g++ has no libFuzzer): it replays every seed, then feeds
// random mutations of them to the target's LLVMFuzzerTestOneInput until it has run -runs inputs
// or -max_total_time seconds have passed. No coverage guidance: it is what CI runs under
// ASan+UBSan in the time it has; longer, coverage-guided runs use libFuzzer (tests/fuzz/README.md).
//
// Command line (a subset of libFuzzer's, so one ctest command serves both):
//   target [-runs=N] [-max_total_time=S] [-seed=N] [-timeout=S] [-max_len=N] [-dict=FILE]
//          [-artifact_prefix=DIR/] (CORPUS_DIR | FILE)...
// A crash, sanitizer report, uncaught exception or input that takes longer than -timeout
// writes the input to <artifact_prefix>crash-<hash> (or timeout-<hash>) and exits non-zero.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#if defined(KVWB_SANITIZER_BUILD) && __has_include(<sanitizer/common_interface_defs.h>)
#include <sanitizer/common_interface_defs.h>
#define KVWB_HAVE_DEATH_CALLBACK 1
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

using Bytes = std::vector<uint8_t>;

// The input being run, for the crash handlers (which may only make async-signal-safe calls).
const uint8_t* g_current = nullptr;
size_t g_current_size = 0;
char g_artifact_prefix[4096] = "./";

uint64_t fnv1a(const uint8_t* data, size_t size) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 1099511628211ull;
  return h;
}

// Writes the current input to <prefix><kind>-<hash>; async-signal-safe.
void write_artifact(const char* kind) {
  if (g_current == nullptr) return;
  char name[4200];
  char hex[17];
  uint64_t h = fnv1a(g_current, g_current_size);
  for (int i = 15; i >= 0; --i, h >>= 4) hex[i] = "0123456789abcdef"[h & 15];
  hex[16] = '\0';
  size_t n = 0;
  for (const char* parts[] = {g_artifact_prefix, kind, "-", hex}; const char* p : parts) {
    for (; *p != '\0' && n + 1 < sizeof(name); ++p) name[n++] = *p;
  }
  name[n] = '\0';
  const int fd = ::open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    for (size_t off = 0; off < g_current_size;) {
      const ssize_t w = ::write(fd, g_current + off, g_current_size - off);
      if (w <= 0) break;
      off += static_cast<size_t>(w);
    }
    ::close(fd);
  }
  const char* msg = "\nfuzz driver: input written to ";
  (void)!::write(2, msg, std::strlen(msg));
  (void)!::write(2, name, n);
  (void)!::write(2, "\n", 1);
  g_current = nullptr;  // once
}

void on_fatal_signal(int sig) {
  write_artifact(sig == SIGALRM ? "timeout" : "crash");
  if (sig == SIGALRM) {
    const char* msg = "fuzz driver: input ran past -timeout\n";
    (void)!::write(2, msg, std::strlen(msg));
    sig = SIGABRT;
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

#ifdef KVWB_HAVE_DEATH_CALLBACK
void on_sanitizer_death() { write_artifact("crash"); }
#endif

void install_handlers() {
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGALRM}) {
    struct sigaction sa {};
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    // Sanitizers install their own SEGV/BUS/FPE handlers: keep those (they report better) and
    // catch the input through the death callback instead.
#ifdef KVWB_HAVE_DEATH_CALLBACK
    if (sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE) continue;
#endif
    ::sigaction(sig, &sa, nullptr);
  }
#ifdef KVWB_HAVE_DEATH_CALLBACK
  __sanitizer_set_death_callback(on_sanitizer_death);
#endif
}

Bytes read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// libFuzzer dictionary lines: name="value" or "value", with \\, \" and \xNN escapes.
std::vector<Bytes> read_dictionary(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "fuzz driver: %s: cannot open dictionary\n", path.c_str());
    std::exit(2);
  }
  std::vector<Bytes> out;
  std::string line;
  while (std::getline(in, line)) {
    const size_t open = line.find('"');
    const size_t close = line.rfind('"');
    if (line.empty() || line[0] == '#' || open == std::string::npos || close <= open) continue;
    Bytes token;
    for (size_t i = open + 1; i < close; ++i) {
      if (line[i] == '\\' && i + 1 < close) {
        ++i;
        if (line[i] == 'x' && i + 2 < close) {
          token.push_back(static_cast<uint8_t>(std::stoi(line.substr(i + 1, 2), nullptr, 16)));
          i += 2;
          continue;
        }
      }
      token.push_back(static_cast<uint8_t>(line[i]));
    }
    if (!token.empty()) out.push_back(std::move(token));
  }
  return out;
}

class Mutator {
 public:
  Mutator(uint64_t seed, std::vector<Bytes> dictionary, size_t max_len)
      : rng_(seed), dictionary_(std::move(dictionary)), max_len_(max_len) {}

  // 1 to 4 random edits of `in`; `other` is a second input for splicing.
  Bytes mutate(const Bytes& in, const Bytes& other) {
    Bytes b = in;
    const int edits = 1 + static_cast<int>(below(4));
    for (int e = 0; e < edits; ++e) edit(b, other);
    if (b.size() > max_len_) b.resize(max_len_);
    return b;
  }

 private:
  uint64_t below(uint64_t n) { return n == 0 ? 0 : std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }

  // Half the edits land anywhere, half near the start, where headers, lengths and counts live.
  size_t position(size_t size) {
    if (size == 0) return 0;
    if (below(2) == 0) return below(size);
    const double scale = std::log2(static_cast<double>(size) + 1.0);
    const double x = std::exp2(std::uniform_real_distribution<double>(0.0, scale)(rng_)) - 1.0;
    return std::min(size - 1, static_cast<size_t>(x));
  }

  void put_integer(Bytes& b, size_t at, int width) {
    static const int64_t kInteresting[] = {0, 1, -1, 2, 7, 8, 16, 32, 64, 127, 128, 255, 256, 4096, 65535, 65536,
                                           INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, 1LL << 32, 1LL << 40};
    // Unsigned arithmetic: INT64_MIN - 2 wraps instead of overflowing.
    uint64_t v = static_cast<uint64_t>(kInteresting[below(std::size(kInteresting))]);
    if (below(4) == 0) v += below(5) - 2;
    for (int i = 0; i < width && at + static_cast<size_t>(i) < b.size(); ++i) b[at + static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
  }

  void edit(Bytes& b, const Bytes& other) {
    switch (below(b.empty() ? 2 : 10)) {
      case 0: {  // insert a dictionary token or random bytes
        const size_t at = b.empty() ? 0 : position(b.size() + 1);
        Bytes ins;
        if (!dictionary_.empty() && below(3) != 0) ins = dictionary_[below(dictionary_.size())];
        else for (uint64_t n = 1 + below(8); n > 0; --n) ins.push_back(static_cast<uint8_t>(below(256)));
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(std::min(at, b.size())), ins.begin(), ins.end());
        break;
      }
      case 1: {  // splice: a prefix of this input, a suffix of another
        if (other.empty()) break;
        const size_t cut = below(b.size() + 1);
        const size_t from = below(other.size());
        b.resize(cut);
        b.insert(b.end(), other.begin() + static_cast<std::ptrdiff_t>(from), other.end());
        break;
      }
      case 2: b[position(b.size())] ^= static_cast<uint8_t>(1u << below(8)); break;
      case 3: b[position(b.size())] = static_cast<uint8_t>(below(256)); break;
      case 4: {
        static const uint8_t kBytes[] = {0, 1, 0x7f, 0x80, 0xff, '"', '\\', '{', '[', '0', '9', '-', '.', 'e'};
        b[position(b.size())] = kBytes[below(std::size(kBytes))];
        break;
      }
      case 5: {
        static const int kWidths[] = {1, 2, 4, 8};
        put_integer(b, position(b.size()), kWidths[below(4)]);
        break;
      }
      case 6: {  // erase a range
        const size_t at = position(b.size());
        const size_t n = 1 + below(std::min<size_t>(b.size() - at, 64));
        b.erase(b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(at + n));
        break;
      }
      case 7: {  // duplicate a range
        const size_t at = position(b.size());
        const size_t n = 1 + below(std::min<size_t>(b.size() - at, 64));
        const Bytes piece(b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(at + n));
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(position(b.size())), piece.begin(), piece.end());
        break;
      }
      case 8: b.resize(below(b.size() + 1)); break;  // truncate
      default: {  // overwrite a run with one byte
        const size_t at = position(b.size());
        const size_t n = 1 + below(std::min<size_t>(b.size() - at, 16));
        std::fill_n(b.begin() + static_cast<std::ptrdiff_t>(at), n, static_cast<uint8_t>(below(256)));
        break;
      }
    }
  }

  std::mt19937_64 rng_;
  std::vector<Bytes> dictionary_;
  size_t max_len_;
};

struct Options {
  int64_t runs = -1;            // -1: until the time is up
  double max_total_time = 0;    // 0: no limit
  uint64_t seed = 1;
  unsigned timeout = 60;
  size_t max_len = 8u << 20;
  std::string dict;
  std::vector<std::string> inputs;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* flag) -> const char* {
      const size_t n = std::strlen(flag);
      return a.compare(0, n, flag) == 0 ? a.c_str() + n : nullptr;
    };
    if (const char* v = value("-runs=")) o.runs = std::atoll(v);
    else if (const char* v = value("-max_total_time=")) o.max_total_time = std::atof(v);
    else if (const char* v = value("-seed=")) o.seed = std::strtoull(v, nullptr, 10);
    else if (const char* v = value("-timeout=")) o.timeout = static_cast<unsigned>(std::atoi(v));
    else if (const char* v = value("-max_len=")) o.max_len = std::strtoull(v, nullptr, 10);
    else if (const char* v = value("-dict=")) o.dict = v;
    else if (const char* v = value("-artifact_prefix=")) std::snprintf(g_artifact_prefix, sizeof(g_artifact_prefix), "%s", v);
    else if (!a.empty() && a[0] == '-') std::fprintf(stderr, "fuzz driver: ignoring %s\n", a.c_str());
    else o.inputs.push_back(a);
  }
  return o;
}

std::vector<Bytes> load_inputs(const std::vector<std::string>& paths) {
  std::vector<Bytes> out;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      std::vector<std::filesystem::path> files;
      for (const auto& e : std::filesystem::recursive_directory_iterator(p)) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
      std::sort(files.begin(), files.end());  // the same order, so -seed reproduces a run
      for (const auto& f : files) out.push_back(read_file(f));
    } else if (std::filesystem::is_regular_file(p, ec)) {
      out.push_back(read_file(p));
    } else {
      std::fprintf(stderr, "fuzz driver: %s: no such file or directory\n", p.c_str());
      std::exit(2);
    }
  }
  return out;
}

void run_one(const Bytes& input, unsigned timeout) {
  g_current = input.data();
  g_current_size = input.size();
  ::alarm(timeout);
  LLVMFuzzerTestOneInput(input.data(), input.size());
  ::alarm(0);
  g_current = nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  const Options o = parse(argc, argv);
  install_handlers();
  std::vector<Bytes> corpus = load_inputs(o.inputs);
  if (corpus.empty()) corpus.push_back({});

  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  int64_t runs = 0;
  for (const Bytes& seed : corpus) {
    run_one(seed, o.timeout);
    ++runs;
  }
  const int64_t seeds = runs;
  Mutator mutator(o.seed, o.dict.empty() ? std::vector<Bytes>{} : read_dictionary(o.dict), o.max_len);
  std::mt19937_64 pick(o.seed ^ 0x5eedull);
  while ((o.runs < 0 || runs < o.runs) && (o.max_total_time <= 0 || elapsed() < o.max_total_time)) {
    const Bytes& a = corpus[pick() % corpus.size()];
    const Bytes& b = corpus[pick() % corpus.size()];
    run_one(mutator.mutate(a, b), o.timeout);
    ++runs;
  }
  std::printf("fuzz driver: %lld inputs (%lld seeds, %lld mutated) in %.1f s, seed %llu\n",
              static_cast<long long>(runs), static_cast<long long>(seeds), static_cast<long long>(runs - seeds),
              elapsed(), static_cast<unsigned long long>(o.seed));
  return 0;
}
