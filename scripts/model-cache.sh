# Sourced by scripts that need the model cache (fetch-models.sh, bench/llamacpp_compare.sh):
# the same rule as model_cache_dir() in engine/model/model_paths.cpp.
kvwb_model_cache_dir() {
  if [[ -n "${KVWB_MODEL_CACHE:-}" ]]; then
    echo "$KVWB_MODEL_CACHE"
  elif [[ -n "${XDG_CACHE_HOME:-}" ]]; then
    echo "$XDG_CACHE_HOME/kvwb/models"
  elif [[ -n "${HOME:-}" ]]; then
    echo "$HOME/.cache/kvwb/models"
  else
    echo "models/cache"
  fi
}
