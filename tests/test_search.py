import json
import logging
import os

import numpy as np
import pytest
import torch

from betalib.search import select_device
from betalib.search import Callback, SearchDivergedError, StopSearch, _SearchRun, load_checkpoint, search


def test_same_seed_gives_identical_alpha_history(tiny_config):
    first = search(tiny_config)
    second = search(tiny_config)
    assert np.array_equal(first.alphas(), second.alphas())
    assert first.genotype == second.genotype


def test_other_seed_gives_other_alpha(tiny_config):
    first = search(tiny_config)
    other = search(tiny_config.replace(seed=1))
    assert not np.array_equal(first.alphas(), other.alphas())


def test_resume_equals_uninterrupted_run(tiny_config, tmp_path):
    full = search(tiny_config, out_dir=tmp_path / "full")

    class StopAfterFirstEpoch(Callback):
        def on_epoch_end(self, record):
            raise StopSearch

    partial = search(tiny_config, callbacks=[StopAfterFirstEpoch()], out_dir=tmp_path / "part")
    assert partial.interrupted
    assert len(partial.history) == 1
    assert load_checkpoint(tmp_path / "part")["epoch"] == 1

    resumed = search(resume=tmp_path / "part")
    assert resumed.finished
    assert np.array_equal(resumed.alphas(), full.alphas())
    assert np.array_equal(resumed.alpha, full.alpha)
    assert [e.train_loss for e in resumed.history] == [e.train_loss for e in full.history]


def test_history_entries_have_documented_fields(tiny_config):
    result = search(tiny_config)
    assert len(result.history) == tiny_config.epochs
    entry = result.history[-1]
    assert np.array(entry.alpha).shape == (6, 5)
    assert np.allclose(np.array(entry.beta).sum(axis=1), 1.0)
    assert len(entry.beta_norm) == 6
    assert entry.lam == 50.0
    assert entry.temperature == 1.0
    assert entry.n_skip == entry.genotype.count("skip_connect~")
    assert entry.n_none == entry.genotype.count("none~")
    assert 0.0 <= entry.train_acc <= 1.0
    assert 0.0 <= entry.valid_acc <= 1.0
    assert entry.seconds > 0
    assert result.genotype.to_string() == entry.genotype


def test_parameter_groups_are_disjoint(tiny_config):
    run = _SearchRun(tiny_config, [], None)
    weight_ids = {id(p) for group in run.weight_optimizer.param_groups for p in group["params"]}
    alpha_ids = {id(p) for group in run.alpha_optimizer.param_groups for p in group["params"]}
    assert alpha_ids == {id(run.alpha)}
    assert not weight_ids & alpha_ids
    assert all(id(p) in weight_ids for p in run.net.parameters())


def test_alpha_step_computes_no_weight_gradients(tiny_config):
    run = _SearchRun(tiny_config, [], None)
    alpha_batch = run.batch(run.alpha_half[:8])
    weights_batch = run.batch(run.weights_half[:8])
    before = run.alpha.detach().clone()
    run.alpha_step(alpha_batch, weights_batch, lam=1.0, temperature=1.0, weight_lr=0.025, update_alpha=True)
    assert all(p.grad is None for p in run.net.parameters())
    assert not torch.equal(before, run.alpha.detach())


def test_weight_step_computes_no_alpha_gradient(tiny_config):
    run = _SearchRun(tiny_config, [], None)
    run.weight_step(run.batch(run.weights_half[:8]), temperature=1.0)
    assert run.alpha.grad is None
    assert any(p.grad is not None for p in run.net.parameters())


def test_first_order_step_changes_alpha(tiny_config):
    result = search(tiny_config.replace(epochs=1, regularizer="none", lam="0"))
    assert not np.allclose(result.alpha, 0.0, atol=1e-2 * 1e-3)
    initial = 1e-3 * torch.randn(6, 5, generator=torch.Generator().manual_seed(tiny_config.seed))
    assert not np.array_equal(result.alpha, initial.numpy())


def test_second_order_search_runs_with_regularizer(tiny_config):
    result = search(tiny_config.replace(order=2, epochs=1, steps_per_epoch=2, lam="10"))
    assert np.isfinite(result.alpha).all()
    assert len(result.history) == 1


