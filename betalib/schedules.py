"""Schedules of the regularization weight lambda and of the softmax temperature.

A schedule is a function of the epoch index, 0 to epochs - 1. Text schedules use the
notation of Ye et al., "beta-DARTS" (CVPR 2022): ``"25"`` is constant, ``"0-50"``
rises linearly from 0 at the first epoch to 50 at the last, and ``"25-0"`` falls
linearly. A search of one epoch uses the start value.

The official beta-DARTS code computes ``lam = end * epoch / 100`` with the epoch
counted from 0, which never reaches its end value: its "0-50" over 100 epochs ends at
49.5. Here the end value is reached at the last epoch, so ``"0-50"`` over 50 epochs
takes the values 0, 50/49, ..., 50.
"""

import math
from collections.abc import Callable

Schedule = Callable[[int], float]


class LinearSchedule:
    """Linear interpolation from ``start`` at epoch 0 to ``end`` at epoch ``epochs - 1``."""

    def __init__(self, start: float, end: float, epochs: int):
        self.start = float(start)
        self.end = float(end)
        self.epochs = int(epochs)

    def __call__(self, epoch: int) -> float:
        if self.epochs <= 1:
            return self.start
        fraction = min(max(epoch, 0), self.epochs - 1) / (self.epochs - 1)
        return self.start + (self.end - self.start) * fraction

    def __repr__(self) -> str:
        if self.start == self.end:
            return f"{self.start:g}"
        return f"{self.start:g}-{self.end:g}"


def parse_schedule(text, epochs: int, name: str = "lambda", minimum: float = 0.0) -> Schedule:
    """Turn ``"25"``, ``"0-50"``, ``"25-0"``, a number or a callable into a schedule.

    Values below ``minimum`` (0 for lambda) raise ``ValueError`` naming the schedule and
    the valid forms. A callable is returned unchanged and is trusted to return numbers.
    """
    if callable(text):
        return text
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        start = end = float(text)
    elif isinstance(text, str):
        start, end = _parse_bounds(text, name)
    else:
        raise ValueError(
            f"invalid {name} schedule {text!r}: give a number such as '25', "
            f"a range such as '0-50' or '25-0', or a function of the epoch"
        )

    for value in (start, end):
        if not math.isfinite(value) or value < minimum:
            raise ValueError(
                f"invalid {name} schedule {text!r}: values must be finite and at least "
                f"{minimum:g}, such as '25', '0-50' or '25-0'"
            )
    return LinearSchedule(start, end, epochs)


def _parse_bounds(text: str, name: str) -> tuple[float, float]:
    stripped = text.strip()

    # A leading minus sign belongs to the number, not to the range.
    head, sep, tail = stripped[1:].partition("-")
    head = stripped[0] + head if stripped else head
    try:
        if not sep:
            value = float(stripped)
            return value, value
        return float(head), float(tail)
    except ValueError:
        raise ValueError(
            f"invalid {name} schedule {text!r}: give a number such as '25' "
            f"or a range START-END such as '0-50' or '25-0'"
        ) from None
