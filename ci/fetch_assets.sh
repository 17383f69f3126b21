#!/usr/bin/env bash
# Install the book's JavaScript from npm (versions pinned in package-lock.json) and copy
# what the pages load into DEST: require.js, the ipywidgets HTML manager and MathJax 3.
# plotly.js is copied from the installed plotly package, so that its version matches the
# figures that package writes. The book then renders with no network.
#
# Usage: bash ci/fetch_assets.sh DEST   (run with the project's Python environment active)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest=${1:?usage: ci/fetch_assets.sh DEST}

if ! command -v npm >/dev/null; then
  echo "error: npm not found. Install Node.js 18 or newer (with npm) to fetch the book's JavaScript." >&2
  exit 1
fi

# npm writes node_modules/.package-lock.json on every install, so a missing or outdated
# copy means node_modules does not match package-lock.json.
modules_stamp="$root/node_modules/.package-lock.json"
if [ ! -f "$modules_stamp" ] || [ "$root/package-lock.json" -nt "$modules_stamp" ]; then
  echo "Installing the book's npm packages into $root/node_modules"
  (cd "$root" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi

plotly_js=$(python -c 'import pathlib, plotly; print(pathlib.Path(plotly.__file__).parent / "package_data" / "plotly.min.js")')
if [ ! -f "$plotly_js" ]; then
  echo "error: $plotly_js not found. Install the book extra: pip install -e '.[book]'" >&2
  exit 1
fi

rm -rf "$dest"
mkdir -p "$dest/requirejs" "$dest/html-manager" "$dest/plotly"
modules="$root/node_modules"

cp "$modules/requirejs/require.js" "$dest/requirejs/require.js"

# embed-amd.js loads its fonts and icons from files beside it, named by content hash.
find "$modules/@jupyter-widgets/html-manager/dist" -maxdepth 1 -type f \
  ! -name '*.map' ! -name 'embed.js' ! -name 'libembed-amd.js' \
  -exec cp {} "$dest/html-manager/" \;

# MathJax loads its fonts and TeX extensions on demand from paths relative to
# tex-chtml.js, so the whole es5 tree is copied.
cp -r "$modules/mathjax/es5" "$dest/mathjax"
cp "$modules/mathjax/LICENSE" "$dest/mathjax/LICENSE"

cp "$plotly_js" "$dest/plotly/plotly.min.js"

echo "Copied the book's JavaScript into $dest"
