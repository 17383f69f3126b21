"""NAS-Bench-201 lookup: the trained accuracies of the 15,625 cells of the search space.

Follows Dong and Yang, "NAS-Bench-201: Extending the Scope of Reproducible Neural
Architecture Search" (ICLR 2020), and its successor Dong, Liu, Musial and Gabrys,
"NATS-Bench: Benchmarking NAS Algorithms for Architecture Topology and Size" (TPAMI
2021), whose topology search space ("tss") contains the same cells with the same
indices. Every accuracy is in percent, after 200 epochs of training, averaged over the
benchmark's seeds (``hp='200', is_random=False``). The columns are those of the
NAS-Bench-201 table of Ye et al., "beta-DARTS: Beta-Decay Regularization for
Differentiable Architecture Search" (CVPR 2022):

- ``cifar10_valid``: dataset ``cifar10-valid`` (trained on the train split), accuracy on
  the valid split.
- ``cifar10_test``: dataset ``cifar10`` (trained on train + valid), accuracy on the test set.
- ``cifar100_valid``, ``cifar100_test``, ``imagenet16_120_valid``, ``imagenet16_120_test``:
  datasets ``cifar100`` and ``ImageNet16-120``, accuracy on their valid and test splits.
- ``params`` and ``flops``: millions of parameters and of FLOPs of the CIFAR-10 network
  (the cost information of dataset ``cifar10``).

One interface, :class:`Benchmark`, reads three kinds of source:

- ``nas-bench-201``: the official file ``NAS-Bench-201-v1_1-096897.pth`` (or
  ``NAS-Bench-201-v1_0-e61699.pth``), read with ``nas_201_api.NASBench201API``. Loading it
  reportedly takes more than 25 GB of memory, so it is loaded at the first query and once
  per process.
- ``nats-tss``: a NATS-Bench topology directory, which contains ``meta.pickle.pbz2`` and one
  record file per cell, read with ``nats_bench.create(path, 'tss', fast_mode=True)``. A
  record is read from disk when it is first queried.
- ``table``: a compact CSV with the columns ``index`` and ``arch``, any of the six accuracy
  columns above and optionally ``params`` and ``flops``, as :func:`export_table` and
  ``betalib nb201 export`` write it.

A path given to :func:`open_benchmark` is resolved by these rules:

1. A file ending in ``.csv`` is a table. A file ending in ``.pth`` is the official file.
2. A directory is searched for the following, and the first match wins:

   a. a CSV file directly inside it whose header has ``index`` and ``arch``. Several
      such files are an error, because the choice would be a guess.
   b. ``meta.pickle.pbz2`` directly inside it, which makes it a NATS-Bench directory.
   c. an official file name directly inside it.
   d. the NATS-Bench directory ``NATS-tss-v1_0-3ffb9-simple`` inside it.

So a directory that contains both a table and a NATS-Bench sub-directory reads the table.

Without a path, the lookup tries ``$BETALIB_NB201`` and then, under ``$TORCH_HOME``
(default ``~/.torch``), ``NATS-tss-v1_0-3ffb9-simple`` before the two official files,
because the directory is read one record at a time.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import math
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd

from .genotype import Genotype
from .space import NUM_EDGES, NUM_OPERATIONS, OPERATIONS

logger = logging.getLogger(__name__)

NUM_ARCHITECTURES = NUM_OPERATIONS**NUM_EDGES  # 15,625 cells, indices 0 to 15,624

ACCURACY_COLUMNS = (
    "cifar10_valid",
    "cifar10_test",
    "cifar100_valid",
    "cifar100_test",
    "imagenet16_120_valid",
    "imagenet16_120_test",
)
COST_COLUMNS = ("params", "flops")

# Dataset name and result key of the official APIs behind each accuracy column.
API_SOURCES = {
    "cifar10_valid": ("cifar10-valid", "valid-accuracy"),
    "cifar10_test": ("cifar10", "test-accuracy"),
    "cifar100_valid": ("cifar100", "valid-accuracy"),
    "cifar100_test": ("cifar100", "test-accuracy"),
    "imagenet16_120_valid": ("ImageNet16-120", "valid-accuracy"),
    "imagenet16_120_test": ("ImageNet16-120", "test-accuracy"),
}
API_HP = "200"  # the 200-epoch schedule
COST_DATASET = "cifar10"

ENV_VAR = "BETALIB_NB201"
NB201_FILE_NAMES = ("NAS-Bench-201-v1_1-096897.pth", "NAS-Bench-201-v1_0-e61699.pth")
NATS_TSS_DIR_NAME = "NATS-tss-v1_0-3ffb9-simple"
NATS_META_FILE = "meta.pickle.pbz2"
NATS_RECORD_SUFFIX = ".pickle.pbz2"

# Landscape column with the number of edges that carry each operation.
OPERATION_COUNT_COLUMNS = {
    "none": "n_none",
    "skip_connect": "n_skip",
    "nor_conv_1x1": "n_conv1x1",
    "nor_conv_3x3": "n_conv3x3",
    "avg_pool_3x3": "n_pool",
}

# pandas < 3.1 reads floats back exactly, as export_table wrote them, only with the
# round-trip converter. pandas 3.1 uses that converter by default and deprecates the option.
_PANDAS_VERSION = tuple(int(part) for part in re.findall(r"\d+", pd.__version__)[:2])
_READ_CSV_OPTIONS = {} if _PANDAS_VERSION >= (3, 1) else {"float_precision": "round_trip"}

KIND_TABLE = "table"
KIND_NATS = "nats-tss"
KIND_NB201 = "nas-bench-201"


class BenchmarkNotFoundError(FileNotFoundError):
    """No benchmark at the given path or at any default place.

    ``searched`` lists each place that was tried, with the reason it did not qualify.
    """

    def __init__(self, searched: list[str]):
        self.searched = tuple(searched)
        super().__init__(_not_found_message(self.searched))


class RecordNotFoundError(LookupError):
    """The benchmark has no record of a cell that is in the space, e.g. a partial table."""


class BenchmarkLoadError(RuntimeError):
    """The official NAS-Bench-201 file exists but ``torch.load`` rejected it."""


def _not_found_message(searched: tuple[str, ...]) -> str:
    return (
        f"no NAS-Bench-201 benchmark found. Looked in: {'; '.join(searched)}. "
        f"Download the NAS-Bench-201 file {NB201_FILE_NAMES[0]} "
        "(https://github.com/D-X-Y/NAS-Bench-201) or the NATS-Bench topology archive "
        f"{NATS_TSS_DIR_NAME}.tar and extract it (https://github.com/D-X-Y/NATS-Bench), "
        "or write the compact table from either with "
        "'betalib nb201 export --from PATH --to TABLE.csv'. "
        f"Then point ${ENV_VAR}, '--benchmark PATH' or SearchConfig(benchmark=...) at it."
    )


@dataclass(frozen=True)
class BenchmarkRecord:
    """One cell's results: accuracies in percent, params and FLOPs in millions.

    A field is None where the source has no value, e.g. the valid columns of a table
    that contains only test accuracies.
    """

    index: int
    arch: str
    cifar10_valid: float | None = None
    cifar10_test: float | None = None
    cifar100_valid: float | None = None
    cifar100_test: float | None = None
    imagenet16_120_valid: float | None = None
    imagenet16_120_test: float | None = None
    params: float | None = None
    flops: float | None = None

    def to_dict(self) -> dict:
        """Return the fields as a dict, in declaration order."""
        return asdict(self)


RECORD_FIELDS = tuple(field.name for field in fields(BenchmarkRecord))


@dataclass(frozen=True)
class Rank:
    """Position of a cell among all cells that have a value in ``column``.

    ``rank`` is 1 for the best cell. Tied cells share the best rank among them, so
    ``rank`` is 1 plus the number of cells with a strictly higher value.
    ``percentile`` is the percentage of cells whose value is lower or equal, so the best
    cell has 100.
    """

    index: int
    arch: str
    column: str
    value: float
    rank: int
    count: int
    percentile: float


def check_column(column: str) -> str:
    """Return ``column`` if it is an accuracy column, else raise ``ValueError`` listing them."""
    if column not in ACCURACY_COLUMNS:
        raise ValueError(
            f"unknown accuracy column {column!r}; valid columns are {', '.join(ACCURACY_COLUMNS)}"
        )
    return column


def normalize_architecture(arch_or_index) -> int | str:
    """Return a benchmark index as int, or an architecture as its canonical string.

    Accepts an index 0 to 15,624, an architecture string or a :class:`Genotype`. Raises
    ``ValueError`` for an index out of range or a string outside the space, naming what
    is wrong, and ``TypeError`` for any other type.
    """
    if isinstance(arch_or_index, (bool, np.bool_)):
        raise TypeError(f"expected an architecture or an index, got the bool {arch_or_index}")

    if isinstance(arch_or_index, (int, np.integer)):
        index = int(arch_or_index)
        if not 0 <= index < NUM_ARCHITECTURES:
            raise ValueError(
                f"architecture index {index} is out of range; "
                f"NAS-Bench-201 indices run from 0 to {NUM_ARCHITECTURES - 1}"
            )
        return index

    if isinstance(arch_or_index, Genotype):
        return arch_or_index.to_string()

    if isinstance(arch_or_index, str):
        return Genotype.from_string(arch_or_index).to_string()

    raise TypeError(
        "expected an architecture string, a Genotype or an int index, "
        f"got {type(arch_or_index).__name__}"
    )


class Benchmark:
    """A NAS-Bench-201 source opened for lookups; see the module docstring for the kinds.

    Opening reads no data. Each backend loads it at the first query. Use
    :func:`open_benchmark`, which returns one shared object per resolved path.
    """

    kind = ""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.RLock()
        self._frame: pd.DataFrame | None = None
        self._landscape: pd.DataFrame | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    @property
    def is_loaded(self) -> bool:
        """Whether the data behind the benchmark has been loaded into memory."""
        raise NotImplementedError

    @property
    def columns(self) -> tuple[str, ...]:
        """The accuracy columns this source provides, in :data:`ACCURACY_COLUMNS` order."""
        return ACCURACY_COLUMNS

    def query(self, arch_or_index) -> BenchmarkRecord:
        """Return the record of a cell given as architecture string, Genotype or index.

        Raises ``ValueError`` for a cell outside the space and :class:`RecordNotFoundError`
        for a cell that this source has no record of.
        """
        key = normalize_architecture(arch_or_index)

        with self._lock:
            index = key if isinstance(key, int) else self._index_of(key)
            return self._record(index)

    def index_of(self, arch) -> int:
        """Return the benchmark index of an architecture string or Genotype."""
        key = normalize_architecture(arch)
        if isinstance(key, int):
            return key

        with self._lock:
            return self._index_of(key)

    def accuracy(self, arch_or_index, column: str = "cifar10_test") -> float | None:
        """Return one accuracy in percent, or None where this source has no such value."""
        check_column(column)
        return getattr(self.query(arch_or_index), column)

    def to_frame(self) -> pd.DataFrame:
        """Return one row per record: index, arch, the accuracy columns, params and flops.

        The table backend returns its table. The API backends read all 15,625 records
        once per process. Estimated from the three fixture records on a 2-core AMD EPYC
        machine, that takes about 40 s once the official file is loaded (2.6 ms per
        record) and about 4 minutes for a NATS-Bench directory (14 ms per record file).
        """
        with self._lock:
            if self._frame is None:
                self._frame = self._build_frame()
            return self._frame.copy()

    def records(self) -> Iterator[BenchmarkRecord]:
        """Yield the record of each index this source has, in index order."""
        frame = self.to_frame()
        for row in frame.itertuples(index=False):
            yield _record_from_row(row._asdict())

    def landscape(self) -> pd.DataFrame:
        """Return :meth:`to_frame` with the operation counts of each cell.

        The extra columns count the edges that carry each operation: ``n_none``,
        ``n_skip``, ``n_conv1x1``, ``n_conv3x3``, ``n_pool`` (they sum to 6) and
        ``n_conv``, the number of convolutions of either size.
        """
        with self._lock:
            if self._landscape is None:
                self._landscape = _add_operation_counts(self.to_frame())
            return self._landscape.copy()

    def _index_of(self, arch: str) -> int:
        raise NotImplementedError

    def _record(self, index: int) -> BenchmarkRecord:
        raise NotImplementedError

    def _build_frame(self) -> pd.DataFrame:
        raise NotImplementedError


class TableBenchmark(Benchmark):
    """A compact CSV table with columns index, arch and any accuracy and cost columns."""

    kind = KIND_TABLE

    def __init__(self, path: Path):
        super().__init__(path)
        self._table: pd.DataFrame | None = None
        self._position_by_index: dict[int, int] = {}
        self._index_by_arch: dict[str, int] = {}

    @property
    def is_loaded(self) -> bool:
        return self._table is not None

    @property
    def columns(self) -> tuple[str, ...]:
        table = self._load()
        return tuple(column for column in ACCURACY_COLUMNS if column in table.columns)

    def _load(self) -> pd.DataFrame:
        with self._lock:
            if self._table is None:
                self._table = _read_table(self.path)
                self._position_by_index = {
                    int(index): position for position, index in enumerate(self._table["index"])
                }
                self._index_by_arch = {
                    str(arch): int(index)
                    for arch, index in zip(self._table["arch"], self._table["index"])
                }
                logger.debug("read %d records from the table %s", len(self._table), self.path)
            return self._table

    def _index_of(self, arch: str) -> int:
        self._load()
        if arch not in self._index_by_arch:
            raise RecordNotFoundError(f"the table {self.path} has no row for the architecture {arch}")
        return self._index_by_arch[arch]

    def _record(self, index: int) -> BenchmarkRecord:
        table = self._load()
        if index not in self._position_by_index:
            raise RecordNotFoundError(
                f"the table {self.path} has no row with index {index}; it contains "
                f"{len(table)} of the {NUM_ARCHITECTURES} cells"
            )
        row = table.iloc[self._position_by_index[index]]
        return _record_from_row(row.to_dict())

    def _build_frame(self) -> pd.DataFrame:
        return self._load().copy()


def _read_table(path: Path) -> pd.DataFrame:
    """Read and check a compact table; raise ``ValueError`` naming the file and the fault."""
    table = pd.read_csv(path, **_READ_CSV_OPTIONS)

    missing = [column for column in ("index", "arch") if column not in table.columns]
    if missing:
        raise ValueError(
            f"the table {path} lacks the column(s) {', '.join(missing)}; a NAS-Bench-201 table "
            f"needs index and arch, plus any of {', '.join(ACCURACY_COLUMNS + COST_COLUMNS)}"
        )

    known = ["index", "arch"] + [c for c in ACCURACY_COLUMNS + COST_COLUMNS if c in table.columns]
    ignored = [column for column in table.columns if column not in known]
    if ignored:
        logger.warning("ignoring unknown column(s) %s of the table %s", ", ".join(ignored), path)
    table = table[known]

    if table["index"].isna().any() or table["arch"].isna().any():
        raise ValueError(f"the table {path} has rows with an empty index or arch")
    indices = table["index"].astype(np.int64)
    if not indices.between(0, NUM_ARCHITECTURES - 1).all():
        bad = indices[~indices.between(0, NUM_ARCHITECTURES - 1)].iloc[0]
        raise ValueError(
            f"the table {path} has index {bad}; indices run from 0 to {NUM_ARCHITECTURES - 1}"
        )
    if indices.duplicated().any():
        raise ValueError(f"the table {path} repeats index {indices[indices.duplicated()].iloc[0]}")
    repeated = table["arch"][table["arch"].duplicated()]
    if len(repeated):
        raise ValueError(f"the table {path} repeats the architecture {repeated.iloc[0]}")

    table = table.assign(index=indices, arch=table["arch"].astype(str))
    for column in known[2:]:
        table[column] = table[column].astype(float)
    return table.sort_values("index").reset_index(drop=True)


class _ApiBenchmark(Benchmark):
    """Shared code of the two official APIs, which have the same query methods."""

    def __init__(self, path: Path):
        super().__init__(path)
        self._api = None
        self._records: dict[int, BenchmarkRecord] = {}

    @property
    def is_loaded(self) -> bool:
        return self._api is not None

    def _get_api(self):
        with self._lock:
            if self._api is None:
                start = time.perf_counter()
                self._api = self._create_api()
                logger.debug("loaded %s in %.1f s", self.path, time.perf_counter() - start)
            return self._api

    def _create_api(self):
        raise NotImplementedError

    def _has_record(self, index: int) -> bool:
        raise NotImplementedError

    def _release(self, index: int) -> None:
        """Free the API's copy of a record once its values are extracted."""

    def _index_of(self, arch: str) -> int:
        index = self._get_api().query_index_by_arch(arch)
        if index < 0:
            raise RecordNotFoundError(f"the benchmark {self.path} does not list the architecture {arch}")
        return int(index)

    def _record(self, index: int) -> BenchmarkRecord:
        if index in self._records:
            return self._records[index]
        if not self._has_record(index):
            raise RecordNotFoundError(
                f"the {self.kind} benchmark {self.path} has no record for index {index}"
            )

        api = self._get_api()
        values = {}
        by_dataset: dict[str, dict] = {}
        for column, (dataset, key) in API_SOURCES.items():
            if dataset not in by_dataset:
                by_dataset[dataset] = api.get_more_info(index, dataset, hp=API_HP, is_random=False)
            values[column] = _as_float(by_dataset[dataset].get(key))

        # get_cost_info returns the same dict but deep-copies the whole record first. That
        # took 12 ms of the 14 ms per record, measured on a fixture record in the official layout.
        costs = api.arch2infos_dict[index][API_HP].get_compute_costs(COST_DATASET)
        record = BenchmarkRecord(
            index=index,
            arch=str(api[index]),
            params=_as_float(costs.get("params")),
            flops=_as_float(costs.get("flops")),
            **values,
        )
        self._release(index)
        self._records[index] = record
        return record

    def _build_frame(self) -> pd.DataFrame:
        rows = []
        skipped = 0
        start = time.perf_counter()
        for index in range(NUM_ARCHITECTURES):
            if not self._has_record(index):
                skipped += 1
                continue
            rows.append(self._record(index).to_dict())
            if len(rows) % 1000 == 0:
                logger.info(
                    "read %d records from %s in %.0f s", len(rows), self.path, time.perf_counter() - start
                )

        if skipped:
            logger.info(
                "%s has no record for %d of the %d indices", self.path, skipped, NUM_ARCHITECTURES
            )
        return pd.DataFrame(rows, columns=list(RECORD_FIELDS))


