import json

import pytest

from betalib.cli import main

TINY = ["--channels", "4", "--cells-per-stage", "1", "--batch-size", "32", "--steps-per-epoch", "3",
        "--threads", "1", "--no-progress"]


@pytest.mark.parametrize(
    "options, option_name, fragment",
    [
        (["--lam=-5"], "--lam", "at least 0"),
        (["--lam", "0-abc"], "--lam", "0-50"),
        (["--dataset", "mnist"], "--dataset", "fashion-mnist"),
        (["--regularizer", "decay"], "--regularizer", "beta-global"),
        (["--epochs", "0"], "--epochs", "positive integer"),
        (["--temperature", "0"], "--temperature", "above 0"),
        (["--order", "3"], "--order", "choose from"),
        (["--alpha-lr", "x"], "--alpha-lr", "number"),
    ],
)
def test_invalid_option_exits_2_with_one_line(options, option_name, fragment, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["search", *options])
    assert exit_info.value.code == 2
    message = capsys.readouterr().err.strip()
    assert "\n" not in message
    assert option_name in message
    assert fragment in message


def test_tiny_search_writes_run_json(tmp_path, capsys):
    status = main(["search", *TINY, "--epochs", "2", "--out", str(tmp_path)])
    assert status == 0
    printed = capsys.readouterr().out.strip()
    record = json.loads((tmp_path / "run.json").read_text())
    assert printed == record["genotype"]
    assert record["finished"] is True
    assert record["config"]["epochs"] == 2
    assert set(record["versions"]) == {"python", "torch", "betalib"}
    assert len(record["history"]) == 2
    for entry in record["history"]:
        for key in ("epoch", "lam", "alpha", "beta", "genotype", "train_acc", "valid_acc"):
            assert key in entry
    assert (tmp_path / "checkpoint.pt").is_file()


def test_resume_rejects_other_options(tmp_path, capsys):
    assert main(["search", *TINY, "--epochs", "1", "--out", str(tmp_path)]) == 0
    assert main(["search", "--resume", str(tmp_path), "--epochs", "3"]) == 2
    assert "--epochs" in capsys.readouterr().err


def test_resume_of_missing_folder_exits_2(tmp_path, capsys):
    assert main(["search", "--resume", str(tmp_path / "none")]) == 2
    assert "no checkpoint" in capsys.readouterr().err


def test_missing_dataset_exits_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BETALIB_DATA", str(tmp_path))
    assert main(["search", *TINY, "--dataset", "cifar10", "--data-dir", str(tmp_path)]) == 2
    assert "cifar10 not found" in capsys.readouterr().err


def test_help_describes_units(capsys):
    with pytest.raises(SystemExit):
        main(["search", "--help"])
    text = capsys.readouterr().out
    assert "pixels per side" in text
    assert "'0-50' rising" in text
