"""Tests of the grid runner and its tables: processes, skipping, resuming, errors, records."""

import json
import statistics

import numpy as np
import pytest

from betalib.aggregate import (alpha_steps, build_record, cell_table, edge_counts, load_record, public_config,
                               readable_cell_table)
from betalib.cli import main
from betalib.config import PRESETS, SearchConfig
from betalib.experiments import GRID_PRESETS, GridError, load_grid, run_grid
from betalib.search import StopSearch, search

TINY_GRID = """
name = "tiny"
description = "two regularizers, two seeds"
seeds = [0, 1]
[settings]
dataset = "digits"
channels = 4
cells_per_stage = 1
epochs = 2
steps_per_epoch = 3
batch_size = 32
[axes]
regularizer = ["none", "beta"]
"""

RUN_NAMES = ["regularizer-none-s0", "regularizer-none-s1", "regularizer-beta-s0", "regularizer-beta-s1"]


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory):
    """Run the tiny grid once through the command line with two processes."""
    root = tmp_path_factory.mktemp("grid")
    grid_file = root / "tiny.toml"
    grid_file.write_text(TINY_GRID)
    out = root / "out"
    status = main(["experiment", "run", str(grid_file), "--out", str(out), "--jobs", "2", "--no-progress"])
    return grid_file, out, status


def test_grid_run_writes_every_run(grid_run):
    _, out, status = grid_run
    assert status == 0
    for name in RUN_NAMES:
        record = json.loads((out / name / "run.json").read_text())
        assert record["finished"] is True
        assert len(record["history"]) == 2
    assert json.loads((out / "grid.json").read_text())["name"] == "tiny"


def test_grid_report_matches_runs(grid_run, capsys):
    _, out, _ = grid_run
    capsys.readouterr()
    assert main(["experiment", "report", str(out), "--json"]) == 0
    cells = {row["cell"]: row for row in json.loads(capsys.readouterr().out)["cells"]}
    assert set(cells) == {"regularizer-none", "regularizer-beta"}

    for cell, row in cells.items():
        runs = [json.loads((out / f"{cell}-s{seed}" / "run.json").read_text()) for seed in (0, 1)]
        assert row["n"] == 2
        skips = [np.argmax(run["history"][-1]["alpha"], axis=1).tolist().count(1) for run in runs]
        nones = [np.argmax(run["history"][-1]["alpha"], axis=1).tolist().count(0) for run in runs]
        accuracies = [run["history"][-1]["valid_acc"] for run in runs]
        last_beta = [np.mean([entry["beta"] for entry in run["history"][-3:]], axis=0) for run in runs]
        skips_last = [np.argmax(beta, axis=1).tolist().count(1) for beta in last_beta]
        nones_last = [np.argmax(beta, axis=1).tolist().count(0) for beta in last_beta]
        assert row["n_skip_mean"] == pytest.approx(statistics.mean(skips))
        assert row["n_skip_std"] == pytest.approx(statistics.stdev(skips))
        assert row["n_none_mean"] == pytest.approx(statistics.mean(nones))
        assert row["n_skip_last_mean"] == pytest.approx(statistics.mean(skips_last))
        assert row["supernet_valid_acc_mean"] == pytest.approx(statistics.mean(accuracies), abs=1e-5)
        assert row["supernet_valid_acc_std"] == pytest.approx(statistics.stdev(accuracies), abs=1e-5)
        assert row["collapsed"] == sum(s + n >= 3 for s, n in zip(skips, nones))
        assert row["collapsed_last"] == sum(s + n >= 3 for s, n in zip(skips_last, nones_last))


def test_grid_rerun_skips_finished(grid_run, capsys):
    grid_file, out, _ = grid_run
    written = {name: (out / name / "run.json").stat().st_mtime_ns for name in RUN_NAMES}
    capsys.readouterr()
    assert main(["experiment", "run", str(grid_file), "--out", str(out), "--jobs", "2", "--no-progress"]) == 0
    assert "4 skipped" in capsys.readouterr().out
    assert {name: (out / name / "run.json").stat().st_mtime_ns for name in RUN_NAMES} == written


def test_grid_record_round_trip(grid_run, tmp_path, capsys):
    _, out, _ = grid_run
    target = tmp_path / "results" / "tiny.json"
    assert main(["experiment", "record", str(out), "--to", str(target)]) == 0
    record = load_record(target)
    assert record.grid["name"] == "tiny"
    assert record.last_epochs == 3
    assert sorted(record.runs["run"]) == sorted(RUN_NAMES)
    assert set(record.epochs["epoch"]) == {0, 1}
    assert (record.epochs["n"] == 2).all()
    assert record.provenance["machine"]["cpu_count"] >= 1
    assert main(["experiment", "report", str(target)]) == 0
    assert "regularizer-beta" in capsys.readouterr().out


def test_interrupted_run_resumes(tmp_path):
    grid = load_grid({"name": "resume", "seeds": [0], "settings": {
        "dataset": "digits", "channels": 4, "cells_per_stage": 1, "epochs": 2,
        "steps_per_epoch": 3, "batch_size": 32}})
    spec = grid.runs[0]
    folder = tmp_path / spec.name

    def stop_after_first_epoch(record):
        raise StopSearch

    stopped = search(SearchConfig.from_dict(spec.config), callbacks=[stop_after_first_epoch], out_dir=folder)
    assert not stopped.finished
    assert (folder / "checkpoint.pt").is_file()

    outcomes = run_grid(grid, tmp_path, progress=False)
    assert [outcome.status for outcome in outcomes] == ["resumed"]
    record = json.loads((folder / "run.json").read_text())
    assert record["finished"] is True
    assert [entry["epoch"] for entry in record["history"]] == [0, 1]