class NatsTopologyBenchmark(_ApiBenchmark):
    """A NATS-Bench topology directory read with ``nats_bench`` in fast mode."""

    kind = KIND_NATS

    def _create_api(self):
        try:
            import nats_bench
        except ImportError as error:
            raise ImportError(
                f"reading the NATS-Bench directory {self.path} needs the package nats_bench; "
                "install it with 'pip install nats_bench' or 'pip install betalib[benchmarks]'"
            ) from error

        return nats_bench.create(str(self.path), "tss", fast_mode=True, verbose=False)

    def _has_record(self, index: int) -> bool:
        # nats_bench reads <index:06d>.pickle.pbz2, or <index>.pickle.pbz2 where that is absent.
        names = (f"{index:06d}{NATS_RECORD_SUFFIX}", f"{index}{NATS_RECORD_SUFFIX}")
        return any((self.path / name).is_file() for name in names)

    def _release(self, index: int) -> None:
        # A record takes about 9 MB once unpickled (measured with tracemalloc on index 0),
        # so keeping all 15,625 of them would need about 140 GB. The API reads a record
        # again from disk if it is missing from these two containers.
        self._api.arch2infos_dict.pop(index, None)
        self._api.evaluated_indexes.discard(index)


class NasBench201FileBenchmark(_ApiBenchmark):
    """The official NAS-Bench-201 ``.pth`` file read with ``nas_201_api``; loads in full."""

    kind = KIND_NB201

    def _create_api(self):
        try:
            from nas_201_api import NASBench201API
        except ImportError as error:
            raise ImportError(
                f"reading {self.path} needs the package nas-bench-201; install it with "
                "'pip install nas-bench-201' or 'pip install betalib[benchmarks]'"
            ) from error

        import pickle

        logger.info("loading %s, which reportedly takes more than 25 GB of memory", self.path)
        # NOTE: the official file has not been loaded with this code. A file of the same
        # layout that torch.save wrote loads under the numpy allowlist below, but the
        # official one may hold other classes, which torch >= 2.6 rejects by default.
        with _numpy_safe_globals():
            try:
                return NASBench201API(str(self.path), verbose=False)
            except pickle.UnpicklingError as error:
                raise BenchmarkLoadError(
                    f"torch.load rejected {self.path} under weights_only=True: {error}. "
                    "If the file comes from the official NAS-Bench-201 release, set "
                    "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 to load it with the full unpickler"
                ) from error

    def _has_record(self, index: int) -> bool:
        return index in self._get_api().arch2infos_dict


