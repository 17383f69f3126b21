#!/usr/bin/env bash
# Build the book: execute the notebooks listed in book/_toc.yml with papermill, build the
# HTML with jupyter-book from the executed copies (warnings are errors), then open every
# page in headless Chromium to check that it renders offline.
#
# Run from an activated project environment (source ci/setup_env.sh). Needs npm and
# Chromium. The source notebooks are only read, and everything is written under _build/:
#   _build/site         staged sources: the config, book/, executed notebooks, JS assets
#   _build/html         the book, opened at _build/html/index.html
#   _build/screenshots  screenshots taken by the browser check
#
# Environment: BETALIB_CELL_TIMEOUT (seconds per notebook cell, default 600),
# BETALIB_CHROMIUM (Chromium executable), BETALIB_NB201 (passed on to the notebooks).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
started=$(date +%s)

chromium=${BETALIB_CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$chromium" ] || [ ! -x "$chromium" ]; then
  echo "error: Chromium not found, and the browser check needs it. Install it (Debian: apt-get install chromium) or set BETALIB_CHROMIUM to its executable." >&2
  exit 1
fi
export BETALIB_CHROMIUM=$chromium
for module in jupyter_book papermill playwright; do
  if ! python -c "import $module" 2>/dev/null; then
    echo "error: Python module $module not found in $(command -v python). Activate the project environment: source ci/setup_env.sh" >&2
    exit 1
  fi
done

site=_build/site
rm -rf "$site" _build/html _build/.doctrees _build/jupyter_execute _build/screenshots
mkdir -p "$site"

echo "== Staging the book's sources in $site"
cp _config.yml "$site/"
# Every top-level folder that holds a page of the toc, without notebook checkpoints; the
# notebooks among them are replaced by their executed copies below.
python - <<'PY' | while read -r folder; do cp -r "$folder" "$site/"; done
import sys
from pathlib import Path
sys.path.insert(0, "ci")
from execute_notebooks import resolve_page, toc_files
folders = {Path(entry).parts[0] for entry in toc_files(Path("book/_toc.yml"))}
folders.add("book")
print("\n".join(sorted(folders)))
PY
find "$site" -name .ipynb_checkpoints -prune -exec rm -rf {} +

echo "== Executing the notebooks"
python ci/execute_notebooks.py --toc book/_toc.yml --out "$site" --cell-timeout "${BETALIB_CELL_TIMEOUT:-600}"

echo "== Fetching the JavaScript assets"
bash ci/fetch_assets.sh "$site/_assets"

echo "== Building the HTML"
# --path-output . puts the pages in ./_build/html.
jupyter-book build "$root/$site" --config "$root/$site/_config.yml" --toc "$root/$site/book/_toc.yml" \
  --path-output . --builder html -W --keep-going

echo "== Checking the pages in Chromium"
python ci/check_book.py _build/html --screenshots _build/screenshots --chromium "$chromium"

echo "Built and checked in $(( $(date +%s) - started )) s."
echo "Open file://$root/_build/html/index.html"
