"""Grids of searches: read a grid, run its searches in processes, resume, and the CLI.

A grid is a set of cells (settings that differ, such as the regularizer and the
lambda schedule of Ye et al., "beta-DARTS: Beta-Decay Regularization for
Differentiable Architecture Search", CVPR 2022) crossed with a list of seeds. Each
run writes ``DIR/<cell>-s<seed>/run.json`` and a checkpoint through
:func:`betalib.search.search`, and ``DIR/grid.json`` maps runs to cells. Running the
same grid into the same folder again skips finished runs and resumes unfinished ones
from their checkpoints. :mod:`betalib.aggregate` turns the folder into tables.

A grid file is TOML (read with ``tomllib``) or JSON with these keys::

    name = "collapse"                 # required
    description = "DARTS against beta-DARTS"
    preset = "collapse"               # optional: a name in betalib.config.PRESETS
    seeds = [0, 1, 2]                 # required
    benchmark = "BETALIB_NB201"       # optional: environment variable naming the benchmark
    [settings]                        # SearchConfig fields shared by every run
    epochs = 10
    [axes]                            # every combination of these values is a cell
    regularizer = ["none", "beta"]
    [[cells]]                         # explicit cells, crossed with the axes
    name = "beta-0-50"                # optional; made from the settings otherwise
    regularizer = "beta"
    lam = "0-50"

Runs use one PyTorch thread each unless the grid sets ``threads``.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import multiprocessing
import os
import re
import shlex
import sys
import threading
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from .cli import positive_int
from .config import PRESETS, SearchConfig

logger = logging.getLogger(__name__)

GRID_FILE = "grid.json"
GRID_KEYS = ("name", "description", "preset", "seeds", "benchmark", "settings", "axes", "cells")

# Settings that may differ between a saved run and the grid without making it another run:
# they change where or how fast a search runs, not what it computes.
MACHINE_SETTINGS = ("progress", "threads", "device", "benchmark", "data_dir")


class GridError(ValueError):
    """A grid file or grid preset is invalid, or an output folder contains other runs."""


@dataclass(frozen=True)
class RunSpec:
    """One search of a grid: its folder name, cell, seed and complete settings."""

    name: str
    cell: str
    seed: int
    changes: dict  # the cell's settings, without the shared ones
    config: dict  # SearchConfig.to_dict() of the run


@dataclass
class Grid:
    """A parsed grid: its name, where it came from, and its runs in order."""

    name: str
    description: str
    source: str
    benchmark_variable: str | None
    definition: dict
    runs: list[RunSpec] = field(default_factory=list)

    @property
    def cells(self) -> list[str]:
        return list(dict.fromkeys(run.cell for run in self.runs))


# Named grids of the results page: the collapse preset, then the tables of the paper.
_BETA_SCHEDULES = {"increasing": ["0-15", "0-25", "0-50", "0-100"],
                   "constant": ["5", "10", "15", "25"],
                   "decreasing": ["25-15", "25-10", "25-5", "25-0"]}

# The candidates for the collapse preset: Fashion-MNIST at 8x8, 8 channels, Adam on
# alpha, each with another training subset, length, depth or alpha learning rate. The
# preset is the candidate in which DARTS ends with at least 3 of 6 edges on skip_connect or
# none in most of seeds 0-4 and beta-DARTS in none of them. Both the final argmax and beta
# averaged over the last 3 epochs count. The collapse grid checks it again on seeds 5-9.
_SCREEN_CANDIDATES = {
    "2k-12e": {"train_size": 2000, "epochs": 12},
    "2k-12e-lr1e-2": {"train_size": 2000, "epochs": 12, "alpha_lr": 1e-2},
    "4k-6e": {"train_size": 4000, "epochs": 6},
    "4k-6e-lr1e-2": {"train_size": 4000, "epochs": 6, "alpha_lr": 1e-2},
    "4k-6e-n4": {"train_size": 4000, "epochs": 6, "cells_per_stage": 4},
    "4k-8e": {"train_size": 4000, "epochs": 8},
    "6k-6e": {"train_size": 6000, "epochs": 6},
}

GRID_PRESETS: dict[str, dict] = {
    "preset-screen": {
        "description": "Candidates for the collapse preset: DARTS against beta-DARTS (lambda 0-50).",
        "seeds": [0, 1, 2, 3, 4],
        "settings": {"dataset": "fashion-mnist", "image_size": 8, "channels": 8, "cells_per_stage": 3,
                     "alpha_lr": 3e-3},
        "cells": [{"name": f"{method}-{candidate}", **method_settings, **settings}
                  for candidate, settings in _SCREEN_CANDIDATES.items()
                  for method, method_settings in (("darts", {"regularizer": "none"}),
                                                  ("beta", {"regularizer": "beta", "lam": "0-50"}))],
    },
    "collapse": {
        "description": "Plain DARTS against beta-DARTS (lambda 0-50) on the collapse preset.",
        "preset": "collapse", "seeds": list(range(10)), "benchmark": "BETALIB_NB201",
        "cells": [
            {"name": "darts", "regularizer": "none"},
            {"name": "beta-0-50", "regularizer": "beta", "lam": "0-50"},
        ],
    },
    "schedules": {
        "description": "Beta-decay under increasing, constant and decreasing lambda schedules "
                       "(Table 3 of Ye et al., CVPR 2022).",
        "preset": "collapse", "seeds": [0, 1, 2], "benchmark": "BETALIB_NB201",
        "settings": {"regularizer": "beta"},
        "cells": [{"name": f"beta-{lam}", "lam": lam} for lams in _BETA_SCHEDULES.values() for lam in lams],
    },
    "loss-variants": {
        "description": "Beta-decay against its beta-global and beta-zero variants "
                       "(Table 4 of Ye et al., CVPR 2022).",
        "preset": "collapse", "seeds": [0, 1, 2], "benchmark": "BETALIB_NB201",
        "cells": [{"name": f"{regularizer}-{lam}", "regularizer": regularizer, "lam": lam}
                  for lam in ("0-25", "0-50", "0-75", "0-100")
                  for regularizer in ("beta", "beta-global", "beta-zero")],
    },
    "regularizers": {
        "description": "L2, decoupled weight decay and beta-decay on alpha, side by side.",
        "preset": "collapse", "seeds": [0, 1, 2], "benchmark": "BETALIB_NB201",
        "cells": [
            {"name": "beta-0-50", "regularizer": "beta", "lam": "0-50"},
            {"name": "l2-0-1", "regularizer": "l2", "lam": "0-1"},
            {"name": "weight-decay-0-50", "regularizer": "weight-decay", "lam": "0-50"},
        ],
    },
    # DARTS freezes alpha from epoch 2: in the collapse grid, beta-decay's centered alpha
    # moves less than a tenth of its first-epoch step from epoch 2 on (``settling_epoch``
    # of the mean over seeds). An SGD learning rate of 1 on alpha is an estimate of what
    # lets the cross-entropy gradient, about 1e-3 per entry, move alpha in 248 steps.
    "controls": {
        "description": "DARTS with alpha frozen early, and beta-decay and DARTS with plain SGD on alpha.",
        "preset": "collapse", "seeds": [0, 1, 2], "benchmark": "BETALIB_NB201",
        "cells": [
            {"name": "darts", "regularizer": "none"},
            {"name": "beta-0-50", "regularizer": "beta", "lam": "0-50"},
            {"name": "darts-freeze-2", "regularizer": "none", "freeze_alpha_epoch": 2},
            {"name": "beta-0-50-sgd", "regularizer": "beta", "lam": "0-50", "alpha_optimizer": "sgd", "alpha_lr": 1.0},
            {"name": "darts-sgd", "regularizer": "none", "alpha_optimizer": "sgd", "alpha_lr": 1.0},
        ],
    },
    "temperature": {
        "description": "Temperature-decay DARTS: no regularizer, the softmax temperature falling from 1 to 0.1.",
        "preset": "collapse", "seeds": [0, 1, 2], "benchmark": "BETALIB_NB201",
        "cells": [
            {"name": "darts", "regularizer": "none"},
            {"name": "darts-temperature-1-0.1", "regularizer": "none", "temperature": "1-0.1"},
        ],
    },
}


# Reading grids.


def load_grid(grid: str | os.PathLike | dict, benchmark: bool = True) -> Grid:
    """Read a grid from a TOML or JSON file, a name in ``GRID_PRESETS`` or a dict.

    Every run's settings are built and checked here, so a bad grid fails before any
    search starts. With ``benchmark`` true and a grid that names a benchmark variable,
    that variable must be set. Raises ``GridError`` naming the problem and the fix.
    """
    if isinstance(grid, dict):
        definition, source = dict(grid), "<dict>"
    elif str(grid) in GRID_PRESETS:
        definition, source = {"name": str(grid), **GRID_PRESETS[str(grid)]}, f"preset {grid}"
    else:
        definition, source = _read_grid_file(Path(grid)), str(grid)
    return _build_grid(definition, source, benchmark)


def _read_grid_file(path: Path) -> dict:
    if not path.is_file():
        raise GridError(
            f"grid {str(path)!r} is neither a file nor a grid preset; "
            f"valid presets are {', '.join(GRID_PRESETS)}"
        )
    text = path.read_text()
    try:
        if path.suffix == ".json":
            return json.loads(text)
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        kind = "JSON" if path.suffix == ".json" else "TOML"
        raise GridError(f"invalid {kind} in grid file {path}: {error}") from None


def _build_grid(definition: dict, source: str, benchmark: bool) -> Grid:
    if not isinstance(definition, dict):
        raise GridError(f"grid {source} must be a table of keys; valid keys are {', '.join(GRID_KEYS)}")
    unknown = sorted(set(definition) - set(GRID_KEYS))
    if unknown:
        raise GridError(f"unknown keys {unknown} in grid {source}; valid keys are {', '.join(GRID_KEYS)}")
    name = definition.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9._-]+", name):
        raise GridError(f"grid {source} needs a name of letters, digits, '.', '_' or '-', got {name!r}")

    seeds = definition.get("seeds")
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise GridError(f"grid {source}: seeds must be a non-empty list of integers such as [0, 1, 2], got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise GridError(f"grid {source}: seeds {seeds} repeat a seed; list each seed once")

    base = {}
    preset_name = definition.get("preset")
    if preset_name is not None:
        if preset_name not in PRESETS:
            raise GridError(f"grid {source}: unknown preset {preset_name!r}; valid presets are {', '.join(PRESETS)}")
        base.update(PRESETS[preset_name])
    settings = _table(definition, "settings", source)
    base.update(settings)

    variable = definition.get("benchmark")
    if variable is not None and not (isinstance(variable, str) and variable):
        raise GridError(f"grid {source}: benchmark must name an environment variable such as 'BETALIB_NB201', got {variable!r}")
    if variable is not None and benchmark:
        path = os.environ.get(variable)
        if not path:
            raise GridError(
                f"grid {name} looks cells up in the benchmark named by ${variable}, which is not set; "
                f"set it to a NAS-Bench-201 file or table, or pass --no-benchmark"
            )
        base["benchmark"] = path
    base.setdefault("threads", 1)
    base["progress"] = False

    known = {field.name for field in dataclasses.fields(SearchConfig)}
    runs = []
    for cell_name, changes in _cells(definition, source):
        unknown = sorted(set(base) - known) + sorted(set(changes) - known)
        if unknown:
            raise GridError(
                f"grid {source}, cell {cell_name}: unknown settings {unknown}; "
                f"valid settings are the fields of SearchConfig: {', '.join(sorted(known))}"
            )
        for seed in seeds:
            values = {**base, **changes, "seed": seed}
            try:
                config = SearchConfig(**values)
            except (TypeError, ValueError) as error:
                raise GridError(f"grid {source}, cell {cell_name}: {error}") from None
            runs.append(RunSpec(f"{cell_name}-s{seed}", cell_name, seed, changes, config.to_dict()))

    return Grid(name, str(definition.get("description", "")), source, variable, definition, runs)


def _table(definition: dict, key: str, source: str) -> dict:
    value = definition.get(key, {})
    if not isinstance(value, dict):
        raise GridError(f"grid {source}: {key} must be a table of SearchConfig fields, got {value!r}")
    if "seed" in value:
        raise GridError(f"grid {source}: set seeds with the top-level key 'seeds', not in {key}")
    return value


def _cells(definition: dict, source: str) -> list[tuple[str, dict]]:
    """Return (name, settings) of every cell: the explicit cells crossed with the axes."""
    explicit = definition.get("cells", [{}])
    if not isinstance(explicit, list) or not explicit or not all(isinstance(c, dict) for c in explicit):
        raise GridError(f"grid {source}: cells must be a non-empty list of tables of settings")
    axes = _table(definition, "axes", source)
    for key, values in axes.items():
        if not isinstance(values, list) or not values:
            raise GridError(f"grid {source}: axis {key} must be a non-empty list of values, got {values!r}")

    cells = []
    for cell in explicit:
        if "seed" in cell:
            raise GridError(f"grid {source}: set seeds with the top-level key 'seeds', not in a cell")
        given_name = cell.get("name")
        changes = {k: v for k, v in cell.items() if k != "name"}
        for combination in itertools.product(*axes.values()):
            axis_changes = dict(zip(axes, combination))
            merged = {**changes, **axis_changes}
            parts = [given_name] if given_name else []
            parts += [f"{key}-{value}" for key, value in (merged if not given_name else axis_changes).items()]
            cells.append((_folder_name("_".join(str(p) for p in parts) or "default"), merged))

    names = [name for name, _ in cells]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise GridError(f"grid {source}: cell names {repeated} repeat; give each cell a distinct name")
    return cells


def _folder_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")


# Running grids.


@dataclass
class RunOutcome:
    """The result of one run: its status (ran, resumed, skipped, interrupted or failed) and time."""

    name: str
    status: str
    seconds: float = 0.0
    genotype: str | None = None
    error: str | None = None


def plan_run(spec: RunSpec, folder: Path) -> str:
    """Return ``skip``, ``resume`` or ``run`` for the run in ``folder``.

    Raises ``GridError`` when the folder contains a run with other settings, because
    mixing it into this grid's tables would be wrong.
    """
    from .history import RUN_FILE
    from .search import CHECKPOINT_FILE

    record_path = folder / RUN_FILE
    if not record_path.is_file():
        return "resume" if (folder / CHECKPOINT_FILE).is_file() else "run"
    record = json.loads(record_path.read_text())
    differences = _differences(record.get("config", {}), spec.config)
    if differences:
        raise GridError(
            f"{folder} contains a run with other settings ({'; '.join(differences)}); "
            f"use another --out folder or delete {folder}"
        )
    if record.get("finished"):
        return "skip"
    return "resume" if (folder / CHECKPOINT_FILE).is_file() else "run"


def _differences(saved: dict, planned: dict) -> list[str]:
    keys = sorted((set(saved) | set(planned)) - set(MACHINE_SETTINGS))
    return [f"{key}: saved {saved.get(key)!r}, grid {planned.get(key)!r}"
            for key in keys if saved.get(key) != planned.get(key)]


def execute_run(task: tuple[RunSpec, str, str]) -> RunOutcome:
    """Run, or resume, one search of a grid; return its outcome instead of raising.

    This is the function that worker processes call, so it catches errors and reports
    them in the outcome: one failed run must not stop the rest of the grid.
    """
    from .search import SearchDivergedError, search

    spec, folder, action = task
    started = time.perf_counter()
    try:
        if action == "resume":
            result = search(resume=folder)
        else:
            result = search(SearchConfig.from_dict(spec.config), out_dir=folder)
    except SearchDivergedError as error:
        logger.error("run %s diverged: %s", spec.name, error)
        return RunOutcome(spec.name, "failed", time.perf_counter() - started, error=str(error))
    except Exception as error:  # noqa: BLE001 - reported in the outcome, with its type
        logger.exception("run %s failed", spec.name)
        return RunOutcome(spec.name, "failed", time.perf_counter() - started, error=f"{type(error).__name__}: {error}")
    status = "resumed" if action == "resume" else "ran"
    if not result.finished:
        status = "interrupted"
    genotype = result.genotype.to_string() if result.genotype is not None else None
    return RunOutcome(spec.name, status, time.perf_counter() - started, genotype)


def _worker_init(level: int) -> None:
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    # The search's disabled progress bar still creates tqdm's lock. A thread lock keeps
    # the worker from registering a semaphore that outlives it.
    tqdm.set_lock(threading.RLock())


def run_grid(grid: Grid, out_dir, jobs: int = 1, command: str | None = None, progress: bool = True) -> list[RunOutcome]:
    """Run every search of ``grid`` into ``out_dir``, ``jobs`` processes at a time.

    Finished runs are skipped and unfinished ones resume from their checkpoints.
    With ``jobs`` above 1, the searches run in worker processes started with the
    "spawn" method, each with the thread count of its settings. Returns one outcome
    per run, in the grid's order.
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_grid_file(grid, out_dir, command)

    outcomes: dict[str, RunOutcome] = {}
    tasks = []
    for spec in grid.runs:
        folder = out_dir / spec.name
        action = plan_run(spec, folder)
        if action == "skip":
            outcomes[spec.name] = RunOutcome(spec.name, "skipped")
        else:
            tasks.append((spec, str(folder), action))
    logger.info("grid %s: %d runs, %d to run or resume, %d finished before",
                grid.name, len(grid.runs), len(tasks), len(grid.runs) - len(tasks))

    parallel = jobs > 1 and len(tasks) > 1
    if parallel and not hasattr(tqdm, "_lock"):
        # A thread lock for the bar: tqdm's default multiprocessing lock leaves a
        # "leaked semaphore" warning at exit, and the workers never write to this bar.
        tqdm.set_lock(threading.RLock())
    bar = tqdm(total=len(grid.runs), initial=len(grid.runs) - len(tasks), unit="run",
               desc=grid.name, disable=not progress)
    try:
        if not parallel:
            for task in tasks:
                outcome = execute_run(task)
                outcomes[outcome.name] = outcome
                bar.update(1)
                if outcome.status == "interrupted":
                    raise KeyboardInterrupt  # Ctrl-C ended this search, so the grid stops too
        else:
            context = multiprocessing.get_context("spawn")
            level = logging.getLogger().getEffectiveLevel()
            with context.Pool(min(jobs, len(tasks)), initializer=_worker_init,
                              initargs=(max(level, logging.WARNING),)) as pool:
                for outcome in pool.imap_unordered(execute_run, tasks):
                    outcomes[outcome.name] = outcome
                    bar.update(1)
                pool.close()
                pool.join()
    finally:
        bar.close()
    for outcome in outcomes.values():
        if outcome.status == "failed":
            logger.error("run %s failed: %s", outcome.name, outcome.error)
    return [outcomes[spec.name] for spec in grid.runs]