def _numpy_safe_globals():
    """Return a context that lets ``torch.load(weights_only=True)`` build numpy scalars.

    The NAS-Bench-201 records contain numpy float64 values. torch >= 2.6 loads with
    ``weights_only=True`` by default and rejects them unless they are allowlisted.
    """
    import torch

    safe_globals = getattr(torch.serialization, "safe_globals", None)
    if safe_globals is None:  # torch < 2.5, whose torch.load has no allowlist
        return contextlib.nullcontext()

    try:
        from numpy._core.multiarray import scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import scalar

    codes = np.typecodes["AllFloat"] + np.typecodes["AllInteger"] + "?"
    dtype_classes = {type(np.dtype(code)) for code in codes}
    allowed = [
        (scalar, "numpy.core.multiarray.scalar"),
        (scalar, "numpy._core.multiarray.scalar"),
        np.dtype,
        *sorted(dtype_classes, key=lambda cls: cls.__name__),
    ]
    return safe_globals(allowed)


_BACKENDS = {
    KIND_TABLE: TableBenchmark,
    KIND_NATS: NatsTopologyBenchmark,
    KIND_NB201: NasBench201FileBenchmark,
}

_OPENED: dict[Path, Benchmark] = {}
_OPENED_LOCK = threading.Lock()


