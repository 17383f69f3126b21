"""The record of a search: one entry per epoch, the final result, and ``run.json``.

An entry contains what the beta-DARTS paper and its book chapters plot over a search:
lambda and the temperature of the epoch, alpha and beta (edges x operations, after
the epoch's last step), the derived genotype, the supernet's losses and accuracies,
``||beta||`` per edge, how many edges ``skip_connect`` and ``none`` win, timings, and
the benchmark accuracies of the genotype when a NAS-Bench-201 benchmark is given.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

RUN_FILE = "run.json"


@dataclass
class EpochRecord:
    """The state at the end of one epoch of search. Accuracies are fractions in [0, 1]."""

    epoch: int
    lam: float
    temperature: float
    alpha: list  # (6, 5) nested lists
    beta: list  # (6, 5) softmax(alpha / temperature)
    genotype: str
    train_loss: float  # mean cross-entropy of the weight steps (first half)
    train_acc: float
    valid_loss: float  # mean cross-entropy of the alpha steps (second half), before each update
    valid_acc: float
    beta_norm: list  # ||beta||_2 of each edge
    n_skip: int  # edges whose argmax is skip_connect
    n_none: int  # edges whose argmax is none
    weight_lr: float
    seconds: float  # wall time of this epoch
    elapsed: float  # wall time since the search started, resumes included
    benchmark: dict | None = None  # NAS-Bench-201 accuracies (percent) of the genotype

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SearchResult:
    """The return value of ``search``: the final genotype, alpha and beta, and the history."""

    config: object
    genotype: object
    alpha: np.ndarray
    beta: np.ndarray
    history: list[EpochRecord] = field(default_factory=list)
    interrupted: bool = False  # stopped early by Ctrl-C or a callback
    finished: bool = False  # all epochs done
    out_dir: Path | None = None

    def alphas(self) -> np.ndarray:
        """Return alpha after every epoch, shape (epochs, 6, 5)."""
        return np.array([entry.alpha for entry in self.history])

    def betas(self) -> np.ndarray:
        """Return beta after every epoch, shape (epochs, 6, 5)."""
        return np.array([entry.beta for entry in self.history])

    def frame(self):
        """Return the scalar columns of the history as a pandas DataFrame, one row per epoch."""
        import pandas as pd

        rows = []
        for entry in self.history:
            row = {k: v for k, v in entry.to_dict().items() if k not in ("alpha", "beta", "beta_norm", "benchmark")}
            row["mean_beta_norm"] = float(np.mean(entry.beta_norm))
            for key, value in (entry.benchmark or {}).items():
                if key not in ("index", "arch"):
                    row[f"benchmark_{key}"] = value
            rows.append(row)
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        """Return the contents of ``run.json``."""
        from . import __version__

        import torch

        return {
            "config": self.config.to_dict(),
            "genotype": self.genotype.to_string(),
            "finished": self.finished,
            "interrupted": self.interrupted,
            "history": [entry.to_dict() for entry in self.history],
            "versions": {
                "python": platform.python_version(),
                "torch": torch.__version__,
                "betalib": __version__,
            },
            "machine": {"platform": platform.platform(), "processor": platform.machine()},
            "command": " ".join(sys.argv),
            "written": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }


def write_run(result: SearchResult, out_dir: str | os.PathLike) -> Path:
    """Write ``run.json`` into ``out_dir`` atomically, so a reader never sees half a file."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / RUN_FILE
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(result.to_dict(), indent=1))
    os.replace(temporary, path)
    return path


def read_run(path: str | os.PathLike) -> dict:
    """Read a ``run.json`` (or the folder holding one) as a dict."""
    path = Path(path)
    if path.is_dir():
        path = path / RUN_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no run record at {path}; a search writes one with --out DIR")
    return json.loads(path.read_text())


def records_from_dicts(entries: list[dict]) -> list[EpochRecord]:
    """Rebuild history entries from their ``run.json`` form."""
    return [EpochRecord(**entry) for entry in entries]
