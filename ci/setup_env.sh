#!/usr/bin/env bash
# Create or reuse the virtual environment .venv and install betalib with its extras.
# Sourced by ci/test.sh and ci/main.sh; leaves the environment activated.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$root/.venv"
python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || python=python3

if [ ! -x "$venv/bin/python" ]; then
  echo "Creating the virtual environment $venv"
  "$python" -m venv "$venv"
fi
# shellcheck disable=SC1091
source "$venv/bin/activate"

# Reinstall only when pyproject.toml changed since the last install.
stamp="$venv/.betalib-installed"
if [ ! -f "$stamp" ] || [ "$root/pyproject.toml" -nt "$stamp" ]; then
  echo "Installing betalib and its dependencies into $venv"
  # torch is pinned first: on the project's machines this version resolves to a CPU
  # build on disk, where an unpinned torch would pull a multi-GB CUDA build.
  python -m pip install --quiet "torch==${BETALIB_TORCH_VERSION:-2.13.0}"
  python -m pip install --quiet -e "$root[book,benchmarks,test]"
  touch "$stamp"
fi
