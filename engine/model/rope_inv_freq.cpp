// RoPE inverse frequencies as transformers computes them (modeling_rope_utils.py:
// _compute_default_rope_parameters and _compute_llama3_parameters). Computed in double and
// rounded once to float; transformers works in float32 throughout, so values agree to ~1 ulp.
#include <cmath>
#include <numbers>

#include "engine/model/model_config.h"

namespace kvwb {

std::vector<float> rope_inv_freq(const ModelConfig& config) {
  const int64_t dim = config.head_dim;
  const double base = config.rope_theta;
  const RopeScaling& s = config.rope_scaling;
  const bool llama3 = s.type == "llama3";
  // Llama 3.1: wavelengths shorter than old_context / high_freq_factor keep their frequency,
  // longer than old_context / low_freq_factor are slowed by `factor`, and the band between
  // blends the two linearly in old_context / wavelength.
  const double old_context = static_cast<double>(s.original_max_position_embeddings);
  const double low_freq_wavelen = old_context / s.low_freq_factor;
  const double high_freq_wavelen = old_context / s.high_freq_factor;

  std::vector<float> out(static_cast<size_t>(dim / 2));
  for (int64_t i = 0; i < dim / 2; ++i) {
    double f = 1.0 / std::pow(base, static_cast<double>(2 * i) / static_cast<double>(dim));
    if (llama3) {
      const double wavelen = 2.0 * std::numbers::pi / f;
      if (wavelen > low_freq_wavelen) {
        f /= s.factor;
      } else if (wavelen >= high_freq_wavelen) {
        const double smooth = (old_context / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
        f = (1.0 - smooth) * f / s.factor + smooth * f;
      }
    }
    out[static_cast<size_t>(i)] = static_cast<float>(f);
  }
  return out;
}

}  // namespace kvwb
