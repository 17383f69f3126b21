#!/usr/bin/env bash
# Run the test suite on the CPU, creating the virtual environment if needed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/ci/setup_env.sh"
cd "$root"
exec python -m pytest "$@"
