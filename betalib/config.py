"""Search settings: one frozen dataclass, saved with every run, and named presets.

The defaults are the settings of the official beta-DARTS search on NAS-Bench-201
(Ye et al., "beta-DARTS", CVPR 2022, following the DARTS code of Liu, Simonyan and
Yang): 16 initial channels, 5 cells per stage, batch 64, SGD on the weights (lr 0.025
annealed to 0.001 by a cosine, momentum 0.9, weight decay 3e-4, gradient clipping at
5), Adam on alpha (lr 3e-4, betas (0.5, 0.999), weight decay 1e-3) and the beta-decay
loss with lambda rising from 0 to 50. Only the dataset differs: the default is
scikit-learn's digits, which needs no download; the preset ``paper`` switches to CIFAR-10.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

from .data import DATASETS
from .regularizers import REGULARIZERS
from .schedules import parse_schedule

ALPHA_OPTIMIZERS = ("adam", "sgd")
PRECISIONS = ("fp32", "bf16")
DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class SearchConfig:
    """Every setting of a search. Units: learning rates per step, epochs as counts."""

    # Data
    dataset: str = "digits"
    data_dir: str | None = None
    download: bool = False
    image_size: int | None = None  # pixels per side; None keeps the dataset's own
    train_size: int | None = None  # training images used, both halves together; None: all
    augment: bool | None = None  # random crop and flip; None: on for natural images only

    # Supernet
    channels: int = 16
    cells_per_stage: int = 5

    # Search
    epochs: int = 50
    batch_size: int = 64
    order: int = 1  # 1: first-order DARTS, 2: second-order (unrolled) DARTS
    regularizer: str = "beta"
    lam: str | float | Callable[[int], float] = "0-50"
    temperature: str | float | Callable[[int], float] = "1"
    seed: int = 0

    # Weights: SGD with a cosine learning rate
    weight_lr: float = 0.025
    weight_lr_min: float = 0.001
    weight_momentum: float = 0.9
    weight_decay: float = 3e-4
    grad_clip: float = 5.0

    # Alpha
    alpha_optimizer: str = "adam"
    alpha_lr: float = 3e-4
    alpha_betas: tuple[float, float] = (0.5, 0.999)
    alpha_momentum: float = 0.0  # for SGD only
    alpha_weight_decay: float = 1e-3  # the optimizer's own coupled decay; 0 for none at all
    freeze_alpha_epoch: int | None = None  # alpha stops changing from this epoch on

    # Execution
    device: str = "auto"
    threads: int | None = None  # CPU threads for PyTorch; None leaves PyTorch's default
    fast: bool = True  # the fused supernet; False runs the plain reference
    precision: str = "fp32"  # "bf16": bfloat16 autocast of the forward passes (for GPUs)
    compile: bool = False  # torch.compile the supernet (for GPUs; compiling takes minutes)
    steps_per_epoch: int | None = None  # cap on iterations per epoch; None: one pass
    benchmark: str | None = None  # NAS-Bench-201 file, folder or table to look cells up in
    progress: bool = True

    def __post_init__(self):
        _check_choice("dataset", self.dataset, DATASETS)
        _check_choice("regularizer", self.regularizer, tuple(REGULARIZERS))
        _check_choice("alpha_optimizer", self.alpha_optimizer, ALPHA_OPTIMIZERS)
        _check_choice("device", self.device, DEVICES)
        _check_choice("precision", self.precision, PRECISIONS)
        for name in ("epochs", "batch_size", "channels", "cells_per_stage"):
            _check_positive_int(name, getattr(self, name))
        if self.order not in (1, 2):
            raise ValueError(f"order must be 1 (first-order) or 2 (second-order), got {self.order!r}")
        for name in ("image_size", "train_size", "threads", "steps_per_epoch"):
            if getattr(self, name) is not None:
                _check_positive_int(name, getattr(self, name))
        if self.freeze_alpha_epoch is not None and (
            isinstance(self.freeze_alpha_epoch, bool)
            or not isinstance(self.freeze_alpha_epoch, int)
            or self.freeze_alpha_epoch < 0
        ):
            raise ValueError(
                f"freeze_alpha_epoch must be an epoch index of at least 0, or None, "
                f"got {self.freeze_alpha_epoch!r}"
            )
        for name in ("weight_lr", "weight_lr_min", "alpha_lr", "weight_momentum",
                     "weight_decay", "grad_clip", "alpha_momentum", "alpha_weight_decay"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number of at least 0, got {value!r}")

        # Parse the schedules now, so that a bad one fails before any data is loaded.
        self.lam_schedule()
        temperature = self.temperature_schedule()
        if not callable(self.temperature):
            for epoch in range(self.epochs):
                if temperature(epoch) <= 0:
                    raise ValueError(
                        f"invalid temperature schedule {self.temperature!r}: temperatures "
                        "must be above 0, such as '1' or '5-0.5'"
                    )

    def lam_schedule(self) -> Callable[[int], float]:
        """Return lambda as a function of the epoch index."""
        return parse_schedule(self.lam, self.epochs, name="lambda")

    def temperature_schedule(self) -> Callable[[int], float]:
        """Return the softmax temperature as a function of the epoch index."""
        return parse_schedule(self.temperature, self.epochs, name="temperature")

    def replace(self, **changes) -> SearchConfig:
        """Return a copy with ``changes`` applied (and checked)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """Return the settings as JSON-ready values; a callable schedule becomes its name."""
        values = dataclasses.asdict(self)
        for name in ("lam", "temperature"):
            if callable(values[name]):
                values[name] = f"<function {getattr(values[name], '__name__', 'schedule')}>"
        values["alpha_betas"] = list(self.alpha_betas)
        return values

    @classmethod
    def from_dict(cls, values: dict) -> SearchConfig:
        """Rebuild settings saved by :meth:`to_dict`; unknown keys raise ``ValueError``."""
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown settings {unknown}; valid settings are {sorted(known)}")
        values = dict(values)
        if "alpha_betas" in values:
            values["alpha_betas"] = tuple(values["alpha_betas"])
        return cls(**values)


# Named presets: changes to the defaults above.
PRESETS: dict[str, dict] = {
    # The official NAS-Bench-201 search of beta-DARTS on CIFAR-10 (a GPU job).
    "paper": dict(dataset="cifar10", epochs=50),
    # A first run on a laptop CPU in about a minute; shows the mechanics, not the collapse.
    "digits-quick": dict(dataset="digits", channels=8, cells_per_stage=1, epochs=10, batch_size=64),
    # The CPU-scale search of the results page, about half a minute on one thread.
    # Fashion-MNIST at 8x8 with 4,000 training images gives 31 steps per epoch. Three cells
    # per stage favor skip connections more than one or two do. Its 8 epochs make 248 alpha
    # steps against the 19,500 of the paper preset, so the alpha learning rate is 3e-3, ten
    # times the official one. The `preset-screen` grid contains the candidates it was chosen from.
    "collapse": dict(dataset="fashion-mnist", image_size=8, train_size=4000, channels=8, cells_per_stage=3,
                     epochs=8, alpha_lr=3e-3),
}


def preset(name: str, **changes) -> SearchConfig:
    """Return the settings of preset ``name`` with ``changes`` applied."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; valid presets are {', '.join(PRESETS)}")
    return SearchConfig(**{**PRESETS[name], **changes})


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; valid values are {', '.join(choices)}")


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