def write_grid_file(grid: Grid, out_dir: Path, command: str | None) -> Path:
    """Write ``grid.json``: the grid's definition, its runs and cells, and the command."""
    data = {
        "name": grid.name,
        "description": grid.description,
        "source": grid.source,
        "benchmark_variable": grid.benchmark_variable,
        "definition": grid.definition,
        "command": command,
        "runs": [{"name": r.name, "cell": r.cell, "seed": r.seed, "changes": r.changes} for r in grid.runs],
    }
    path = out_dir / GRID_FILE
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(data, indent=1))
    os.replace(temporary, path)
    return path


# The command line.


def register(subparsers) -> None:
    """Add ``betalib experiment`` with its ``list``, ``run``, ``report`` and ``record`` commands."""
    experiment = subparsers.add_parser(
        "experiment", help="run grids of searches and tabulate them",
        description="Run a grid of searches (seeds x settings) in processes, resume it, and tabulate the runs.",
    )
    commands = experiment.add_subparsers(dest="experiment_command", parser_class=type(experiment))
    experiment.set_defaults(func=lambda args: _usage(experiment))

    listing = commands.add_parser("list", help="list the named grids")
    listing.set_defaults(func=_list_grids)

    run = commands.add_parser("run", help="run a grid, skipping finished runs and resuming unfinished ones")
    run.add_argument("grid", help=f"grid file (.toml or .json) or preset: {', '.join(GRID_PRESETS)}")
    run.add_argument("--out", required=True, help="folder for grid.json and one subfolder per run")
    run.add_argument("--jobs", type=positive_int, default=1, help="searches at a time, each in its own process (default 1)")
    run.add_argument("--no-benchmark", action="store_true", help="do not look cells up in the grid's benchmark")
    run.add_argument("--dry-run", action="store_true", help="list the runs and what would happen to each, and stop")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    run.set_defaults(func=_run_command)

    report = commands.add_parser("report", help="print the tables of a run folder or a results record")
    report.add_argument("source", help="folder given to 'experiment run --out', or a record written by 'experiment record'")
    report.add_argument("--last", type=positive_int, default=None, help="epochs averaged for the last-epochs columns (default 3)")
    report.add_argument("--json", action="store_true", help="print the tables as JSON")
    report.set_defaults(func=_report_command)

    record = commands.add_parser("record", help="write a small JSON record of a run folder, for results/")
    record.add_argument("source", help="folder given to 'experiment run --out'")
    record.add_argument("--to", required=True, help="path of the JSON record to write")
    record.add_argument("--last", type=positive_int, default=None, help="epochs averaged for the last-epochs columns (default 3)")
    record.set_defaults(func=_record_command)


