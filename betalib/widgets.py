"""Interactive widgets of the betalib book, for a running Jupyter kernel.

``ThetaExplorer`` recomputes theta = beta_bar / beta as its sliders move, and
``LiveSearch`` runs ``betalib.search`` in a background thread with figures that follow
the search. Both need ipywidgets and plotly (the ``book`` extra); the rest of betalib
never imports this module.

Figures are plotly figures written into ``ipywidgets.Output`` areas with the display
data of ``betalib.plotting.book_mimebundle``. plotly's ``FigureWidget`` is not used
because plotly 7 needs the ``anywidget`` package for it.

Both classes can be built and driven without a front end: their state (``theta``,
``history``, ``figures`` and so on) is plain Python, which is how the tests use them.
"""

from __future__ import annotations

import logging
import os
import threading
import time

import ipywidgets as widgets
import numpy as np
from IPython.display import display

from .config import PRESETS, SearchConfig, preset
from .genotype import Genotype
from .plotting import MAPPING_TITLES, beta_heatmap, book_mimebundle, history_figure
from .regularizers import REGULARIZERS
from .search import Callback, StopSearch, search
from .space import OPERATIONS
from .theory import theta_ratio

logger = logging.getLogger(__name__)

LIVE_PRESETS = ("digits-quick", "collapse")
BENCHMARK_VARIABLE = "BETALIB_NB201"


def show_figure(output: widgets.Output, figure) -> None:
    """Replace what ``output`` shows by ``figure``.

    Setting ``Output.outputs`` works from any thread, unlike ``with output:``, which
    captures only the main thread's display calls.
    """
    output.outputs = ({"output_type": "display_data", "data": book_mimebundle(figure), "metadata": {}},)


# Theta explorer


class ThetaExplorer:
    """Sliders for lambda, lr and the five alpha entries of one edge, and theta per operation.

    After every slider move the explorer recomputes theta = beta_bar / beta under
    beta-decay (F = softmax) and under L2 (F = identity) with
    ``betalib.theory.theta_ratio``, for one update in which the validation gradient
    vanishes (alpha_next = alpha). ``theta`` contains the latest values by mapping, and
    ``figure`` the latest plotly figure. Display the explorer with ``display(explorer)``.
    """

    def __init__(self, alpha=(1.0, 0.5, 0.0, -0.5, -1.0), lam: float = 25.0, lr: float = 0.01):
        alpha = [float(value) for value in alpha]
        if len(alpha) != len(OPERATIONS):
            raise ValueError(f"alpha must have {len(OPERATIONS)} entries, one per operation, got {len(alpha)}")
        self.lam_slider = widgets.FloatSlider(value=lam, min=0.0, max=100.0, step=1.0, description="lambda",
                                              continuous_update=True)
        self.lr_slider = widgets.FloatLogSlider(value=lr, base=10, min=-4, max=-0.5, step=0.05, description="lr",
                                                readout_format=".2e")
        self.alpha_sliders = [
            widgets.FloatSlider(value=value, min=-10.0, max=10.0, step=0.1, description=f"alpha {name}",
                                style={"description_width": "11em"}, layout={"width": "32em"})
            for value, name in zip(alpha, OPERATIONS)
        ]
        self.summary = widgets.HTML()
        self.output = widgets.Output()
        self.theta: dict[str, np.ndarray] = {}
        self.figure = None
        for slider in [self.lam_slider, self.lr_slider, *self.alpha_sliders]:
            slider.observe(self.update, names="value")
        self.widget = widgets.VBox([
            widgets.HBox([widgets.VBox([self.lam_slider, self.lr_slider]), widgets.VBox(self.alpha_sliders)]),
            self.summary,
            self.output,
        ])
        self.update()

    @property
    def alpha(self) -> np.ndarray:
        """The edge's alpha as the sliders set it, one entry per operation."""
        return np.array([slider.value for slider in self.alpha_sliders])

    def update(self, change=None) -> None:
        """Recompute theta for the current slider values and redraw."""
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        alpha, lam, lr = self.alpha, float(self.lam_slider.value), float(self.lr_slider.value)
        self.theta = {mapping: np.asarray(theta_ratio(alpha, alpha, lam, lr, mapping), dtype=float)
                      for mapping in MAPPING_TITLES}
        bound = float(np.exp(lr * lam))

        figure = make_subplots(rows=1, cols=2, shared_yaxes=True, subplot_titles=list(MAPPING_TITLES.values()))
        for column, mapping in enumerate(MAPPING_TITLES, start=1):
            figure.add_trace(go.Bar(x=list(OPERATIONS), y=self.theta[mapping].tolist(), showlegend=False),
                             row=1, col=column)
            for value in (bound, 1.0 / bound):
                figure.add_hline(y=value, line_dash="dash", line_color="gray", row=1, col=column)
        figure.update_yaxes(type="log", title_text="theta = beta_bar / beta", row=1, col=1)
        figure.update_layout(height=380, margin={"t": 40, "b": 30})
        self.figure = figure

        largest = int(np.argmax(alpha))
        self.summary.value = (
            f"c = lr * lambda = {lr * lam:.3g}; softmax band [{1 / bound:.4g}, {bound:.4g}]. "
            f"Largest beta ({OPERATIONS[largest]}): theta {self.theta['softmax'][largest]:.4g} under softmax, "
            f"{self.theta['identity'][largest]:.4g} under identity."
        )
        show_figure(self.output, figure)

    def _ipython_display_(self):
        display(self.widget)