def open_benchmark(path: str | os.PathLike | Benchmark | None = None) -> Benchmark:
    """Open the benchmark at ``path``, or at the default places when ``path`` is None.

    Returns one shared :class:`Benchmark` per resolved source path, so the official file
    is loaded once per process unless :func:`clear_benchmark_cache` is called. Opening
    loads no data. The
    rules that map a path to a source are in the module docstring. Raises
    :class:`BenchmarkNotFoundError` when no source is found, listing every place tried.
    """
    if isinstance(path, Benchmark):
        return path

    source, kind = locate_benchmark(path)
    key = source.resolve()

    with _OPENED_LOCK:
        benchmark = _OPENED.get(key)
        if benchmark is None:
            benchmark = _BACKENDS[kind](key)
            _OPENED[key] = benchmark
            logger.debug("opened the %s benchmark %s", kind, key)
    return benchmark


def clear_benchmark_cache() -> None:
    """Forget the benchmarks opened so far, so the next open reads its source again."""
    with _OPENED_LOCK:
        _OPENED.clear()


def locate_benchmark(path: str | os.PathLike | None = None) -> tuple[Path, str]:
    """Return the source file or directory and its kind (``table``, ``nats-tss``, ``nas-bench-201``).

    Raises :class:`BenchmarkNotFoundError` listing every place tried, and ``ValueError``
    for a directory that contains several tables.
    """
    if path is not None:
        candidate = Path(path).expanduser()
        found = _detect(candidate)
        if found is None:
            raise BenchmarkNotFoundError([f"{candidate} ({_why_not(candidate)})"])
        return found

    searched = []
    for origin, candidate in _default_candidates():
        if candidate is None:
            searched.append(f"${ENV_VAR} (not set)")
            continue

        found = _detect(candidate)
        if found is None:
            searched.append(f"{candidate} ({origin}: {_why_not(candidate)})")
            continue

        if origin != f"${ENV_VAR}" and os.environ.get(ENV_VAR):
            logger.warning("no benchmark at %s; using %s", searched[0], found[0])
        return found
    raise BenchmarkNotFoundError(searched)


