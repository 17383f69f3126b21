import json

import numpy as np
import pytest

import betalib
from betalib.bench import format_table, measure, resolve_configuration
from betalib.cli import main


def test_paper_configuration_is_official_shape():
    settings = resolve_configuration("paper")
    assert (settings["channels"], settings["cells_per_stage"], settings["batch_size"]) == (16, 5, 64)
    assert (settings["in_channels"], settings["image_size"]) == (3, 32)
    assert settings["images_per_half"] // settings["batch_size"] == 390


def test_measure_reports_every_figure():
    row = measure("digits-quick", "fast", threads=1, warmup=0, iterations=2)
    for key in ("median_s", "min_s", "max_s", "peak_mb", "epoch_s", "search_s"):
        assert row[key] > 0
    assert row["min_s"] <= row["median_s"] <= row["max_s"]
    assert row["epoch_s"] == pytest.approx(row["median_s"] * row["steps_per_epoch"])
    assert "| digits-quick" in format_table([row])


def test_bench_command_prints_both_paths_and_ratio(capsys):
    status = main(["bench", "--configs", "digits-quick", "--threads", "1", "--warmup", "0", "--iterations", "1", "--json"])
    assert status == 0
    report = json.loads(capsys.readouterr().out)
    assert [row["path"] for row in report["rows"]] == ["plain", "fast"]
    assert report["rows"][1]["speedup"] > 0
    assert "threads" in report["machine"]


def test_bench_rejects_unknown_configuration(capsys):
    assert main(["bench", "--configs", "huge"]) == 2
    assert "paper" in capsys.readouterr().err


def test_bf16_autocast_search_runs_on_cpu(tiny_config):
    fp32 = betalib.search(tiny_config.replace(epochs=1))
    bf16 = betalib.search(tiny_config.replace(epochs=1, precision="bf16"))
    assert np.isfinite(bf16.alpha).all()
    assert np.abs(bf16.alpha - fp32.alpha).max() < 1e-2
