#!/usr/bin/env bash
# The main job: run a beta-DARTS search on the default dataset and print the derived cell.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/ci/setup_env.sh"
cd "$root"
exec betalib search --out "${BETALIB_RUN_DIR:-runs/main}" "$@"