def _usage(parser) -> int:
    parser.print_help()
    return 2


def _fail(message: str, status: int = 2) -> int:
    print(f"betalib experiment: error: {message}", file=sys.stderr)
    return status


def _list_grids(args) -> int:
    for name in GRID_PRESETS:
        grid = load_grid(name, benchmark=False)
        print(f"{name}: {len(grid.cells)} cells x {len(grid.definition['seeds'])} seeds = {len(grid.runs)} runs. "
              f"{grid.description}")
    return 0


def _run_command(args) -> int:
    try:
        grid = load_grid(args.grid, benchmark=not args.no_benchmark)
        if args.dry_run:
            for spec in grid.runs:
                print(f"{spec.name}: {plan_run(spec, Path(args.out) / spec.name)}  {json.dumps(spec.changes)}")
            return 0
        command = ["betalib", "experiment", "run", args.grid, "--out", args.out, "--jobs", str(args.jobs)]
        if args.no_benchmark:
            command.append("--no-benchmark")
        outcomes = run_grid(grid, args.out, jobs=args.jobs, command=shlex.join(command),
                            progress=not args.no_progress)
    except GridError as error:
        return _fail(str(error))
    except OSError as error:
        return _fail(f"cannot write to {args.out}: {error}")
    except KeyboardInterrupt:
        print(f"grid {args.grid} interrupted; run the same command again to resume it", file=sys.stderr)
        return 130

    counts = {status: sum(o.status == status for o in outcomes) for status in ("ran", "resumed", "skipped", "interrupted", "failed")}
    print(f"grid {grid.name}: {len(outcomes)} runs in {args.out}: "
          + ", ".join(f"{count} {status}" for status, count in counts.items()))
    for outcome in outcomes:
        if outcome.status == "failed":
            print(f"  {outcome.name} failed: {outcome.error}")
    return 1 if counts["failed"] or counts["interrupted"] else 0


