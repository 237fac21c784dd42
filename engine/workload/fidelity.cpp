#include "engine/workload/fidelity.h"

#include <algorithm>

namespace kvwb {

double token_agreement(const std::vector<int32_t>& output, const std::vector<int32_t>& reference) {
  const size_t longest = std::max(output.size(), reference.size());
  if (longest == 0) return 1.0;  // both empty: nothing differs
  const size_t shortest = std::min(output.size(), reference.size());
  size_t same = 0;
  for (size_t i = 0; i < shortest; ++i) same += output[i] == reference[i] ? 1 : 0;
  return static_cast<double>(same) / static_cast<double>(longest);
}

}  // namespace kvwb