def test_decoupled_weight_decay_shrinks_alpha():
    from betalib.config import SearchConfig

    base = SearchConfig(channels=4, cells_per_stage=1, epochs=2, batch_size=32, steps_per_epoch=4,
                        progress=False, alpha_weight_decay=0.0, alpha_optimizer="sgd", alpha_lr=0.1)
    plain = search(base.replace(regularizer="none", lam="0"))
    decayed = search(base.replace(regularizer="weight-decay", lam="5"))
    assert np.abs(decayed.alpha).sum() < np.abs(plain.alpha).sum()


def test_frozen_alpha_stops_changing(tiny_config):
    result = search(tiny_config.replace(freeze_alpha_epoch=1))
    alphas = result.alphas()
    assert np.array_equal(alphas[1], alphas[0])
    assert np.array_equal(alphas[2], alphas[0])


def test_non_finite_alpha_stops_with_checkpoint(tiny_config, tmp_path):
    config = tiny_config.replace(alpha_optimizer="sgd", alpha_lr=1.0, lam="0-1e38", regularizer="l2")
    with pytest.raises(SearchDivergedError) as error:
        search(config, out_dir=tmp_path)
    message = str(error.value)
    assert "diverged at epoch 1, step" in message
    assert str(tmp_path / "checkpoint.pt") in message
    assert error.value.checkpoint == tmp_path / "checkpoint.pt"
    assert load_checkpoint(tmp_path)["epoch"] == 1
    assert len(error.value.result.history) == 1
    assert np.isfinite(error.value.result.history[0].alpha).all()


def test_non_finite_without_output_folder_says_so(tiny_config):
    config = tiny_config.replace(alpha_optimizer="sgd", alpha_lr=1e20, lam="1e30", regularizer="l2")
    with pytest.raises(SearchDivergedError, match="epoch 0, step 0.*no checkpoint was written"):
        search(config)


def test_raising_callback_is_logged_and_search_goes_on(tiny_config, caplog):
    class Broken(Callback):
        def on_epoch_end(self, record):
            raise RuntimeError("figure failed")

    steps = []
    with caplog.at_level(logging.ERROR):
        result = search(tiny_config, callbacks=[Broken(), lambda record: steps.append(record.epoch)])
    assert result.finished
    assert steps == [0, 1, 2]
    assert "figure failed" in caplog.text


def test_step_callback_sees_every_step(tiny_config):
    seen = []

    class Steps(Callback):
        def on_step(self, info):
            seen.append((info.epoch, info.step, info.alpha.shape))

    search(tiny_config, callbacks=[Steps()])
    assert len(seen) == tiny_config.epochs * tiny_config.steps_per_epoch
    assert seen[0] == (0, 0, (6, 5))


def test_keyboard_interrupt_returns_history_so_far(tiny_config):
    class Interrupt(Callback):
        def on_step(self, info):
            if info.epoch == 1 and info.step == 2:
                raise KeyboardInterrupt

    result = search(tiny_config, callbacks=[Interrupt()])
    assert result.interrupted
    assert not result.finished
    assert len(result.history) == 1


def test_temperature_schedule_in_history(tiny_config):
    result = search(tiny_config.replace(temperature="4-1"))
    assert [e.temperature for e in result.history] == [4.0, 2.5, 1.0]
    entry = result.history[0]
    expected = torch.softmax(torch.tensor(entry.alpha) / 4.0, dim=-1)
    assert torch.allclose(torch.tensor(entry.beta), expected)


def test_plain_and_fast_supernets_search_alike(tiny_config):
    fast = search(tiny_config.replace(epochs=1))
    plain = search(tiny_config.replace(epochs=1, fast=False))
    assert np.allclose(fast.alpha, plain.alpha, atol=1e-5)


def test_select_device_rejects_missing_cuda():
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    with pytest.raises(ValueError, match="cuda"):
        select_device("cuda")


@pytest.mark.skipif(not os.environ.get("BETALIB_NB201"), reason="BETALIB_NB201 is not set; no NAS-Bench-201 table to look cells up in")
def test_search_records_benchmark_accuracy_every_epoch(tiny_config, tmp_path):
    from betalib.nasbench import open_benchmark

    result = search(tiny_config.replace(benchmark=os.environ["BETALIB_NB201"]), out_dir=tmp_path)
    table = open_benchmark(os.environ["BETALIB_NB201"])
    for entry in result.history:
        assert entry.benchmark["arch"] == entry.genotype
        assert entry.benchmark["cifar10_test"] == table.query(entry.genotype).cifar10_test
    saved = json.loads((tmp_path / "run.json").read_text())
    assert all(entry["benchmark"]["cifar10_test"] is not None for entry in saved["history"])