def _default_candidates() -> list[tuple[str, Path | None]]:
    env_value = os.environ.get(ENV_VAR)
    candidates: list[tuple[str, Path | None]] = [
        (f"${ENV_VAR}", Path(env_value).expanduser() if env_value else None)
    ]

    torch_home = Path(os.environ.get("TORCH_HOME") or Path.home() / ".torch").expanduser()
    for name in (NATS_TSS_DIR_NAME, *NB201_FILE_NAMES):
        candidates.append(("$TORCH_HOME", torch_home / name))
    return candidates


def _detect(path: Path) -> tuple[Path, str] | None:
    """Return the source and kind at ``path`` by the rules of the module docstring, or None."""
    if path.is_file():
        if path.suffix == ".csv":
            return path, KIND_TABLE
        if path.suffix == ".pth":
            return path, KIND_NB201
        return None

    if not path.is_dir():
        return None

    tables = sorted(
        child for child in path.glob("*.csv") if child.is_file() and _has_table_header(child)
    )
    if len(tables) > 1:
        raise ValueError(
            f"the directory {path} contains several NAS-Bench-201 tables "
            f"({', '.join(table.name for table in tables)}); pass the path of one of them"
        )
    if tables:
        return tables[0], KIND_TABLE

    if (path / NATS_META_FILE).is_file():
        return path, KIND_NATS

    for name in NB201_FILE_NAMES:
        if (path / name).is_file():
            return path / name, KIND_NB201

    if (path / NATS_TSS_DIR_NAME / NATS_META_FILE).is_file():
        return path / NATS_TSS_DIR_NAME, KIND_NATS
    return None


