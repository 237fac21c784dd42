#pragma once
// One exception type for every bad-input and runtime error in kvwb. Messages name the file
// (or key) first and then the problem, so the CLI can print them as a single line.
#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <string_view>

namespace kvwb {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws Error("<where>: <message>"). `where` is a file path, a key or a tensor name.
template <typename... Args>
[[noreturn]] void fail(std::string_view where, fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format("{}: {}", where, fmt::format(format, std::forward<Args>(args)...)));
}

}  // namespace kvwb
