"""Static checks of the book's notebooks and table of contents, which execute nothing.

The book's build (ci/build_book.sh) runs every notebook listed in book/_toc.yml with
papermill in the kernel ``python3``. Papermill puts any overriding settings after the
cell tagged ``parameters``, so each notebook names that kernel, has that cell, and is
stored without outputs.
"""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOC = ROOT / "book" / "_toc.yml"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

sys.path.insert(0, str(ROOT / "ci"))
from execute_notebooks import resolve_page, toc_files  # noqa: E402


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def notebook_id(path):
    return path.name


def test_notebooks_folder_not_empty():
    assert NOTEBOOKS, "no notebooks found under notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_notebook_has_no_outputs(path):
    cells = [cell for cell in load(path)["cells"] if cell["cell_type"] == "code"]
    with_outputs = [index for index, cell in enumerate(cells) if cell.get("outputs")]
    assert not with_outputs, f"{path.name}: code cells {with_outputs} store outputs; clear them"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_notebook_has_no_execution_counts(path):
    cells = [cell for cell in load(path)["cells"] if cell["cell_type"] == "code"]
    counted = [index for index, cell in enumerate(cells) if cell.get("execution_count") is not None]
    assert not counted, f"{path.name}: code cells {counted} store execution counts; clear them"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_notebook_kernel_is_python3(path):
    kernel = load(path)["metadata"].get("kernelspec", {}).get("name")
    assert kernel == "python3", f"{path.name}: kernel is {kernel!r}, expected 'python3'"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_notebook_has_parameters_cell(path):
    tagged = [
        cell
        for cell in load(path)["cells"]
        if cell["cell_type"] == "code" and "parameters" in cell.get("metadata", {}).get("tags", [])
    ]
    assert len(tagged) == 1, f"{path.name}: expected one code cell tagged 'parameters', found {len(tagged)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_notebook_listed_in_toc(path):
    entries = {entry.removesuffix(".ipynb") for entry in toc_files(TOC)}
    relative = path.relative_to(ROOT).with_suffix("").as_posix()
    assert relative in entries, f"{relative} is missing from {TOC.relative_to(ROOT)}"


def test_toc_entries_exist():
    missing = []
    for entry in toc_files(TOC):
        try:
            resolve_page(entry, ROOT)
        except FileNotFoundError:
            missing.append(entry)
    assert not missing, f"{TOC.relative_to(ROOT)} lists pages with no file: {missing}"
