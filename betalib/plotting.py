"""Plotly figures of the betalib book.

This module needs plotly, which the ``book`` extra installs; the rest of betalib never
imports it. Every builder returns a ``plotly.graph_objects.Figure``. The figures with
sliders (``beta_replay`` and ``theta_explorer_static``) hold all their states in the
figure itself, so their sliders also work in a static HTML page with no Python kernel.

Rows of beta and alpha are the six edges in ``EDGE_NAMES`` order and columns the five
operations in ``OPERATIONS`` order, as everywhere in betalib.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.io.base_renderers import MimetypeRenderer
from plotly.subplots import make_subplots

from .space import EDGE_NAMES, OPERATIONS
from .theory import theta_ratio

logger = logging.getLogger(__name__)

STATIC_HTML_RENDERER = "static_html"
BOOK_RENDERERS = f"plotly_mimetype+{STATIC_HTML_RENDERER}"

# Panels of ``history_figure``: the y-axis title under which each column is drawn.
# Columns not listed here get a panel of their own, titled by the column name.
HISTORY_PANELS = {
    "n_skip": "edges",
    "n_none": "edges",
    "train_loss": "cross-entropy",
    "valid_loss": "cross-entropy",
    "train_acc": "supernet accuracy",
    "valid_acc": "supernet accuracy",
    "lam": "lambda",
    "temperature": "temperature",
    "mean_beta_norm": "mean ||beta||",
    "benchmark_cifar10_test": "benchmark test accuracy (%)",
    "benchmark_cifar100_test": "benchmark test accuracy (%)",
    "benchmark_imagenet16_120_test": "benchmark test accuracy (%)",
}
DEFAULT_HISTORY_COLUMNS = tuple(HISTORY_PANELS)

_SCALAR_SKIPPED = ("alpha", "beta", "beta_norm", "benchmark")


class StaticHtmlRenderer(MimetypeRenderer):
    """Renderer of a plotly ``<div>`` without plotly.js or MathJax.

    The book's pages load plotly.js once, from the book's own files, so a page needs no
    network and does not carry one copy of plotly.js per figure.
    """

    def to_mimebundle(self, fig_dict):
        # auto_play=False: a replay with frames waits for its play button instead of
        # running once when the page loads.
        html = pio.to_html(fig_dict, include_plotlyjs=False, include_mathjax=False, full_html=False,
                           auto_play=False)
        return {"text/html": html}


def use_book_renderer() -> str:
    """Make plotly figures render both in Jupyter and in the static pages of the book.

    Registers ``StaticHtmlRenderer`` as the renderer ``"static_html"`` and sets the
    default to ``"plotly_mimetype+static_html"``: JupyterLab and VS Code draw the plotly
    mimetype, and the book, which does not, shows the HTML. In Google Colab the default
    is ``"colab"``. Calling it again changes nothing. Returns the default renderer.
    """
    try:
        registered = pio.renderers[STATIC_HTML_RENDERER]
    except (KeyError, ValueError):
        registered = None
    if not isinstance(registered, StaticHtmlRenderer):
        pio.renderers[STATIC_HTML_RENDERER] = StaticHtmlRenderer()
    default = "colab" if "google.colab" in sys.modules else BOOK_RENDERERS
    pio.renderers.default = default
    return default


def book_mimebundle(figure: go.Figure) -> dict:
    """Return the display data of ``figure`` as the book renderer draws it.

    The bundle contains the plotly mimetype and the HTML of ``StaticHtmlRenderer``; it is
    what ``betalib.widgets`` writes into ``ipywidgets.Output`` areas.
    """
    figure_dict = figure.to_dict()
    bundle = dict(pio.renderers["plotly_mimetype"].to_mimebundle(figure_dict))
    bundle.update(StaticHtmlRenderer().to_mimebundle(figure_dict))
    return bundle


# Histories


def _history_entries(result_or_history) -> list[dict]:
    """Return the history of a SearchResult, of records or of ``run.json`` as dicts."""
    history = getattr(result_or_history, "history", result_or_history)
    if isinstance(history, dict) and "history" in history:  # the contents of run.json
        history = history["history"]
    entries = []
    for entry in history:
        entries.append(entry if isinstance(entry, dict) else entry.to_dict())
    return entries


def history_frame(result_or_history):
    """Return the scalar columns of a search history as a DataFrame, one row per epoch.

    Accepts a ``SearchResult``, a list of ``EpochRecord`` or of their dicts, or the dict
    that ``read_run`` returns. The columns are those of ``SearchResult.frame``:
    ``mean_beta_norm`` and one ``benchmark_<column>`` per benchmark accuracy (percent).
    """
    import pandas as pd

    rows = []
    for entry in _history_entries(result_or_history):
        row = {key: value for key, value in entry.items() if key not in _SCALAR_SKIPPED}
        if entry.get("beta_norm") is not None:
            row["mean_beta_norm"] = float(np.mean(entry["beta_norm"]))
        for key, value in (entry.get("benchmark") or {}).items():
            if key not in ("index", "arch") and value is not None:
                row[f"benchmark_{key}"] = value
        rows.append(row)
    return pd.DataFrame(rows)


def history_betas(result_or_history) -> np.ndarray:
    """Return beta after every epoch of a history, shape (epochs, 6, 5)."""
    return np.array([entry["beta"] for entry in _history_entries(result_or_history)], dtype=float)


def history_figure(result_or_history, columns: Sequence[str] | None = None, title: str | None = None) -> go.Figure:
    """Draw the scalar history of a search as lines over the epochs.

    Each panel (a row of subplots) groups columns with the same unit, following
    ``HISTORY_PANELS``: skip and none counts, losses, supernet accuracies, lambda,
    temperature, mean beta norm and the benchmark accuracy of the derived cell when the
    search had a benchmark. ``columns`` picks columns of ``history_frame``; by default
    every column of ``DEFAULT_HISTORY_COLUMNS`` that the history has, except a
    temperature that never changes. Epochs on the x-axis start at 1.
    """
    frame = history_frame(result_or_history)
    if columns is None:
        columns = [name for name in DEFAULT_HISTORY_COLUMNS if name in frame.columns]
        if "temperature" in frame.columns and frame["temperature"].nunique() <= 1:
            columns.remove("temperature")
    else:
        missing = [name for name in columns if name not in frame.columns]
        if missing:
            raise ValueError(
                f"history has no column {', '.join(map(repr, missing))}; "
                f"available columns are {', '.join(frame.columns)}"
            )

    panels: dict[str, list[str]] = {}
    for name in columns:
        panels.setdefault(HISTORY_PANELS.get(name, name), []).append(name)
    if not panels:
        panels = {"": []}

    figure = make_subplots(rows=len(panels), cols=1, shared_xaxes=True, vertical_spacing=0.04)
    epochs = (frame["epoch"] + 1).tolist() if "epoch" in frame.columns else []
    for row, (panel, names) in enumerate(panels.items(), start=1):
        for name in names:
            figure.add_trace(
                go.Scatter(x=epochs, y=frame[name].tolist(), mode="lines+markers", name=name,
                           legendgroup=panel, legendgrouptitle_text=panel),
                row=row, col=1,
            )
        figure.update_yaxes(title_text=panel, row=row, col=1)
    figure.update_xaxes(title_text="epoch", row=len(panels), col=1)
    if len(epochs) <= 20:
        figure.update_xaxes(dtick=1)
    figure.update_layout(
        height=max(260, 190 * len(panels)),
        title={"text": title} if title else None,
        margin={"t": 50 if title else 20, "b": 40},
        legend={"groupclick": "toggleitem"},
    )
    return figure


# Beta


def _color_range(values: np.ndarray, color_range) -> tuple[float, float]:
    """Return ``color_range``, or the range of ``values`` when it is None."""
    if color_range is not None:
        return float(color_range[0]), float(color_range[1])
    low, high = float(np.min(values)), float(np.max(values))
    return (low, high) if high > low else (low - 1e-3, high + 1e-3)


def _beta_heatmap_trace(beta, color_range: tuple[float, float] = (0.0, 1.0)) -> go.Heatmap:
    return go.Heatmap(
        z=np.asarray(beta, dtype=float).tolist(),
        x=list(OPERATIONS),
        y=list(EDGE_NAMES),
        zmin=color_range[0],
        zmax=color_range[1],
        colorscale="Blues",
        texttemplate="%{z:.3f}",
        colorbar={"title": {"text": "beta"}},
        hovertemplate="edge %{y}<br>%{x}<br>beta %{z:.4f}<extra></extra>",
    )


def _check_beta_shape(beta: np.ndarray, name: str = "beta") -> None:
    expected = (len(EDGE_NAMES), len(OPERATIONS))
    if tuple(beta.shape[-2:]) != expected:
        raise ValueError(f"{name} must have shape (..., {expected[0]}, {expected[1]}), got {beta.shape}")


def beta_heatmap(beta, title: str | None = None, color_range: tuple[float, float] | None = (0.0, 1.0)) -> go.Figure:
    """Draw beta as a heatmap of edges (rows) by operations (columns), values printed.

    ``beta`` is a (6, 5) array or tensor in benchmark order; rows and columns are
    labeled with the benchmark's edge and operation names. The color scale runs over
    ``color_range``, by default from 0 to 1 so that heatmaps compare directly; None
    spans the values of ``beta``, which shows the small differences of an early search.
    """
    beta = np.asarray(beta, dtype=float)
    _check_beta_shape(beta)
    figure = go.Figure(_beta_heatmap_trace(beta, _color_range(beta, color_range)))
    figure.update_layout(
        title={"text": title} if title else None,
        xaxis_title="operation",
        yaxis_title="edge",
        yaxis_autorange="reversed",
        height=380,
        margin={"t": 50 if title else 20, "b": 40},
    )
    return figure


def _replay_title(entry: dict) -> str:
    title = f"epoch {entry['epoch'] + 1}, lambda {entry['lam']:g}: {entry['genotype']}"
    accuracy = (entry.get("benchmark") or {}).get("cifar10_test")
    if accuracy is not None:
        title += f"<br>benchmark CIFAR-10 test accuracy of this cell: {accuracy:.2f}%"
    return title


def beta_replay(result_or_history, duration_ms: int = 500,
                color_range: tuple[float, float] | None = None) -> go.Figure:
    """Replay a recorded search: beta per edge and operation, one animation frame per epoch.

    Accepts what ``history_frame`` accepts. Frame ``k`` (named by the epoch, from 1)
    contains the heatmap of beta after that epoch, and its title gives lambda, the derived
    cell and, when recorded, the cell's CIFAR-10 test accuracy in the benchmark. A
    slider and play/pause buttons move through the frames; all frames are stored in the
    figure, so the replay runs in static HTML without a kernel. ``duration_ms`` is the
    time per frame when playing. The color scale runs over ``color_range``, by default
    the range of beta over all epochs, the same in every frame.
    """
    entries = _history_entries(result_or_history)
    if not entries:
        raise ValueError("the history is empty; a replay needs at least one finished epoch")
    betas = np.array([entry["beta"] for entry in entries], dtype=float)
    _check_beta_shape(betas, "each epoch's beta")

    names = [str(entry["epoch"] + 1) for entry in entries]
    colors = _color_range(betas, color_range)
    frames = [
        go.Frame(data=[_beta_heatmap_trace(beta, colors)], name=name, layout={"title": {"text": _replay_title(entry)}})
        for beta, name, entry in zip(betas, names, entries)
    ]
    figure = go.Figure(data=[_beta_heatmap_trace(betas[0], colors)], frames=frames)

    animate = {"frame": {"duration": duration_ms, "redraw": True}, "transition": {"duration": 0}, "mode": "immediate"}
    steps = [{"method": "animate", "label": name, "args": [[name], animate]} for name in names]
    figure.update_layout(
        title={"text": _replay_title(entries[0])},
        xaxis_title="operation",
        yaxis_title="edge",
        yaxis_autorange="reversed",
        height=480,
        margin={"t": 80, "b": 40},
        sliders=[{"active": 0, "currentvalue": {"prefix": "epoch "}, "pad": {"t": 50}, "steps": steps}],
        updatemenus=[{
            "type": "buttons",
            "direction": "left",
            "x": 0.0,
            "y": -0.12,
            "xanchor": "left",
            "yanchor": "top",
            "pad": {"t": 40},
            "buttons": [
                {"label": "play", "method": "animate", "args": [None, {**animate, "fromcurrent": True}]},
                {"label": "pause", "method": "animate",
                 "args": [[None], {"frame": {"duration": 0, "redraw": False}, "mode": "immediate"}]},
            ],
        }],
    )
    return figure


# Theta


MAPPING_TITLES = {"softmax": "beta-decay: F = softmax", "identity": "L2 / weight decay: F = identity"}


def theta_grid(alpha, lams, lrs, alpha_next=None, mappings: Sequence[str] = ("softmax", "identity")) -> dict:
    """Compute theta for every mapping, lr and lambda: ``{mapping: array (lrs, lams, K)}``.

    ``alpha`` is alpha_t of one edge, a vector of K entries. ``alpha_next`` is alpha
    after the update without the regularizer; by default it equals ``alpha``, as when
    the validation gradient vanishes. Values come from ``betalib.theory.theta_ratio``.
    """
    alpha = np.asarray(alpha, dtype=float)
    alpha_next = alpha if alpha_next is None else np.asarray(alpha_next, dtype=float)
    if alpha.ndim != 1 or alpha_next.shape != alpha.shape:
        raise ValueError(
            f"alpha and alpha_next must be vectors of the same length, one entry per operation; "
            f"got shapes {alpha.shape} and {alpha_next.shape}"
        )
    grid = {}
    for mapping in mappings:
        grid[mapping] = np.array([
            [np.asarray(theta_ratio(alpha, alpha_next, float(lam), float(lr), mapping), dtype=float) for lam in lams]
            for lr in lrs
        ])
    return grid


def _bound_trace(x_names, value, name, showlegend):
    return go.Scatter(
        x=list(x_names), y=[value] * len(x_names), mode="lines", name=name, legendgroup=name,
        showlegend=showlegend, line={"dash": "dash", "color": "gray", "width": 1},
        hovertemplate=f"{name}: %{{y:.4g}}<extra></extra>",
    )


def theta_explorer_static(alpha, lams, lrs, alpha_next=None, operations: Sequence[str] = OPERATIONS) -> go.Figure:
    """Draw theta per operation for a precomputed grid of lambda and lr, with two sliders.

    Two panels side by side show theta_k = beta_bar_k / beta_k after one regularized
    update of the edge ``alpha`` (see ``theta_grid``): beta-decay (F = softmax) on the
    left and L2 or weight decay (F = identity) on the right, on a logarithmic axis.
    Dashed lines mark exp(lr * lam) and exp(-lr * lam), the band that bounds theta under
    softmax. The lambda slider restyles the bars of every lr, and the lr slider shows the
    traces of one lr, so the two sliders combine freely, without a kernel.

    Traces come in groups of six per lr, in ``lrs`` order: for each mapping in
    (softmax, identity) a bar trace of theta followed by the upper and the lower bound.
    Step ``j`` of the lambda slider (``layout.sliders[0]``) sets the y values of all
    traces for ``lams[j]``.
    """
    lams = [float(value) for value in lams]
    lrs = [float(value) for value in lrs]
    if not lams or not lrs:
        raise ValueError("lams and lrs must each hold at least one value")
    mappings = ("softmax", "identity")
    grid = theta_grid(alpha, lams, lrs, alpha_next, mappings)
    operations = list(operations)
    if len(operations) != grid["softmax"].shape[-1]:
        raise ValueError(f"{len(operations)} operation names for an alpha of {grid['softmax'].shape[-1]} entries")

    figure = make_subplots(rows=1, cols=2, subplot_titles=[MAPPING_TITLES[m] for m in mappings], shared_yaxes=True)
    colors = {"softmax": "#1f77b4", "identity": "#d62728"}

    def trace_values(lam_index):
        # y of every trace, in trace order, for one lambda.
        values = []
        for lr_index, lr in enumerate(lrs):
            bound = float(np.exp(lr * lams[lam_index]))
            for mapping in mappings:
                values += [grid[mapping][lr_index, lam_index].tolist(), [bound] * len(operations),
                           [1.0 / bound] * len(operations)]
        return values

    initial = trace_values(0)
    for lr_index, lr in enumerate(lrs):
        for column, mapping in enumerate(mappings, start=1):
            offset = 3 * (2 * lr_index + column - 1)
            first = lr_index == 0 and column == 1
            figure.add_trace(
                go.Bar(x=operations, y=initial[offset], name=MAPPING_TITLES[mapping], marker_color=colors[mapping],
                       visible=lr_index == 0, showlegend=False,
                       hovertemplate="%{x}<br>theta %{y:.4g}<extra></extra>"),
                row=1, col=column,
            )
            for bound_offset, label in ((1, "exp(+lr*lambda)"), (2, "exp(-lr*lambda)")):
                trace = _bound_trace(operations, initial[offset + bound_offset][0], label, first)
                trace.visible = lr_index == 0
                figure.add_trace(trace, row=1, col=column)

    traces_per_lr = 3 * len(mappings)
    lam_steps = [
        {"method": "restyle", "label": f"{lam:g}", "args": [{"y": trace_values(index)}]}
        for index, lam in enumerate(lams)
    ]
    lr_steps = []
    for lr_index, lr in enumerate(lrs):
        visible = [index // traces_per_lr == lr_index for index in range(traces_per_lr * len(lrs))]
        lr_steps.append({"method": "restyle", "label": f"{lr:g}", "args": [{"visible": visible}]})

    figure.update_yaxes(type="log", title_text="theta = beta_bar / beta", row=1, col=1)
    figure.update_yaxes(type="log", row=1, col=2)
    figure.update_layout(
        height=620,
        margin={"t": 60, "b": 40},
        bargap=0.3,
        sliders=[
            {"active": 0, "currentvalue": {"prefix": "lambda = "}, "pad": {"t": 40}, "steps": lam_steps},
            {"active": 0, "currentvalue": {"prefix": "lr = "}, "pad": {"t": 120}, "steps": lr_steps},
        ],
        legend={"orientation": "h", "y": 1.12, "x": 1.0, "xanchor": "right"},
    )
    return figure
