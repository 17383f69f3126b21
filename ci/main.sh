#!/usr/bin/env bash
# The main job: execute every chapter of the book, build it, check it in a browser and
# print where to open it. Extra arguments are ignored.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/ci/setup_env.sh"
cd "$root"
exec bash ci/build_book.sh
