"""Tests of the NAS-Bench-201 lookup, its command line and its landscape helpers.

Tests marked ``needs_table`` and ``needs_nats`` read the benchmark data that
``$BETALIB_NB201`` points at: a directory with the compact table of all 15,625 cells
(test accuracies) and the three-record NATS-Bench topology directory ``nats-tss-fixture``.
The other tests build small benchmarks in a temporary directory.
"""

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from betalib import Genotype
from betalib import nasbench
from betalib.cli import main as cli_main
from betalib.nasbench import (
    ACCURACY_COLUMNS,
    NUM_ARCHITECTURES,
    BenchmarkNotFoundError,
    BenchmarkRecord,
    RecordNotFoundError,
    clear_benchmark_cache,
    export_table,
    landscape,
    locate_benchmark,
    normalize_architecture,
    open_benchmark,
    rank_of,
)

DATA_DIR = os.environ.get("BETALIB_NB201")
FIXTURE_DIR = Path(DATA_DIR) / "nats-tss-fixture" if DATA_DIR else None

needs_table = pytest.mark.skipif(
    not DATA_DIR,
    reason="BETALIB_NB201 is not set; point it at the directory with the NAS-Bench-201 table",
)
needs_nats = pytest.mark.skipif(
    FIXTURE_DIR is None or not (FIXTURE_DIR / "meta.pickle.pbz2").is_file(),
    reason="no NATS-Bench fixture: BETALIB_NB201 is unset or lacks nats-tss-fixture/meta.pickle.pbz2",
)

ALL_SKIP = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"
BETA_DARTS_CELL = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
)

# Test accuracies (percent) of NAS-Bench-201, and the beta-DARTS paper's rounding of them.
KNOWN_CELLS = [
    (ALL_SKIP, 1835, (54.2967, 15.6067, 16.3222), (54.30, 15.61, 16.32)),
    (BETA_DARTS_CELL, 9930, (94.3633, 73.5133, 46.3444), (94.36, 73.51, 46.34)),
]
TEST_COLUMNS = ("cifar10_test", "cifar100_test", "imagenet16_120_test")

# Index 0 of the NATS-Bench topology space, 200 epochs, mean over seeds.
NATS_INDEX_0 = {
    "cifar10_valid": 81.9827,
    "cifar10_test": 85.8633,
    "cifar100_valid": 52.7000,
    "cifar100_test": 52.9133,
    "imagenet16_120_valid": 28.2111,
    "imagenet16_120_test": 26.6333,
}
NATS_INDICES = (0, 11, 284)

RECORD_KEYS = [
    "index",
    "arch",
    "cifar10_valid",
    "cifar10_test",
    "cifar100_valid",
    "cifar100_test",
    "imagenet16_120_valid",
    "imagenet16_120_test",
]


@pytest.fixture
def table_benchmark():
    return open_benchmark(DATA_DIR)


@pytest.fixture
def fresh_nats():
    """A NATS-Bench benchmark opened anew, so no earlier test has loaded it."""
    clear_benchmark_cache()
    return open_benchmark(FIXTURE_DIR)


@pytest.fixture
def small_table(tmp_path):
    """A two-row table with the published test accuracies of the two known cells."""
    rows = [
        {"index": index, "arch": arch, **dict(zip(TEST_COLUMNS, values))}
        for arch, index, values, _ in KNOWN_CELLS
    ]
    path = tmp_path / "two-cells.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture
def no_benchmark_env(tmp_path, monkeypatch):
    """Point $BETALIB_NB201 and $TORCH_HOME at an empty directory."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("BETALIB_NB201", str(empty))
    monkeypatch.setenv("TORCH_HOME", str(empty))
    return empty


def run_cli(argv, capsys):
    status = cli_main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# Table backend on the real data.


@needs_table
@pytest.mark.parametrize("arch, index, values, paper", KNOWN_CELLS)
def test_table_known_cells(table_benchmark, arch, index, values, paper):
    record = table_benchmark.query(arch)

    assert table_benchmark.kind == "table"
    assert record.index == index
    assert record.arch == arch
    for column, expected, rounded in zip(TEST_COLUMNS, values, paper):
        assert getattr(record, column) == pytest.approx(expected, abs=1e-9), column
        assert round(getattr(record, column), 2) == rounded, column


@needs_table
@pytest.mark.parametrize("arch, index", [(arch, index) for arch, index, _, _ in KNOWN_CELLS])
def test_query_index_equals_string(table_benchmark, arch, index):
    by_string = table_benchmark.query(arch)

    assert table_benchmark.query(index) == by_string
    assert table_benchmark.query(Genotype.from_string(arch)) == by_string
    assert table_benchmark.index_of(arch) == index


@needs_table
def test_table_lacks_valid_columns(table_benchmark):
    record = table_benchmark.query(0)

    assert table_benchmark.columns == TEST_COLUMNS
    assert record.cifar10_valid is None
    assert record.params is None
    assert table_benchmark.accuracy(BETA_DARTS_CELL, "cifar100_test") == pytest.approx(73.5133)
    assert table_benchmark.accuracy(BETA_DARTS_CELL, "cifar10_valid") is None


@needs_table
def test_directory_and_file_share_benchmark(table_benchmark):
    source, kind = locate_benchmark(DATA_DIR)

    assert kind == "table"
    assert source.suffix == ".csv"
    assert open_benchmark(source) is table_benchmark


@needs_table
def test_default_path_from_environment(table_benchmark):
    assert open_benchmark() is table_benchmark


@needs_table
def test_record_is_frozen_and_ordered(table_benchmark):
    record = table_benchmark.query(1835)

    assert list(record.to_dict()) == RECORD_KEYS + ["params", "flops"]
    with pytest.raises(AttributeError):
        record.cifar10_test = 0.0


# Architecture validation.


@pytest.mark.parametrize(
    "arch, fragment",
    [
        (
            "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|+|nor_conv_3x3~0|nor_conv_3x3~1|",
            "node 2 needs exactly 2",
        ),
        (
            "|nor_conv_3x3~0|+|nor_conv_3x3~1|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
            "operation~0",
        ),
        (
            "|conv_5x5~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
            "conv_5x5",
        ),
        (NUM_ARCHITECTURES, "out of range"),
        (-1, "out of range"),
    ],
    ids=["groups-swapped", "sources-swapped", "unknown-operation", "index-too-large", "negative-index"],
)
def test_invalid_architecture_rejected(arch, fragment):
    with pytest.raises(ValueError, match=fragment):
        normalize_architecture(arch)


def test_bool_is_not_an_index():
    with pytest.raises(TypeError, match="bool"):
        normalize_architecture(True)


@needs_table
def test_query_rejects_groups_in_other_order(table_benchmark):
    groups = BETA_DARTS_CELL.split("+")
    reordered = "+".join([groups[0], groups[2], groups[1]])

    with pytest.raises(ValueError, match="group"):
        table_benchmark.query(reordered)


def test_partial_table_lacks_record(small_table):
    benchmark = open_benchmark(small_table)

    with pytest.raises(RecordNotFoundError, match="no row with index 0"):
        benchmark.query(0)
    with pytest.raises(RecordNotFoundError, match="no row for the architecture"):
        benchmark.query("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")


def test_unknown_column_lists_valid_names(small_table):
    benchmark = open_benchmark(small_table)

    with pytest.raises(ValueError, match="cifar10_test, cifar100_valid"):
        benchmark.accuracy(1835, "cifar10")
    with pytest.raises(ValueError, match="valid columns are"):
        rank_of(1835, "top1", benchmark=benchmark)


# Finding the benchmark.


def test_missing_benchmark_lists_places(no_benchmark_env):
    with pytest.raises(BenchmarkNotFoundError) as caught:
        open_benchmark()

    message = str(caught.value)
    assert isinstance(caught.value, FileNotFoundError)
    assert f"{no_benchmark_env} ($BETALIB_NB201" in message
    for name in ("NATS-tss-v1_0-3ffb9-simple", "NAS-Bench-201-v1_1-096897.pth", "NAS-Bench-201-v1_0-e61699.pth"):
        assert str(no_benchmark_env / name) in message
    assert "betalib nb201 export" in message
    assert "--benchmark PATH" in message
    assert "SearchConfig(benchmark=...)" in message
    assert len(caught.value.searched) == 4


def test_missing_benchmark_unset_variable(no_benchmark_env, monkeypatch):
    monkeypatch.delenv("BETALIB_NB201")

    with pytest.raises(BenchmarkNotFoundError, match=r"\$BETALIB_NB201 \(not set\)"):
        open_benchmark()


def test_missing_explicit_path(tmp_path):
    missing = tmp_path / "nowhere.pth"

    with pytest.raises(BenchmarkNotFoundError, match="nowhere.pth \\(does not exist\\)"):
        open_benchmark(missing)


def test_pth_path_selects_official_backend_unloaded(tmp_path):
    path = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    path.touch()

    benchmark = open_benchmark(path)

    assert benchmark.kind == "nas-bench-201"
    assert not benchmark.is_loaded
    assert open_benchmark(tmp_path) is benchmark


def test_directory_with_two_tables_is_ambiguous(small_table):
    (small_table.parent / "copy.csv").write_text(small_table.read_text())

    with pytest.raises(ValueError, match="several NAS-Bench-201 tables"):
        open_benchmark(small_table.parent)


def test_directory_without_benchmark(tmp_path):
    (tmp_path / "notes.csv").write_text("name,value\na,1\n")

    with pytest.raises(BenchmarkNotFoundError, match="a directory without"):
        open_benchmark(tmp_path)


def test_environment_falls_back_to_torch_home(small_table, no_benchmark_env, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(small_table.parent))
    official = small_table.parent / "NAS-Bench-201-v1_1-096897.pth"
    official.touch()

    source, kind = locate_benchmark()

    assert source == official
    assert kind == "nas-bench-201"


# NATS-Bench backend on the real fixture.


@needs_nats
def test_nats_index_zero(fresh_nats):
    pytest.importorskip("nats_bench")
    record = fresh_nats.query(0)

    assert fresh_nats.kind == "nats-tss"
    for column, expected in NATS_INDEX_0.items():
        assert getattr(record, column) == pytest.approx(expected, abs=5e-5), column
    assert record.params > 0
    assert record.flops > 0


@needs_nats
def test_nats_loads_on_first_query(fresh_nats):
    pytest.importorskip("nats_bench")
    assert not fresh_nats.is_loaded

    arch = fresh_nats.query(11).arch

    assert fresh_nats.is_loaded
    assert fresh_nats.query(arch).index == 11
    assert fresh_nats.query(Genotype.from_string(arch)) == fresh_nats.query(11)


@needs_nats
def test_nats_frees_record_after_query(fresh_nats):
    pytest.importorskip("nats_bench")
    fresh_nats.query(284)

    assert len(fresh_nats._api.arch2infos_dict) == 0


@needs_nats
def test_nats_missing_record(fresh_nats):
    pytest.importorskip("nats_bench")

    with pytest.raises(RecordNotFoundError, match="no record for index 1"):
        fresh_nats.query(1)


@needs_nats
def test_nats_directory_under_torch_home(tmp_path, monkeypatch):
    (tmp_path / "NATS-tss-v1_0-3ffb9-simple").symlink_to(FIXTURE_DIR, target_is_directory=True)
    monkeypatch.delenv("BETALIB_NB201")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    source, kind = locate_benchmark()

    assert kind == "nats-tss"
    assert source == tmp_path / "NATS-tss-v1_0-3ffb9-simple"


@needs_nats
def test_export_nats_fixture(tmp_path, fresh_nats):
    pytest.importorskip("nats_bench")
    table_path = tmp_path / "nats.csv"

    written, skipped = export_table(FIXTURE_DIR, table_path)

    table = open_benchmark(table_path)
    assert (written, skipped) == (3, NUM_ARCHITECTURES - 3)
    assert table.columns == ACCURACY_COLUMNS
    for index in NATS_INDICES:
        assert table.query(index) == fresh_nats.query(index)


@needs_nats
def test_official_backend_reads_nb201_layout(tmp_path):
    """The nas-bench-201 backend reads the fixture's records repacked as a .pth file.

    The file has the layout that ``nas_201_api.NASBench201API`` loads (``meta_archs``,
    ``arch2infos`` with the 12-epoch results under ``less`` and the 200-epoch results
    under ``full``, ``evaluated_indexes``), written by ``torch.save`` with numpy scalars in
    it as the official file has. It checks the code path of the official file without it.
    """
    pytest.importorskip("nas_201_api")
    pytest.importorskip("nats_bench")
    import torch
    from nats_bench.api_utils import pickle_load

    meta = pickle_load(str(FIXTURE_DIR / "meta.pickle.pbz2"))
    arch2infos = {}
    for index in NATS_INDICES:
        results = pickle_load(str(FIXTURE_DIR / f"{index:06d}.pickle.pbz2"))
        arch2infos[index] = {"less": results["12"], "full": results["200"]}
    path = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    torch.save(
        {"meta_archs": meta["meta_archs"], "arch2infos": arch2infos, "evaluated_indexes": list(NATS_INDICES)},
        path,
    )

    clear_benchmark_cache()
    official = open_benchmark(path)
    assert not official.is_loaded
    record = official.query(0)

    assert official.is_loaded
    assert record == open_benchmark(FIXTURE_DIR).query(0)
    with pytest.raises(RecordNotFoundError, match="no record for index 5"):
        official.query(5)


# Export, landscape and rank on the real table.


@needs_table
def test_export_table_round_trip(tmp_path, table_benchmark):
    table_path = tmp_path / "copy.csv"

    written, skipped = export_table(DATA_DIR, table_path)

    assert (written, skipped) == (NUM_ARCHITECTURES, 0)
    copy = open_benchmark(table_path)
    for index in (0, 1835, 9930, NUM_ARCHITECTURES - 1):
        assert copy.query(index) == table_benchmark.query(index)


def test_export_refuses_to_overwrite_source(small_table):
    with pytest.raises(ValueError, match="is the source"):
        export_table(small_table, small_table)


@needs_table
def test_landscape_counts_operations():
    frame = landscape(DATA_DIR)
    counts = frame[["n_none", "n_skip", "n_conv1x1", "n_conv3x3", "n_pool"]]
    all_skip = frame.set_index("arch").loc[ALL_SKIP]
    beta_darts = frame.set_index("arch").loc[BETA_DARTS_CELL]

    assert len(frame) == NUM_ARCHITECTURES
    assert frame["index"].tolist() == list(range(NUM_ARCHITECTURES))
    assert (counts.sum(axis=1) == 6).all()
    assert (frame["n_conv"] == frame["n_conv1x1"] + frame["n_conv3x3"]).all()
    assert all_skip["n_skip"] == 6
    assert all_skip["n_conv"] == 0
    assert beta_darts["n_conv3x3"] == 5
    assert beta_darts["n_skip"] == 1


@needs_table
def test_rank_of_best_cells_is_one():
    frame = landscape(DATA_DIR)
    best = frame["cifar10_test"].max()
    tied = frame.loc[frame["cifar10_test"] == best, "index"].tolist()

    for index in tied:
        rank = rank_of(index, benchmark=DATA_DIR)
        assert rank.rank == 1
        assert rank.percentile == 100.0
        assert rank.count == NUM_ARCHITECTURES


@needs_table
def test_rank_counts_better_cells():
    frame = landscape(DATA_DIR)
    rank = rank_of(BETA_DARTS_CELL, "cifar10_test", benchmark=DATA_DIR)
    better = int((frame["cifar10_test"] > rank.value).sum())
    not_better = int((frame["cifar10_test"] <= rank.value).sum())

    assert rank.index == 9930
    assert rank.rank == better + 1
    assert rank.percentile == pytest.approx(100 * not_better / NUM_ARCHITECTURES)


def test_rank_of_missing_column(small_table):
    with pytest.raises(ValueError, match="no cifar10_valid value"):
        rank_of(1835, "cifar10_valid", benchmark=small_table)


# Command line.


def test_cli_lookup_json_keys(small_table, capsys):
    status, out, _ = run_cli(["nb201", "lookup", ALL_SKIP, "--benchmark", str(small_table), "--json"], capsys)
    record = json.loads(out)

    assert status == 0
    assert list(record)[: len(RECORD_KEYS)] == RECORD_KEYS
    assert set(record) <= set(RECORD_KEYS) | {"params", "flops"}
    assert record["index"] == 1835
    assert record["cifar10_test"] == 54.2967
    assert record["cifar10_valid"] is None


def test_cli_lookup_readable(small_table, capsys):
    status, out, _ = run_cli(["nb201", "lookup", "9930", "--benchmark", str(small_table)], capsys)

    assert status == 0
    assert BETA_DARTS_CELL in out
    assert "94.36" in out
    assert "73.51" in out
    assert "46.34" in out


def test_cli_lookup_invalid_arch(small_table, capsys):
    status, out, err = run_cli(["nb201", "lookup", "|conv_5x5~0|", "--benchmark", str(small_table)], capsys)

    assert status == 2
    assert out == ""
    assert "betalib nb201 lookup: error:" in err
    assert "|conv_5x5~0|" in err
    assert len(err.strip().splitlines()) == 1


def test_cli_lookup_missing_benchmark(no_benchmark_env, capsys):
    status, _, err = run_cli(["nb201", "lookup", "0"], capsys)
    error_lines = [line for line in err.splitlines() if "error:" in line]

    assert status == 2
    assert len(error_lines) == 1
    assert "no NAS-Bench-201 benchmark found" in error_lines[0]


def test_cli_lookup_missing_record(small_table, capsys):
    status, _, err = run_cli(["nb201", "lookup", "0", "--benchmark", str(small_table)], capsys)

    assert status == 1
    assert "no row with index 0" in err


def test_cli_export_prints_counts(small_table, tmp_path, capsys):
    target = tmp_path / "out" / "table.csv"

    status, out, _ = run_cli(["nb201", "export", "--from", str(small_table), "--to", str(target)], capsys)

    assert status == 0
    assert f"wrote 2 records to {target}; skipped {NUM_ARCHITECTURES - 2}" in out
    assert open_benchmark(target).query(1835) == open_benchmark(small_table).query(1835)


@needs_nats
def test_cli_lookup_nats_json(capsys):
    pytest.importorskip("nats_bench")
    status, out, _ = run_cli(["nb201", "lookup", "0", "--benchmark", str(FIXTURE_DIR), "--json"], capsys)
    record = json.loads(out)

    assert status == 0
    assert record["cifar10_valid"] == pytest.approx(NATS_INDEX_0["cifar10_valid"], abs=5e-5)
    assert record["params"] > 0


def test_record_fields_match_accuracy_columns():
    names = [field for field in BenchmarkRecord.__dataclass_fields__]

    assert tuple(names[2:8]) == ACCURACY_COLUMNS
    assert set(nasbench.API_SOURCES) == set(ACCURACY_COLUMNS)
