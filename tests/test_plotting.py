"""Tests of the book's figures (betalib.plotting) and widgets (betalib.widgets)."""

import time

import numpy as np
import pytest

pytest.importorskip("plotly")
pytest.importorskip("ipywidgets")

import plotly.io as pio  # noqa: E402

import betalib  # noqa: E402
from betalib import EDGE_NAMES, OPERATIONS, StopSearch  # noqa: E402
from betalib.plotting import (  # noqa: E402
    BOOK_RENDERERS,
    StaticHtmlRenderer,
    beta_heatmap,
    beta_replay,
    book_mimebundle,
    history_figure,
    history_frame,
    theta_explorer_static,
    use_book_renderer,
)
from betalib.theory import theta_ratio  # noqa: E402
from betalib.widgets import LiveSearch, ThetaExplorer  # noqa: E402

TINY = dict(channels=4, cells_per_stage=1, steps_per_epoch=3, batch_size=16, threads=1)


@pytest.fixture(scope="module")
def tiny_result():
    config = betalib.preset("digits-quick", epochs=3, progress=False, **TINY)
    return betalib.search(config)


def test_use_book_renderer_idempotent():
    first = use_book_renderer()
    renderer = pio.renderers["static_html"]
    second = use_book_renderer()
    assert first == second == BOOK_RENDERERS
    assert pio.renderers.default == BOOK_RENDERERS
    assert pio.renderers["static_html"] is renderer
    assert isinstance(renderer, StaticHtmlRenderer)


def test_book_mimebundle_has_no_plotlyjs():
    bundle = book_mimebundle(beta_heatmap(np.full((6, 5), 0.2)))
    assert "application/vnd.plotly.v1+json" in bundle
    assert "<div" in bundle["text/html"]
    assert "plotly.js v" not in bundle["text/html"]  # the library's banner comment


def test_beta_heatmap_values_and_labels():
    beta = np.random.default_rng(0).dirichlet(np.ones(5), size=6)
    figure = beta_heatmap(beta)
    heatmap = figure.data[0]
    assert list(heatmap.x) == list(OPERATIONS)
    assert list(heatmap.y) == list(EDGE_NAMES)
    np.testing.assert_allclose(np.array(heatmap.z), beta)


def test_beta_heatmap_rejects_wrong_shape():
    with pytest.raises(ValueError, match="shape"):
        beta_heatmap(np.ones((5, 6)))


def test_history_figure_default_columns(tiny_result):
    figure = history_figure(tiny_result)
    names = {trace.name for trace in figure.data}
    for column in ("n_skip", "n_none", "train_loss", "valid_loss", "train_acc", "valid_acc", "lam"):
        assert column in names
    assert "temperature" not in names  # constant, so left out
    lam_trace = next(trace for trace in figure.data if trace.name == "lam")
    assert list(lam_trace.x) == [1, 2, 3]
    assert list(lam_trace.y) == [record.lam for record in tiny_result.history]


def test_history_figure_selected_columns(tiny_result):
    figure = history_figure(tiny_result.history, columns=["valid_acc"])
    assert [trace.name for trace in figure.data] == ["valid_acc"]
    with pytest.raises(ValueError, match="no column 'missing'"):
        history_figure(tiny_result, columns=["missing"])


def test_history_frame_reads_benchmark_dicts(tiny_result):
    entries = [record.to_dict() for record in tiny_result.history]
    for entry in entries:
        entry["benchmark"] = {"index": 1, "arch": "x", "cifar10_test": 90.0, "cifar10_valid": None}
    frame = history_frame({"history": entries})
    assert list(frame["benchmark_cifar10_test"]) == [90.0] * 3
    assert "benchmark_cifar10_valid" not in frame.columns
    names = {trace.name for trace in history_figure(entries).data}
    assert "benchmark_cifar10_test" in names


def test_beta_replay_one_frame_per_epoch(tiny_result):
    figure = beta_replay(tiny_result)
    assert len(figure.frames) == len(tiny_result.history)
    assert [frame.name for frame in figure.frames] == ["1", "2", "3"]
    for frame, beta in zip(figure.frames, tiny_result.betas()):
        np.testing.assert_allclose(np.array(frame.data[0].z), beta)
    steps = figure.layout.sliders[0].steps
    assert [list(step.args[0]) for step in steps] == [["1"], ["2"], ["3"]]


def test_beta_replay_rejects_empty_history():
    with pytest.raises(ValueError, match="empty"):
        beta_replay([])