# Live search


class _LiveCallback(Callback):
    def __init__(self, live: LiveSearch):
        self.live = live

    def on_step(self, info):
        self.live.on_step(info)

    def on_epoch_end(self, record):
        self.live.on_epoch_end(record)

    def on_search_end(self, result):
        self.live.on_search_end(result)


class LiveSearch:
    """Run a search from a notebook, with controls and figures that follow it live.

    Controls set the dataset preset (``LIVE_PRESETS``), the regularizer, lambda at the
    first and the last epoch (a linear schedule), the temperature, the number of epochs
    and the seed. The Run button starts ``betalib.search`` in a background thread, so
    the notebook stays responsive, and the Stop button ends the search at the next
    step, keeping the finished epochs.

    While the search runs, one figure shows beta per edge and operation after the latest
    step, its colors spanning the current values. The other follows over the epochs the
    skip and none counts, losses, supernet accuracies, lambda and, when a benchmark is
    set, the benchmark accuracy of the derived cell. Redraws happen at most
    ``redraws_per_second`` times a second, plus one after every epoch and one at the
    end, so that drawing does not slow the search down.

    ``benchmark`` is a NAS-Bench-201 file or folder for ``SearchConfig.benchmark``. By
    default it is the value of ``$BETALIB_NB201``, or none when that is unset. An empty
    string turns the benchmark off. ``config_changes`` are further ``SearchConfig``
    fields applied after the controls (for example ``channels`` or ``steps_per_epoch``). Without a front end, call ``run(blocking=True)`` and read
    ``result``, ``history`` and ``figures``.
    """

    def __init__(
        self,
        preset_name: str = "digits-quick",
        regularizer: str = "beta",
        lam_start: float = 0.0,
        lam_end: float = 50.0,
        temperature: float = 1.0,
        epochs: int | None = None,
        seed: int = 0,
        benchmark: str | None = None,
        redraws_per_second: float = 2.0,
        **config_changes,
    ):
        if preset_name not in LIVE_PRESETS:
            raise ValueError(f"unknown preset {preset_name!r} for a live search; valid presets are "
                             f"{', '.join(LIVE_PRESETS)}")
        if redraws_per_second <= 0:
            raise ValueError(f"redraws_per_second must be positive, got {redraws_per_second!r}")
        self.benchmark = (benchmark if benchmark is not None else os.environ.get(BENCHMARK_VARIABLE)) or None
        self.config_changes = config_changes
        self.min_redraw_interval = 1.0 / redraws_per_second

        epochs = epochs if epochs is not None else PRESETS[preset_name].get("epochs", SearchConfig.epochs)
        wide = {"description_width": "9em"}
        self.preset_control = widgets.Dropdown(options=LIVE_PRESETS, value=preset_name, description="dataset",
                                               style=wide)
        self.regularizer_control = widgets.Dropdown(options=list(REGULARIZERS), value=regularizer,
                                                    description="regularizer", style=wide)
        self.lam_start_control = widgets.FloatSlider(value=lam_start, min=0.0, max=100.0, step=1.0,
                                                     description="lambda, first", style=wide)
        self.lam_end_control = widgets.FloatSlider(value=lam_end, min=0.0, max=100.0, step=1.0,
                                                   description="lambda, last", style=wide)
        self.temperature_control = widgets.FloatLogSlider(value=temperature, base=10, min=-1, max=1, step=0.05,
                                                          description="temperature", style=wide)
        self.epochs_control = widgets.IntSlider(value=epochs, min=1, max=50, description="epochs", style=wide)
        self.seed_control = widgets.IntText(value=seed, description="seed", style=wide)
        # NOTE: no icons: the saved widget state of the static book would then need the
        # Font Awesome files, which the HTML manager looks for beside the page.
        self.run_button = widgets.Button(description="Run", button_style="success")
        self.stop_button = widgets.Button(description="Stop", button_style="danger", disabled=True)
        self.run_button.on_click(lambda button: self.run())
        self.stop_button.on_click(lambda button: self.stop())
        self.status = widgets.HTML("Set the controls and press Run.")
        self.beta_output = widgets.Output()
        self.history_output = widgets.Output()

        self.widget = widgets.VBox([
            widgets.HBox([
                widgets.VBox([self.preset_control, self.regularizer_control, self.epochs_control, self.seed_control]),
                widgets.VBox([self.lam_start_control, self.lam_end_control, self.temperature_control,
                              widgets.HBox([self.run_button, self.stop_button])]),
            ]),
            self.status,
            widgets.HBox([self.beta_output, self.history_output]),
        ])

        self.result = None
        self.error: BaseException | None = None
        self.history: list = []
        self.losses: list[tuple[int, float, float]] = []  # (global step, valid loss, train loss)
        self.alpha: np.ndarray | None = None
        self.step = 0
        self.temperature = 1.0
        self.redraws = 0
        self.figures: dict = {}
        self._last_redraw = -float("inf")
        self._stop_requested = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # Settings

    def config(self) -> SearchConfig:
        """Return the search settings that the controls describe."""
        lam_start, lam_end = self.lam_start_control.value, self.lam_end_control.value
        lam = f"{lam_start:g}" if lam_start == lam_end else f"{lam_start:g}-{lam_end:g}"
        return preset(
            self.preset_control.value,
            regularizer=self.regularizer_control.value,
            lam=lam,
            temperature=float(self.temperature_control.value),
            epochs=int(self.epochs_control.value),
            seed=int(self.seed_control.value),
            benchmark=self.benchmark,
            progress=False,
            **self.config_changes,
        )

    @property
    def running(self) -> bool:
        """Whether a search started by ``run`` is still going."""
        return self._thread is not None and self._thread.is_alive()

    # Running

    def run(self, blocking: bool = False):
        """Start a search with the current settings.

        With ``blocking=False`` the search runs in a background thread and the method
        returns that thread; with ``blocking=True`` it runs here and returns the
        ``SearchResult``. A second call while a search runs is ignored with a warning.
        """
        if self.running:
            logger.warning("a search is already running; press Stop first")
            return self._thread
        config = self.config()
        self._reset()
        self.run_button.disabled = True
        self.stop_button.disabled = False
        self.status.value = f"Running: {self._describe(config)}"
        if blocking:
            self._execute(config)
            return self.result
        self._thread = threading.Thread(target=self._execute, args=(config,), name="betalib-live-search", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        """Ask the running search to stop at its next step; finished epochs are kept."""
        self._stop_requested.set()
        self.status.value = "Stopping at the next step..."

    def wait(self, timeout: float | None = None):
        """Wait for a background search to end and return its result (None if it has not)."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.result

    def _reset(self) -> None:
        self._stop_requested.clear()
        self.result, self.error = None, None
        self.history, self.losses, self.alpha = [], [], None
        self.step = 0
        self.temperature = 1.0
        self.figures = {}
        self._last_redraw = -float("inf")

    def _execute(self, config: SearchConfig) -> None:
        try:
            self.result = search(config, callbacks=[_LiveCallback(self)])
        except Exception as error:  # shown in the widget, because a thread's exception goes nowhere
            logger.exception("live search failed")
            self.error = error
            self.status.value = f"The search failed: {type(error).__name__}: {error}"
        finally:
            self.run_button.disabled = False
            self.stop_button.disabled = True

    @staticmethod
    def _describe(config: SearchConfig) -> str:
        return (f"{config.dataset}, image size {config.image_size or 'native'}, C = {config.channels}, "
                f"N = {config.cells_per_stage}, {config.epochs} epochs, regularizer {config.regularizer}, "
                f"lambda {config.lam}, seed {config.seed}")

    # Callback methods, called from the search's thread

    def on_step(self, info) -> None:
        """Record the step's alpha and losses, redraw if the last redraw is old enough, and stop if asked."""
        with self._lock:
            self.alpha = info.alpha.detach().cpu().numpy().copy()
            self.step = info.epoch * info.steps_per_epoch + info.step + 1
            self.losses.append((self.step, float(info.valid_loss), float(info.train_loss)))
            self.temperature = float(info.temperature)
        self.redraw()
        if self._stop_requested.is_set():
            raise StopSearch

    def on_epoch_end(self, record) -> None:
        """Append the epoch's record and redraw."""
        with self._lock:
            self.history.append(record)
        self.redraw(force=True)

    def on_search_end(self, result) -> None:
        """Draw the final state and report how the search ended."""
        with self._lock:
            self.result = result
            self.history = list(result.history)
            self.alpha = np.asarray(result.alpha)
        self.redraw(force=True)
        ending = "stopped" if result.interrupted else "finished"
        cell = result.genotype.to_string() if result.genotype is not None else "none"
        self.status.value = f"Search {ending} after {len(result.history)} epochs. Derived cell: <code>{cell}</code>"

    # Drawing

    def redraw(self, force: bool = False) -> bool:
        """Rebuild the figures unless the last redraw is less than the minimum interval ago.

        ``force`` redraws anyway. Returns whether a redraw happened.
        """
        now = time.monotonic()
        if not force and now - self._last_redraw < self.min_redraw_interval:
            return False
        self._last_redraw = now
        with self._lock:
            alpha = None if self.alpha is None else self.alpha.copy()
            history = list(self.history)
            temperature = self.temperature
        try:
            self._draw(alpha, history, temperature)
        except Exception:  # drawing must never end a search
            logger.exception("redrawing the live figures failed")
            return False
        self.redraws += 1
        return True

    def _draw(self, alpha, history, temperature) -> None:
        if alpha is not None:
            beta = _softmax(alpha / temperature)
            genotype = Genotype.from_alpha(alpha).to_string()
            title = f"step {self.step}: {genotype}"
            accuracy = self._benchmark_accuracy(genotype)
            if accuracy is not None:
                title += f"<br>benchmark CIFAR-10 test accuracy of this cell: {accuracy:.2f}%"
            self.figures["beta"] = beta_heatmap(beta, title=title, color_range=None)
            self.figures["beta"].update_layout(width=560)
            show_figure(self.beta_output, self.figures["beta"])
        if history:
            self.figures["history"] = history_figure(history)
            self.figures["history"].update_layout(width=560)
            show_figure(self.history_output, self.figures["history"])

    def _benchmark_accuracy(self, genotype: str) -> float | None:
        if not self.benchmark:
            return None
        from .nasbench import open_benchmark

        try:
            return open_benchmark(self.benchmark).query(genotype).cifar10_test
        except Exception:
            logger.exception("benchmark lookup of %s failed", genotype)
            return None

    def _ipython_display_(self):
        display(self.widget)


def _softmax(values: np.ndarray) -> np.ndarray:
    shifted = np.exp(values - values.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)