def _why_not(path: Path) -> str:
    if not path.exists():
        return "does not exist"
    if path.name.endswith(".pickle.pbz2"):
        return (
            f"a single-file NATS-Bench benchmark; extract {NATS_TSS_DIR_NAME}.tar "
            "and use that directory"
        )
    if path.is_file():
        return "not a .csv table or a .pth file"
    return (
        f"a directory without a CSV table with index and arch columns, {NATS_META_FILE}, "
        f"{' or '.join(NB201_FILE_NAMES)}, or {NATS_TSS_DIR_NAME}"
    )


def _has_table_header(path: Path) -> bool:
    with open(path, newline="") as handle:
        header = next(csv.reader(handle), [])
    names = {name.strip() for name in header}
    return "index" in names and "arch" in names


def export_table(
    source_path: str | os.PathLike | Benchmark | None, table_path: str | os.PathLike
) -> tuple[int, int]:
    """Write the compact CSV table of a benchmark and return (written, skipped) counts.

    ``source_path`` is anything :func:`open_benchmark` accepts. Every index 0 to 15,624
    is tried; ``skipped`` counts those without a record in the source. The columns are
    index, arch, the accuracy columns the source provides and params and flops where
    the source has them. An API source costs as much as :meth:`Benchmark.to_frame`:
    minutes. The file is written to a temporary name and then renamed, so a failed
    export leaves no table.
    """
    benchmark = open_benchmark(source_path)
    target = Path(table_path).expanduser()
    if target.resolve() == benchmark.path:
        raise ValueError(f"the table {target} is the source of the export; write it to another path")

    frame = benchmark.to_frame()
    costs = [
        column for column in COST_COLUMNS if column in frame.columns and frame[column].notna().any()
    ]
    frame = frame[["index", "arch", *benchmark.columns, *costs]]

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    frame.to_csv(partial, index=False)
    os.replace(partial, target)

    written = len(frame)
    skipped = NUM_ARCHITECTURES - written
    logger.info(
        "wrote %d records to %s, skipped %d absent from %s", written, target, skipped, benchmark.path
    )
    return written, skipped