def test_changed_settings_are_rejected(tmp_path):
    definition = {"name": "changed", "seeds": [0], "settings": {
        "dataset": "digits", "channels": 4, "cells_per_stage": 1, "epochs": 1,
        "steps_per_epoch": 2, "batch_size": 32}}
    run_grid(load_grid(definition), tmp_path, progress=False)
    definition["settings"]["channels"] = 6
    with pytest.raises(GridError, match="channels"):
        run_grid(load_grid(definition), tmp_path, progress=False)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("name = 'x'\nseeds = [0]\ncolor = 1\n", "unknown keys ['color']"),
        ("name = 'x'\nseeds = [\n", "invalid TOML"),
        ("name = 'x'\nseeds = []\n", "seeds must be a non-empty list"),
        ("name = 'x'\nseeds = [0]\n[settings]\nregularizer = 'decay'\n", "unknown regularizer 'decay'"),
        ("name = 'x'\nseeds = [0]\n[settings]\nchanels = 4\n", "chanels"),
        ("name = 'x'\nseeds = [0]\n[axes]\nlam = '0-50'\n", "axis lam must be a non-empty list"),
    ],
)
def test_bad_grid_exits_2_with_one_line(tmp_path, capsys, text, fragment):
    grid_file = tmp_path / "bad.toml"
    grid_file.write_text(text)
    status = main(["experiment", "run", str(grid_file), "--out", str(tmp_path / "out")])
    message = capsys.readouterr().err.strip()
    assert status == 2
    assert "\n" not in message
    assert fragment in message


def test_missing_grid_exits_2(tmp_path, capsys):
    status = main(["experiment", "run", str(tmp_path / "missing.toml"), "--out", str(tmp_path)])
    message = capsys.readouterr().err.strip()
    assert status == 2
    assert "neither a file nor a grid preset" in message


def test_bad_jobs_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["experiment", "run", "collapse", "--out", "x", "--jobs", "0"])
    assert exit_info.value.code == 2
    assert "\n" not in capsys.readouterr().err.strip()


def test_benchmark_variable_must_be_set(monkeypatch):
    monkeypatch.delenv("BETALIB_NB201", raising=False)
    with pytest.raises(GridError, match=r"\$BETALIB_NB201, which is not set"):
        load_grid("collapse")
    assert load_grid("collapse", benchmark=False).runs[0].config["benchmark"] is None


def test_grid_presets_are_valid():
    for name in GRID_PRESETS:
        grid = load_grid(name, benchmark=False)
        assert len(grid.runs) == len(grid.cells) * len(grid.definition["seeds"])


def test_collapse_preset_is_screened_candidate():
    collapse = SearchConfig(**PRESETS["collapse"]).to_dict()
    screened = [run.config for run in load_grid("preset-screen", benchmark=False).runs]
    keys = [key for key in collapse if key not in ("seed", "regularizer", "lam", "benchmark", "progress", "threads")]

    matches = {run["regularizer"] for run in screened if all(run[key] == collapse[key] for key in keys)}

    assert matches == {"none", "beta"}


def test_alpha_steps_ignore_edge_shift():
    start = np.zeros((6, 5))
    shifted = np.full((1, 6, 5), -0.5)
    steps = alpha_steps(shifted, start)
    assert steps["alpha_step"][0] == pytest.approx(0.5)
    assert steps["alpha_step_centered"][0] == pytest.approx(0.0)
    assert steps["beta_step"][0] == pytest.approx(0.0)


def test_edge_counts_count_each_operation():
    beta = np.eye(5)[[0, 1, 1, 3, 4, 1]]
    counts = edge_counts(beta)
    assert counts == {"none": 1, "skip_connect": 3, "nor_conv_1x1": 0, "nor_conv_3x3": 1, "avg_pool_3x3": 1}


def test_public_config_drops_paths():
    config = public_config({"benchmark": "/data/tables/nb201.csv", "data_dir": None, "seed": 0})
    assert config == {"benchmark": "nb201.csv", "data_dir": None, "seed": 0}


def test_record_without_finished_runs(tmp_path):
    grid = load_grid({"name": "empty", "seeds": [0], "settings": {"dataset": "digits"}})
    from betalib.experiments import write_grid_file

    write_grid_file(grid, tmp_path, None)
    record = build_record(tmp_path)
    assert record["runs"] == []
    assert record["planned_runs"] == 1
    assert len(load_record(record).cells) == 0


def test_settling_epoch_finds_last_big_step():
    from betalib.aggregate import settling_epoch

    assert settling_epoch([1.0, 0.5, 0.05, 0.2, 0.01, 0.01]) == 4
    assert settling_epoch([1.0, 0.05, 0.01]) == 1
    assert settling_epoch([0.1, 0.2, 0.3]) is None


def test_cell_table_counts_collapsed_runs():
    def run(cell, skip, none, skip_last, none_last):
        return {"cell": cell, "n_skip": skip, "n_none": none, "n_skip_last": skip_last, "n_none_last": none_last,
                "supernet_valid_acc": 0.5, "cifar10_test": None, "cifar100_test": None,
                "imagenet16_120_test": None, "seconds": 1.0}

    runs = [run("darts", 2, 1, 2, 0), run("darts", 3, 0, 1, 1), run("darts", 2, 0, 6, 0),
            run("beta", 1, 1, 1, 1), run("beta", 0, 2, 0, 0)]
    table = cell_table(runs).set_index("cell")

    assert table.loc["darts", "collapsed"] == 2
    assert table.loc["darts", "collapsed_last"] == 1
    assert table.loc["beta", "collapsed"] == 0
    assert readable_cell_table(cell_table(runs))["collapsed"].tolist() == ["2/3", "0/2"]
