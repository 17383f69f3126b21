"""The genotype: one operation per edge of a NAS-Bench-201 cell.

A genotype prints and parses the benchmark's architecture string
``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``, in which group j - 1 lists the operations
into node j, each tagged with its source node. DARTS derives a genotype from alpha by
taking the argmax over all five operations of each edge, ``none`` included, as the
benchmark and the official DARTS code for NAS-Bench-201 do.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .space import EDGES, NUM_EDGES, NUM_NODES, NUM_OPERATIONS, OPERATIONS


@dataclass(frozen=True)
class Genotype:
    """A cell of the NAS-Bench-201 space: ``operations[e]`` is the operation on ``EDGES[e]``."""

    operations: tuple[str, ...]

    def __post_init__(self):
        operations = tuple(self.operations)
        if len(operations) != NUM_EDGES:
            raise ValueError(
                f"a genotype needs {NUM_EDGES} operations, one per edge, got {len(operations)}"
            )
        for edge, name in zip(EDGES, operations):
            if name not in OPERATIONS:
                raise ValueError(
                    f"unknown operation {name!r} on edge {edge[1]}<-{edge[0]}; "
                    f"valid operations are {', '.join(OPERATIONS)}"
                )
        object.__setattr__(self, "operations", operations)

    @classmethod
    def from_string(cls, text: str) -> Genotype:
        """Parse an architecture string; raise ``ValueError`` naming the invalid part."""
        if not isinstance(text, str):
            raise ValueError(f"an architecture string must be a str, got {type(text).__name__}")

        groups = text.strip().split("+")
        if len(groups) != NUM_NODES - 1:
            raise ValueError(
                f"architecture string {text!r} has {len(groups)} '+'-separated groups; "
                f"expected {NUM_NODES - 1}, as in '|op~0|+|op~0|op~1|+|op~0|op~1|op~2|'"
            )

        operations = []
        for target, group in enumerate(groups, start=1):
            if not (group.startswith("|") and group.endswith("|")):
                raise ValueError(
                    f"group {group!r} of {text!r} must start and end with '|'"
                )
            items = group[1:-1].split("|")
            if len(items) != target:
                raise ValueError(
                    f"group {group!r} of {text!r} lists {len(items)} operations; "
                    f"node {target} needs exactly {target}, one from each of nodes 0..{target - 1}"
                )
            for source, item in enumerate(items):
                name, sep, node = item.partition("~")
                if not sep or node != str(source):
                    raise ValueError(
                        f"item {item!r} in group {group!r} must read 'operation~{source}': "
                        f"groups list their source nodes in order 0..{target - 1}"
                    )
                if name not in OPERATIONS:
                    raise ValueError(
                        f"unknown operation {name!r} in {text!r}; "
                        f"valid operations are {', '.join(OPERATIONS)}"
                    )
                operations.append(name)
        return cls(tuple(operations))

    def to_string(self) -> str:
        """Print the benchmark's architecture string."""
        groups = []
        position = 0
        for target in range(1, NUM_NODES):
            items = [f"{self.operations[position + source]}~{source}" for source in range(target)]
            groups.append("|" + "|".join(items) + "|")
            position += target
        return "+".join(groups)

    def __str__(self) -> str:
        return self.to_string()

    @classmethod
    def from_alpha(cls, alpha) -> Genotype:
        """Derive the cell by argmax over all five operations of each edge, ``none`` included.

        ``alpha`` is a tensor or array of shape (6, 5): edges by operations in benchmark
        order. Ties go to the operation listed first, as ``argmax`` does.
        """
        array = _as_numpy(alpha)
        if array.shape != (NUM_EDGES, NUM_OPERATIONS):
            raise ValueError(
                f"alpha must have shape ({NUM_EDGES}, {NUM_OPERATIONS}) (edges x operations), "
                f"got {tuple(array.shape)}"
            )
        if not np.all(np.isfinite(array)):
            raise ValueError("alpha contains NaN or infinite values; no genotype can be derived")
        return cls(tuple(OPERATIONS[k] for k in array.argmax(axis=1)))

    @classmethod
    def all(cls) -> list[Genotype]:
        """Return all 15,625 cells of the space (5 operations on each of 6 edges).

        The order is itertools.product over the edges in benchmark order; it is not the
        benchmark's own index order.
        """
        return list(cls.iterate())

    @classmethod
    def iterate(cls) -> Iterator[Genotype]:
        """Yield the cells of the space one by one, in the order of :meth:`all`."""
        for operations in itertools.product(OPERATIONS, repeat=NUM_EDGES):
            yield cls(operations)

    def count(self, operation: str) -> int:
        """Return how many edges carry ``operation``."""
        if operation not in OPERATIONS:
            raise ValueError(
                f"unknown operation {operation!r}; valid operations are {', '.join(OPERATIONS)}"
            )
        return self.operations.count(operation)

    def one_hot(self) -> np.ndarray:
        """Return the (6, 5) one-hot matrix of this cell, the discrete counterpart of beta."""
        matrix = np.zeros((NUM_EDGES, NUM_OPERATIONS))
        for edge, name in enumerate(self.operations):
            matrix[edge, OPERATIONS.index(name)] = 1.0
        return matrix


def _as_numpy(values) -> np.ndarray:
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=float)
