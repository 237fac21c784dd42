#include "engine/model/model_paths.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "engine/core/error.h"

namespace kvwb {
namespace fs = std::filesystem;

namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? v : nullptr;
}

// Candidate roots of a kvwb checkout: $KVWB_HOME, the working directory and its parents, and
// the executable's directory and its parents (build/app/kvwb-cli lives two levels down).
std::vector<fs::path> project_roots() {
  std::vector<fs::path> roots;
  if (const char* home = env("KVWB_HOME")) roots.emplace_back(home);
  std::error_code ec;
  for (fs::path p = fs::current_path(ec); !ec && !p.empty(); p = p.parent_path()) {
    roots.push_back(p);
    if (p == p.root_path()) break;
  }
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (fs::path p = exe.parent_path(); !p.empty(); p = p.parent_path()) {
      roots.push_back(p);
      if (p == p.root_path()) break;
    }
  }
  return roots;
}

}  // namespace

std::string model_cache_dir() {
  if (const char* dir = env("KVWB_MODEL_CACHE")) return dir;
  if (const char* xdg = env("XDG_CACHE_HOME")) return (fs::path(xdg) / "kvwb" / "models").string();
  if (const char* home = env("HOME")) return (fs::path(home) / ".cache" / "kvwb" / "models").string();
  return "models/cache";
}

std::string resolve_model_path(const std::string& name) {
  std::error_code ec;
  if (fs::exists(name, ec)) return name;
  if (name == "demo") {
    for (const fs::path& root : project_roots()) {
      const fs::path p = root / "models" / "demo";
      if (fs::exists(p / "config.json", ec)) return p.string();
    }
    fail("demo", "the demo model (models/demo) was not found; run from the kvwb checkout or set KVWB_HOME");
  }
  if (name == "smollm2") {
    const fs::path p = fs::path(model_cache_dir()) / "SmolLM2-135M-Instruct.Q4_1.gguf";
    if (fs::exists(p, ec)) return p.string();
    fail(p.string(), "SmolLM2 is not downloaded yet; run scripts/fetch-models.sh");
  }
  fail(name, "no such model file or directory (shorthands: demo, smollm2)");
}

}  // namespace kvwb