def landscape(benchmark: str | os.PathLike | Benchmark | None = None) -> pd.DataFrame:
    """Return one row per cell with its accuracies and operation counts.

    Columns: index, arch, the accuracy columns (percent), params, flops, and the counts
    ``n_none``, ``n_skip``, ``n_conv1x1``, ``n_conv3x3``, ``n_pool`` and ``n_conv``. For a
    table this is the table itself. The API backends read all 15,625 records once per
    process, which takes minutes (see :meth:`Benchmark.to_frame`).
    """
    return open_benchmark(benchmark).landscape()


def rank_of(
    arch_or_index,
    column: str = "cifar10_test",
    benchmark: str | os.PathLike | Benchmark | None = None,
) -> Rank:
    """Rank a cell among all cells by ``column`` (higher accuracy is better).

    Tied cells share the best rank among them, so several cells can have rank 1. Cells
    without a value in ``column`` are not counted. Costs as much as :func:`landscape`.
    """
    check_column(column)
    source = open_benchmark(benchmark)
    record = source.query(arch_or_index)
    value = getattr(record, column)
    if value is None:
        raise ValueError(
            f"the benchmark {source.path} has no {column} value; "
            f"its columns are {', '.join(source.columns)}"
        )

    values = source.landscape()[column].dropna()
    rank = 1 + int((values > value).sum())
    percentile = 100.0 * int((values <= value).sum()) / len(values)
    return Rank(
        index=record.index,
        arch=record.arch,
        column=column,
        value=value,
        rank=rank,
        count=len(values),
        percentile=percentile,
    )


def _add_operation_counts(frame: pd.DataFrame) -> pd.DataFrame:
    for operation in OPERATIONS:
        pattern = re.escape(f"|{operation}~")
        frame[OPERATION_COUNT_COLUMNS[operation]] = frame["arch"].str.count(pattern).astype(int)
    frame["n_conv"] = frame["n_conv1x1"] + frame["n_conv3x3"]

    totals = frame[list(OPERATION_COUNT_COLUMNS.values())].sum(axis=1)
    if not (totals == NUM_EDGES).all():
        bad = frame.loc[totals != NUM_EDGES, "arch"].iloc[0]
        raise ValueError(
            f"the architecture {bad!r} does not have one known operation on each of {NUM_EDGES} edges"
        )
    return frame


def _record_from_row(row: dict) -> BenchmarkRecord:
    values = {name: _as_float(row.get(name)) for name in RECORD_FIELDS[2:]}
    return BenchmarkRecord(index=int(row["index"]), arch=str(row["arch"]), **values)


def _as_float(value) -> float | None:
    """Return ``value`` as a Python float, or None for a missing value or NaN."""
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number
