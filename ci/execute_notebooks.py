"""Execute every notebook listed in the book's table of contents with papermill.

Each notebook runs in the kernel ``python3`` with the defaults of its ``parameters``
cell, in its own folder as working directory, and the executed copy is written under
the output folder at the same relative path. The source notebooks are only read. The
run stops at the first notebook that raises, or whose cell runs past the time limit,
and exits with status 1.

Usage: python ci/execute_notebooks.py --toc book/_toc.yml --out _build/site
"""

import argparse
import logging
import sys
import time
from pathlib import Path

import papermill
import yaml

logger = logging.getLogger("execute_notebooks")

ROOT = Path(__file__).resolve().parent.parent


def toc_files(toc_path: Path) -> list[str]:
    """List the ``root`` and every ``file`` entry of a jupyter-book toc, in order."""
    toc = yaml.safe_load(toc_path.read_text())
    files = []

    def walk(node):
        if isinstance(node, dict):
            for key in ("root", "file"):
                if key in node:
                    files.append(str(node[key]))
            for value in node.values():
                if isinstance(value, (dict, list)):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return files


def resolve_page(entry: str, root: Path) -> Path:
    """Find the file of a toc entry, which jupyter-book writes without its extension."""
    candidate = root / entry
    if candidate.suffix in (".ipynb", ".md") and candidate.is_file():
        return candidate
    for suffix in (".ipynb", ".md"):
        path = candidate.with_name(candidate.name + suffix)
        if path.is_file():
            return path
    raise FileNotFoundError(f"toc entry {entry!r} matches no .ipynb or .md file under {root}")


def toc_notebooks(toc_path: Path, root: Path = ROOT) -> list[Path]:
    """Return the notebooks listed in the toc, relative to ``root``."""
    pages = [resolve_page(entry, root) for entry in toc_files(toc_path)]
    return [page.relative_to(root) for page in pages if page.suffix == ".ipynb"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--toc", type=Path, default=ROOT / "book" / "_toc.yml", help="table of contents")
    parser.add_argument("--out", type=Path, required=True, help="folder for the executed copies")
    parser.add_argument("--kernel", default="python3", help="Jupyter kernel name (default: python3)")
    parser.add_argument(
        "--cell-timeout",
        type=int,
        default=600,
        help="seconds one cell may run before the notebook fails (default: 600)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")

    notebooks = toc_notebooks(args.toc.resolve())
    if not notebooks:
        logger.warning("the toc %s lists no notebooks", args.toc)

    for notebook in notebooks:
        source = ROOT / notebook
        target = args.out / notebook
        target.parent.mkdir(parents=True, exist_ok=True)
        logger.info("executing %s", notebook)
        started = time.perf_counter()
        try:
            papermill.execute_notebook(
                str(source),
                str(target),
                kernel_name=args.kernel,
                execution_timeout=args.cell_timeout,
                cwd=str(source.parent),
                progress_bar=False,
                request_save_on_cell_execute=False,
            )
        except papermill.PapermillExecutionError as error:
            logger.error("%s failed in cell %s: %s: %s", notebook, error.exec_count, error.ename, error.evalue)
            logger.error("the partly executed copy is %s", target)
            return 1
        except TimeoutError as error:
            logger.error("%s: a cell ran past %d s: %s", notebook, args.cell_timeout, error)
            return 1
        logger.info("executed %s in %.1f s -> %s", notebook, time.perf_counter() - started, target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
