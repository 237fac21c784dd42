#!/usr/bin/env bash
# Makes .venv-tools: Debian's python3 with its torch/numpy/matplotlib, plus the PyPI packages
# of tools/requirements.txt. Only the tools/ scripts use it (never CI).
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(python3-torch python3-numpy python3-matplotlib python3-venv libtcmalloc-minimal4)
missing=()
for p in "${pkgs[@]}"; do
  [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""; [[ $(id -u) -eq 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [[ ! -x .venv-tools/bin/python ]]; then
  /usr/bin/python3 -m venv --system-site-packages .venv-tools
fi
.venv-tools/bin/pip install -q -r tools/requirements.txt
echo "tools venv ready: .venv-tools/bin/python"