def test_theta_explorer_static_matches_theta_ratio():
    alpha = np.array([2.0, 1.0, 0.0, -1.0, -3.0])
    lams = [0.0, 10.0, 50.0]
    lrs = [1e-3, 1e-2]
    figure = theta_explorer_static(alpha, lams, lrs)
    assert len(figure.data) == 6 * len(lrs)
    lam_steps = figure.layout.sliders[0].steps
    assert len(lam_steps) == len(lams)
    for lam_index, lam in enumerate(lams):
        values = lam_steps[lam_index].args[0]["y"]
        for lr_index, lr in enumerate(lrs):
            for mapping_index, mapping in enumerate(("softmax", "identity")):
                bars = values[6 * lr_index + 3 * mapping_index]
                expected = theta_ratio(alpha, alpha, lam, lr, mapping)
                np.testing.assert_allclose(bars, expected, rtol=1e-6)
                upper = values[6 * lr_index + 3 * mapping_index + 1]
                assert upper[0] == pytest.approx(np.exp(lr * lam))


def test_theta_explorer_static_lr_slider_visibility():
    figure = theta_explorer_static(np.zeros(5), [1.0], [1e-3, 1e-2, 1e-1])
    lr_steps = figure.layout.sliders[1].steps
    visible = lr_steps[1].args[0]["visible"]
    assert visible == [False] * 6 + [True] * 6 + [False] * 6
    assert [trace.visible for trace in figure.data] == [True] * 6 + [False] * 12


def test_theta_explorer_widget_updates():
    explorer = ThetaExplorer(alpha=(1.0, 0.0, 0.0, 0.0, -1.0), lam=10.0, lr=0.01)
    np.testing.assert_allclose(explorer.theta["softmax"],
                               theta_ratio(explorer.alpha, explorer.alpha, 10.0, 0.01, "softmax"), rtol=1e-6)
    explorer.lam_slider.value = 50.0
    explorer.alpha_sliders[0].value = 5.0
    alpha = explorer.alpha
    assert alpha[0] == 5.0
    np.testing.assert_allclose(explorer.theta["identity"],
                               theta_ratio(alpha, alpha, 50.0, explorer.lr_slider.value, "identity"), rtol=1e-6)
    assert len(explorer.output.outputs) == 1


def test_live_search_blocking_run():
    live = LiveSearch("digits-quick", epochs=2, benchmark="", **TINY)
    result = live.run(blocking=True)
    assert result is live.result
    assert result.finished
    assert len(live.history) == 2
    assert live.step == 2 * TINY["steps_per_epoch"]
    assert len(live.losses) == live.step
    np.testing.assert_allclose(np.array(live.figures["beta"].data[0].z), result.beta, rtol=1e-5)
    assert len(live.figures["history"].data[0].x) == 2
    assert live.beta_output.outputs and live.history_output.outputs
    assert not live.run_button.disabled
    assert live.stop_button.disabled


def test_live_search_config_follows_controls():
    live = LiveSearch("collapse", regularizer="l2", lam_start=5, lam_end=5, epochs=4, seed=3, benchmark="", **TINY)
    config = live.config()
    assert (config.dataset, config.regularizer, config.lam, config.epochs, config.seed) == (
        "fashion-mnist", "l2", "5", 4, 3)
    live.lam_end_control.value = 20
    assert live.config().lam == "5-20"
    assert live.config().channels == 4


def test_live_search_stop_ends_early():
    live = LiveSearch("digits-quick", epochs=50, benchmark="", **TINY)
    live.run()
    deadline = time.monotonic() + 20
    while live.step < 1 and live.error is None and time.monotonic() < deadline:
        time.sleep(0.01)
    live.stop()
    result = live.wait(timeout=20)
    assert live.error is None
    assert not live.running
    assert result.interrupted
    assert len(result.history) < 50


def test_live_search_on_step_raises_after_stop():
    import torch

    from betalib.search import StepInfo

    live = LiveSearch("digits-quick", benchmark="", redraws_per_second=1.0)
    info = StepInfo(0, 0, 3, 0.0, 1.0, torch.zeros(6, 5), torch.tensor(2.0), torch.tensor(2.0))
    live.on_step(info)
    live.stop()
    with pytest.raises(StopSearch):
        live.on_step(info)


def test_live_search_throttles_redraws():
    import torch

    from betalib.search import StepInfo

    live = LiveSearch("digits-quick", benchmark="", redraws_per_second=2.0)
    started = time.monotonic()
    for step in range(200):
        live.on_step(StepInfo(0, step, 200, 0.0, 1.0, torch.randn(6, 5), torch.tensor(2.0), torch.tensor(2.0)))
    elapsed = time.monotonic() - started
    assert live.step == 200
    assert 1 <= live.redraws <= 1 + int(elapsed * 2.0) + 1
    assert live.redraws < 20