def _report_command(args) -> int:
    from .aggregate import LAST_EPOCHS, build_record, format_cell_table, load_record

    last = args.last or LAST_EPOCHS
    try:
        path = Path(args.source)
        if path.is_file():
            if args.last is not None:
                return _fail(f"{path} is a record, aggregated with its own --last; drop --last or report the run folder")
            record = load_record(path)
        else:
            record = load_record(build_record(path, last=last))
    except (GridError, FileNotFoundError, ValueError) as error:
        return _fail(str(error))

    if args.json:
        print(json.dumps({"grid": record.grid, "last_epochs": record.last_epochs,
                          "cells": json.loads(record.cells.to_json(orient="records"))}, indent=1))
        return 0
    print(f"grid {record.grid['name']}: {record.grid.get('description', '')}")
    print(f"last-epochs columns average beta over the last {record.last_epochs} epochs; "
          f"std is over seeds (ddof 1); n is the number of finished runs per cell")
    print(format_cell_table(record.cells))
    return 0


def _record_command(args) -> int:
    from .aggregate import LAST_EPOCHS, build_record

    try:
        record = build_record(args.source, last=args.last or LAST_EPOCHS)
        target = Path(args.to)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(record, indent=None, separators=(",", ":")) + "\n")
    except (GridError, FileNotFoundError, ValueError) as error:
        return _fail(str(error))
    except OSError as error:
        return _fail(f"cannot write {args.to}: {error}")
    print(f"wrote {args.to}: {len(record['runs'])} runs in {len(record['cells'])} cells")
    return 0


__all__ = ["GRID_PRESETS", "Grid", "GridError", "RunOutcome", "RunSpec", "load_grid", "plan_run", "run_grid"]
