"""Tables of a grid of searches, and the small JSON records kept in ``results/``.

The tables follow what Ye et al., "beta-DARTS: Beta-Decay Regularization for
Differentiable Architecture Search" (CVPR 2022), report and plot. Per cell of a grid
they count the edges that end on ``skip_connect`` and on ``none``, and give the
supernet's accuracy and the NAS-Bench-201 test accuracies of the derived cell. Per
epoch they give beta, the statistics of alpha, ``||beta||`` and the skip quantity phi.

Edge counts are taken twice: from the final alpha (the argmax that derives the cell)
and from beta averaged over the last ``LAST_EPOCHS`` epochs, because the winning
operation of an edge often flips from one epoch to the next in small searches.
A run counts as collapsed when at least ``COLLAPSE_EDGES`` of its six edges are on
``skip_connect`` or ``none``; the tables count such runs per cell, once per way of counting.
Means are over seeds, standard deviations are sample values over seeds (ddof 1,
NaN for a single run), and ``n`` is the number of finished runs a cell rests on.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from .experiments import GRID_FILE
from .history import RUN_FILE
from .space import OPERATIONS

LAST_EPOCHS = 3
COLLAPSE_EDGES = 3  # edges on skip_connect or none from which a cell counts as collapsed
BENCHMARK_COLUMNS = ("cifar10_test", "cifar100_test", "imagenet16_120_test")
RECORD_FORMAT = 1
DIGITS = 5  # decimals kept for floats in records


def edge_counts(beta) -> dict:
    """Count the edges of a (6, 5) alpha or beta whose argmax is each operation."""
    winners = np.asarray(beta).argmax(axis=-1)
    return {name: int((winners == index).sum()) for index, name in enumerate(OPERATIONS)}


def initial_alpha(seed: int) -> np.ndarray:
    """Return the alpha a search with ``seed`` starts from, as ``betalib.search`` draws it."""
    import torch

    from .supernet import init_alpha

    return init_alpha(torch.Generator().manual_seed(seed)).numpy().astype(np.float64)


def alpha_steps(alphas: np.ndarray, start: np.ndarray) -> dict:
    """Measure how far alpha moves in each epoch, three ways, as (epochs,) arrays.

    ``alpha_step`` is mean |alpha_e - alpha_(e-1)| over all entries. ``alpha_step_centered``
    is the same after subtracting each edge's mean, so it ignores a shift of a whole
    edge, which leaves beta unchanged (beta-decay under Adam shifts every operation of
    an edge down together). ``beta_step`` is mean |beta_e - beta_(e-1)| at temperature 1.
    Epoch 0 is measured from ``start``, the initial alpha.
    """
    previous = np.concatenate([start[None], alphas[:-1]])
    centered = alphas - alphas.mean(axis=-1, keepdims=True)
    centered_previous = previous - previous.mean(axis=-1, keepdims=True)
    return {
        "alpha_step": np.abs(alphas - previous).mean(axis=(1, 2)),
        "alpha_step_centered": np.abs(centered - centered_previous).mean(axis=(1, 2)),
        "beta_step": np.abs(_softmax(alphas) - _softmax(previous)).mean(axis=(1, 2)),
    }


def settling_epoch(steps, fraction: float = 0.1) -> int | None:
    """Return the first epoch from which every step is below ``fraction`` of the largest step.

    ``steps`` is a per-epoch movement such as ``alpha_step_centered``. The result is
    the epoch at which alpha stops moving by that measure, or None if it moves until
    the last epoch.
    """
    steps = np.asarray(steps, dtype=np.float64)
    if steps.size == 0:
        return None
    below = steps < fraction * steps.max()
    for epoch in range(len(steps)):
        if below[epoch:].all():
            return epoch
    return None


def _softmax(values: np.ndarray) -> np.ndarray:
    shifted = np.exp(values - values.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


# Reading a run folder.


def read_grid_folder(folder) -> tuple[dict, list[tuple[dict, dict]]]:
    """Return the folder's ``grid.json`` and (run entry, run.json) of every finished run.

    Runs that have not started or not finished are left out and logged at INFO level.
    """
    import logging

    folder = Path(folder)
    grid_path = folder / GRID_FILE
    if not grid_path.is_file():
        raise FileNotFoundError(f"no {GRID_FILE} in {folder}; 'betalib experiment run GRID --out {folder}' writes it")
    grid = json.loads(grid_path.read_text())
    finished = []
    for entry in grid["runs"]:
        path = folder / entry["name"] / RUN_FILE
        if not path.is_file():
            logging.getLogger(__name__).info("run %s has no %s yet; left out", entry["name"], RUN_FILE)
            continue
        run = json.loads(path.read_text())
        if not run.get("finished"):
            logging.getLogger(__name__).info("run %s is unfinished; left out", entry["name"])
            continue
        finished.append((entry, run))
    return grid, finished


def summarize_run(entry: dict, run: dict, last: int = LAST_EPOCHS) -> dict:
    """Summarize one finished run: final and last-epochs counts, accuracies and per-epoch series."""
    from .theory import alpha_statistics, skip_phi

    history = run["history"]
    alphas = np.array([epoch["alpha"] for epoch in history], dtype=np.float64)
    betas = np.array([epoch["beta"] for epoch in history], dtype=np.float64)
    last_beta = betas[-last:].mean(axis=0)
    final_counts = edge_counts(alphas[-1])
    last_counts = edge_counts(last_beta)
    final = history[-1]
    benchmark = final.get("benchmark") or {}
    statistics = alpha_statistics(history).overall
    steps = alpha_steps(alphas, initial_alpha(run["config"]["seed"]))

    return {
        "run": entry["name"], "cell": entry["cell"], "seed": entry["seed"], "changes": entry["changes"],
        "config": public_config(run["config"]),
        "genotype": run["genotype"],
        "epochs": len(history),
        "seconds": final["elapsed"],
        "n_skip": final_counts["skip_connect"], "n_none": final_counts["none"],
        "n_skip_last": last_counts["skip_connect"], "n_none_last": last_counts["none"],
        "supernet_valid_acc": final["valid_acc"], "supernet_train_acc": final["train_acc"],
        **{column: benchmark.get(column) for column in BENCHMARK_COLUMNS},
        "beta_final": betas[-1].tolist(),
        "beta_last": last_beta.tolist(),
        "series": {
            "epoch": [epoch["epoch"] for epoch in history],
            "lam": [epoch["lam"] for epoch in history],
            "temperature": [epoch["temperature"] for epoch in history],
            "n_skip": [epoch["n_skip"] for epoch in history],
            "n_none": [epoch["n_none"] for epoch in history],
            "valid_acc": [epoch["valid_acc"] for epoch in history],
            "alpha": alphas.tolist(),
            "alpha_mean": statistics["mean"].tolist(),
            "alpha_median": statistics["median"].tolist(),
            "alpha_std": statistics["std"].tolist(),
            "beta_norm": np.linalg.norm(betas, axis=-1).mean(axis=-1).tolist(),
            "phi": np.asarray(skip_phi(betas)).tolist(),
            **{name: values.tolist() for name, values in steps.items()},
            **{f"beta_{name}": betas[:, :, index].mean(axis=-1).tolist() for index, name in enumerate(OPERATIONS)},
        },
    }


def public_config(config: dict) -> dict:
    """Return settings fit to publish: the benchmark and data paths become file names.

    A benchmark folder is replaced by the name of the file found in it, such as the
    table's CSV, when the folder is still there.
    """
    config = dict(config)
    if config.get("data_dir"):
        config["data_dir"] = Path(config["data_dir"]).name
    if config.get("benchmark"):
        config["benchmark"] = _benchmark_file_name(config["benchmark"])
    return config


def _benchmark_file_name(path: str) -> str:
    from .nasbench import locate_benchmark

    try:
        found, _ = locate_benchmark(path)
    except (OSError, ValueError):
        return Path(path).name
    return found.name


# Tables.


def cell_table(runs: list[dict]) -> pd.DataFrame:
    """Return one row per cell: n, then mean and std over seeds of each per-run value."""
    frame = pd.DataFrame([{key: value for key, value in run.items() if not isinstance(value, (dict, list))}
                          for run in runs])
    if frame.empty:
        return pd.DataFrame(columns=["cell", "n"])
    values = ["n_skip", "n_none", "n_skip_last", "n_none_last", "supernet_valid_acc", *BENCHMARK_COLUMNS, "seconds"]
    frame[values] = frame[values].astype(float)
    grouped = frame.groupby("cell", sort=False)
    table = grouped[values].agg(["mean", "std"])
    table.columns = [f"{value}_{statistic}" for value, statistic in table.columns]
    table.insert(0, "n", grouped.size())
    for suffix in ("", "_last"):
        collapsed = frame[f"n_skip{suffix}"] + frame[f"n_none{suffix}"] >= COLLAPSE_EDGES
        table[f"collapsed{suffix}"] = collapsed.groupby(frame["cell"], sort=False).sum().astype(int)
    return table.reset_index()


def epoch_table(runs: list[dict]) -> pd.DataFrame:
    """Return one row per cell and epoch: the mean over seeds of each per-epoch series."""
    rows = []
    for run in runs:
        series = run["series"]
        for position, epoch in enumerate(series["epoch"]):
            row = {"cell": run["cell"], "seed": run["seed"], "epoch": epoch}
            for key, values in series.items():
                if key not in ("epoch", "alpha"):
                    row[key] = values[position]
            rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    grouped = frame.drop(columns="seed").groupby(["cell", "epoch"], sort=False)
    table = grouped.mean()
    table.insert(0, "n", grouped.size())
    return table.reset_index()


def format_cell_table(table: pd.DataFrame) -> str:
    """Format a cell table as text, each value as 'mean ± std'."""
    if table.empty:
        return "(no finished runs)"
    return readable_cell_table(table).to_string(index=False)


def readable_cell_table(table: pd.DataFrame) -> pd.DataFrame:
    """Return a cell table with short column names and each value as 'mean ± std' text.

    Accuracies are in percent, and columns without any value are left out. ``collapsed``
    and ``collapsed_last`` read "k/n": k of the cell's n runs collapsed.
    """
    readable = pd.DataFrame({"cell": table["cell"], "n": table["n"]})
    for column in ("collapsed", "collapsed_last"):
        if column in table:
            readable[column] = [f"{count}/{n}" for count, n in zip(table[column], table["n"])]
    columns = {"skip": "n_skip", "none": "n_none", "skip_last": "n_skip_last", "none_last": "n_none_last",
               "supernet_acc": "supernet_valid_acc", "c10_test": "cifar10_test", "c100_test": "cifar100_test",
               "in16_test": "imagenet16_120_test", "seconds": "seconds"}
    for label, value in columns.items():
        mean, std = table[f"{value}_mean"], table[f"{value}_std"]
        if mean.isna().all():
            continue
        scale = 100 if value == "supernet_valid_acc" else 1
        if value == "seconds":
            decimals = 0
        elif value.startswith("n_"):
            decimals = 1
        else:
            decimals = 2
        readable[label] = [_mean_std(m * scale, s * scale, decimals) for m, s in zip(mean, std)]
    return readable


def _mean_std(mean, std, decimals):
    if pd.isna(mean):
        return "-"
    if pd.isna(std):
        return f"{mean:.{decimals}f}"
    return f"{mean:.{decimals}f} ± {std:.{decimals}f}"


# Records.


def build_record(folder, last: int = LAST_EPOCHS) -> dict:
    """Aggregate a run folder into a JSON-ready record: provenance, tables and per-run summaries."""
    if isinstance(last, bool) or not isinstance(last, int) or last < 1:
        raise ValueError(f"last must be a positive number of epochs, got {last!r}")
    grid, finished = read_grid_folder(folder)
    runs = [summarize_run(entry, run, last) for entry, run in finished]
    first = finished[0][1] if finished else {}
    return _rounded({
        "format": RECORD_FORMAT,
        "grid": {key: grid.get(key) for key in ("name", "description", "source", "benchmark_variable", "definition")},
        "command": grid.get("command"),
        "planned_runs": len(grid["runs"]),
        "last_epochs": last,
        "benchmark_file": public_config(first.get("config", {})).get("benchmark"),
        "commit": _git_commit(),
        "versions": first.get("versions"),
        "machine": {"platform": platform.platform(), "processor": platform.machine(), "cpu_count": os.cpu_count()},
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cells": json.loads(cell_table(runs).to_json(orient="records")),
        "runs": runs,
    })


def _git_commit() -> dict:
    """Return the checked-out commit and whether the library differs from it.

    Only ``betalib/`` and ``pyproject.toml`` are compared, because they decide what the
    searches compute. The records being written are not part of that.
    """
    def git(*arguments):
        completed = subprocess.run(["git", *arguments], capture_output=True, text=True, check=False,
                                   cwd=Path(__file__).resolve().parent)
        return completed.stdout.strip() if completed.returncode == 0 else None

    status = git("status", "--porcelain", "--untracked-files=no", "--", ":(top)betalib", ":(top)pyproject.toml")
    return {"head": git("rev-parse", "HEAD"), "uncommitted_changes": bool(status) if status is not None else None}


def _rounded(value):
    if isinstance(value, float):
        return round(value, DIGITS) if np.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    return value


@dataclass
class ExperimentRecord:
    """A results record loaded back: provenance, the cell table, the epoch table and the runs."""

    grid: dict
    last_epochs: int
    provenance: dict
    cells: pd.DataFrame
    epochs: pd.DataFrame
    runs: pd.DataFrame  # one row per run, scalar columns only
    summaries: list[dict]  # the per-run summaries, with their per-epoch series


def load_record(source) -> ExperimentRecord:
    """Load a record written by ``betalib experiment record`` (a path) or built in memory (a dict)."""
    if isinstance(source, dict):
        record = source
    else:
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"no record at {path}; 'betalib experiment record DIR --to {path}' writes one")
        record = json.loads(path.read_text())
    if record.get("format") != RECORD_FORMAT:
        raise ValueError(f"record format {record.get('format')!r} is not {RECORD_FORMAT}; rewrite it with this betalib")
    runs = record["runs"]
    provenance = {key: record.get(key) for key in ("command", "commit", "versions", "machine", "date",
                                                   "benchmark_file", "planned_runs")}
    scalars = pd.DataFrame([{k: v for k, v in run.items() if not isinstance(v, (dict, list))} for run in runs])
    return ExperimentRecord(
        grid=record["grid"], last_epochs=record["last_epochs"], provenance=provenance,
        cells=cell_table(runs) if runs else pd.DataFrame(columns=["cell", "n"]),
        epochs=epoch_table(runs), runs=scalars, summaries=runs,
    )


def load_records(folder) -> dict[str, ExperimentRecord]:
    """Load every ``*.json`` record in ``folder``, keyed by file name without the suffix."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no results folder at {folder}")
    return {path.stem: load_record(path) for path in sorted(folder.glob("*.json"))}


__all__ = ["COLLAPSE_EDGES", "LAST_EPOCHS", "ExperimentRecord", "alpha_steps", "build_record", "cell_table", "edge_counts",
           "epoch_table", "format_cell_table", "load_record", "load_records", "readable_cell_table",
           "settling_epoch", "summarize_run"]
