#!/usr/bin/env bash
# Regenerate the records in results/ from scratch: run every grid of the results page
# with `betalib experiment run`, then write its record with `betalib experiment record`.
#
# BETALIB_NB201 must name a NAS-Bench-201 file or table, because the records hold the
# benchmark accuracies of the found cells. The grids share one run folder, so a run that
# two grids contain (beta-decay with lambda 0-50, for one) is searched once. Rerunning
# this script with KEEP_RUNS=1 resumes an interrupted regeneration instead of starting
# over. There are about 170 searches of about half a minute each on one CPU thread, run
# JOBS at a time, so JOBS=2 takes some 50 minutes on two cores. CI does not run this script.
#
# The prose of notebooks/90-results.ipynb takes its numbers from the records. Its sentences
# were written for the records in the repository, so read them again after a regeneration.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/ci/setup_env.sh"
cd "$root"

: "${BETALIB_NB201:?set BETALIB_NB201 to a NAS-Bench-201 file, folder or table}"
runs=${RUNS_DIR:-runs/results}
jobs=${JOBS:-2}
grids=${GRIDS:-"preset-screen collapse regularizers controls schedules loss-variants temperature"}

if [ "${KEEP_RUNS:-0}" != 1 ]; then
  rm -rf "$runs"
fi
mkdir -p results
for grid in $grids; do
  betalib experiment run "$grid" --out "$runs" --jobs "$jobs" --no-progress
  betalib experiment record "$runs" --to "results/$grid.json"
done
