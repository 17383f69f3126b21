"""The search loop of DARTS and beta-DARTS, with checkpoints and callbacks.

Each iteration follows Algorithm 2 of Ye et al., "beta-DARTS: Beta-Decay
Regularization for Differentiable Architecture Search" (CVPR 2022): an alpha step on
a batch of the second half of the training set, descending
``L_val + lambda_e * regularizer(alpha)``, then a weight step on a batch of the first
half, descending ``L_train``. The alpha step computes no weight gradients and the
weight step no alpha gradients. Every epoch appends an entry to the history, writes a
checkpoint from which the search resumes bit for bit on the CPU, and calls callbacks.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .config import SearchConfig
from .data import augment_batch, default_augment, load_dataset, split_halves
from .genotype import Genotype
from .history import EpochRecord, SearchResult, write_run
from .regularizers import DECOUPLED, get_regularizer
from .supernet import build_supernet, frozen_weights, init_alpha
from .unrolled import unrolled_alpha_gradient

logger = logging.getLogger(__name__)

CHECKPOINT_FILE = "checkpoint.pt"


class StopSearch(Exception):
    """Raise from a callback to end the search cleanly; the result keeps finished epochs."""


class SearchDivergedError(RuntimeError):
    """A loss or alpha became NaN or infinite.

    ``result`` contains the history up to the last good epoch. ``checkpoint`` is the path
    of that epoch's checkpoint, or None when the search has no output folder.
    """

    def __init__(self, message, result=None, checkpoint=None):
        super().__init__(message)
        self.result = result
        self.checkpoint = checkpoint


class Callback:
    """Base class for search callbacks; override what you need.

    A callback that raises is logged and the search goes on, except for ``StopSearch``,
    which ends it.
    """

    def on_step(self, info: StepInfo) -> None:
        """Called after every iteration (alpha step then weight step)."""

    def on_epoch_end(self, record: EpochRecord) -> None:
        """Called after every epoch, once its checkpoint and ``run.json`` are written."""

    def on_search_end(self, result: SearchResult) -> None:
        """Called once when the search returns, finished or not."""


@dataclass
class StepInfo:
    """The state after one iteration. Tensors are live views: copy what you keep."""

    epoch: int
    step: int
    steps_per_epoch: int
    lam: float
    temperature: float
    alpha: torch.Tensor  # (6, 5), detached
    valid_loss: torch.Tensor  # scalar, the alpha step's cross-entropy
    train_loss: torch.Tensor  # scalar, the weight step's cross-entropy


def select_device(name: str = "auto") -> torch.device:
    """Return the device for ``name``: ``auto`` picks CUDA, then Apple MPS, then the CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was requested but PyTorch sees no CUDA GPU; use 'cpu' or 'auto'")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device 'mps' was requested but Apple MPS is not available; use 'cpu' or 'auto'")
    return torch.device(name)


def search(config: SearchConfig | None = None, callbacks=(), out_dir=None, resume=None) -> SearchResult:
    """Run a DARTS or beta-DARTS search and return its result.

    ``out_dir`` receives ``run.json`` and ``checkpoint.pt`` after every epoch.
    ``resume`` names the folder of an earlier search to continue from its last
    checkpoint, with its saved settings (``config`` is then ignored) and by default in
    the same folder. Ctrl-C returns the epochs finished so far. A non-finite loss or
    alpha raises ``SearchDivergedError`` and leaves the last good checkpoint in place.
    """
    checkpoint = None
    if resume is not None:
        checkpoint = load_checkpoint(resume)
        config = SearchConfig.from_dict(checkpoint["config"])
        out_dir = resume if out_dir is None else out_dir
    config = config or SearchConfig()
    callbacks = [_as_callback(c) for c in callbacks]
    run = _SearchRun(config, callbacks, Path(out_dir) if out_dir is not None else None)
    if checkpoint is not None:
        run.restore(checkpoint)
    return run.execute()


def load_checkpoint(folder) -> dict:
    """Load ``checkpoint.pt`` from ``folder`` (or a path to the file itself) onto the CPU."""
    path = Path(folder)
    if path.is_dir():
        path = path / CHECKPOINT_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"no checkpoint at {path}; resume takes the --out folder of an earlier search"
        )
    return torch.load(path, map_location="cpu", weights_only=False)


class _FunctionCallback(Callback):
    def __init__(self, function):
        self.function = function

    def on_epoch_end(self, record):
        self.function(record)


def _as_callback(callback):
    if isinstance(callback, Callback):
        return callback
    if callable(callback):
        return _FunctionCallback(callback)
    raise TypeError(f"a callback must be a Callback or a function of the epoch record, got {callback!r}")


class _SearchRun:
    """The state of one search: data, supernet, alpha, optimizers and history."""

    def __init__(self, config: SearchConfig, callbacks, out_dir: Path | None, dataset=None):
        self.config = config
        self.callbacks = callbacks
        self.out_dir = out_dir
        if config.threads is not None:
            torch.set_num_threads(config.threads)
        self.device = select_device(config.device)

        # Data: the whole training set on the device, split into the two halves.
        if dataset is None:
            dataset = load_dataset(
                config.dataset, root=config.data_dir, download=config.download,
                image_size=config.image_size, train_size=config.train_size, seed=config.seed,
            )
        if len(dataset) < 2 * config.batch_size:
            raise ValueError(
                f"batch_size {config.batch_size} is too large for {len(dataset)} training images: "
                f"each half needs at least one batch, so use at most {len(dataset) // 2}"
            )
        self.dataset = dataset.to(self.device)
        self.weights_half, self.alpha_half = (i.to(self.device) for i in split_halves(len(dataset), config.seed))
        self.augment = default_augment(config.dataset) if config.augment is None else config.augment
        self.steps_per_epoch = len(self.weights_half) // config.batch_size
        if config.steps_per_epoch is not None:
            self.steps_per_epoch = min(self.steps_per_epoch, config.steps_per_epoch)

        # Supernet weights and alpha, from the seed.
        torch.manual_seed(config.seed)
        self.net = build_supernet(config, dataset.in_channels, dataset.num_classes).to(self.device)
        self.forward_net = torch.compile(self.net) if config.compile else self.net
        init_generator = torch.Generator().manual_seed(config.seed)
        self.alpha = torch.nn.Parameter(init_alpha(init_generator).to(self.device))
        self.data_generator = torch.Generator().manual_seed(config.seed + 1)

        # Two optimizers over disjoint parameter groups.
        self.weight_optimizer = torch.optim.SGD(
            self.net.parameters(), lr=config.weight_lr, momentum=config.weight_momentum,
            weight_decay=config.weight_decay,
        )
        self.weight_scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            self.weight_optimizer, T_max=config.epochs, eta_min=config.weight_lr_min
        )
        if config.alpha_optimizer == "adam":
            self.alpha_optimizer = torch.optim.Adam(
                [self.alpha], lr=config.alpha_lr, betas=config.alpha_betas,
                weight_decay=config.alpha_weight_decay,
            )
        else:
            self.alpha_optimizer = torch.optim.SGD(
                [self.alpha], lr=config.alpha_lr, momentum=config.alpha_momentum,
                weight_decay=config.alpha_weight_decay,
            )

        self.regularizer = get_regularizer(config.regularizer)
        self.lam_schedule = config.lam_schedule()
        self.temperature_schedule = config.temperature_schedule()
        self.benchmark = None
        if config.benchmark is not None:
            from .nasbench import open_benchmark

            self.benchmark = open_benchmark(config.benchmark)

        self.start_epoch = 0
        self.elapsed = 0.0
        self.history: list[EpochRecord] = []
        logger.info(
            "search on %s (%d images, %d steps per epoch) on %s: %s, lambda %s, %d epochs",
            config.dataset, len(dataset), self.steps_per_epoch, self.device,
            config.regularizer, config.lam, config.epochs,
        )

    # Checkpoints

    def state(self) -> dict:
        return {
            "config": self.config.to_dict(),
            "epoch": self.start_epoch,
            "elapsed": self.elapsed,
            "net": self.net.state_dict(),
            "alpha": self.alpha.detach().cpu(),
            "weight_optimizer": self.weight_optimizer.state_dict(),
            "weight_scheduler": self.weight_scheduler.state_dict(),
            "alpha_optimizer": self.alpha_optimizer.state_dict(),
            "data_generator": self.data_generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "history": [entry.to_dict() for entry in self.history],
        }

    def restore(self, checkpoint: dict) -> None:
        self.net.load_state_dict(checkpoint["net"])
        with torch.no_grad():
            self.alpha.copy_(checkpoint["alpha"].to(self.device))
        self.weight_optimizer.load_state_dict(checkpoint["weight_optimizer"])
        self.weight_scheduler.load_state_dict(checkpoint["weight_scheduler"])
        self.alpha_optimizer.load_state_dict(checkpoint["alpha_optimizer"])
        self.data_generator.set_state(checkpoint["data_generator"])
        torch.set_rng_state(checkpoint["torch_rng"])
        self.history = [EpochRecord(**entry) for entry in checkpoint["history"]]
        self.start_epoch = checkpoint["epoch"]
        self.elapsed = checkpoint["elapsed"]
        logger.info("resumed at epoch %d of %d", self.start_epoch, self.config.epochs)

    def save_checkpoint(self) -> Path | None:
        if self.out_dir is None:
            return None
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / CHECKPOINT_FILE
        temporary = path.with_suffix(".pt.tmp")
        torch.save(self.state(), temporary)
        os.replace(temporary, path)
        return path

    # The loop

    def execute(self) -> SearchResult:
        result = self.result()
        bar = tqdm(
            total=self.config.epochs * self.steps_per_epoch,
            initial=self.start_epoch * self.steps_per_epoch,
            disable=not self.config.progress, unit="step", desc="search",
        )
        try:
            for epoch in range(self.start_epoch, self.config.epochs):
                record = self.run_epoch(epoch, bar)
                self.history.append(record)
                self.start_epoch = epoch + 1
                self.save_checkpoint()
                result = self.result()
                if self.out_dir is not None:
                    write_run(result, self.out_dir)
                bar.set_postfix(skip=record.n_skip, none=record.n_none, acc=f"{record.valid_acc:.3f}")
                self.notify("on_epoch_end", record)
        except (KeyboardInterrupt, StopSearch) as stop:
            logger.warning("search stopped at epoch %d (%s)", self.start_epoch, type(stop).__name__)
            result = self.result(interrupted=True)
            if self.out_dir is not None:
                write_run(result, self.out_dir)
        finally:
            bar.close()

        self.notify("on_search_end", result)
        logger.info("derived architecture: %s", result.genotype.to_string())
        return result

    def result(self, interrupted: bool = False) -> SearchResult:
        alpha = self.alpha.detach().cpu()
        temperature = self.temperature_schedule(max(self.start_epoch - 1, 0))
        return SearchResult(
            config=self.config,
            genotype=Genotype.from_alpha(alpha) if torch.isfinite(alpha).all() else None,
            alpha=alpha.numpy().copy(),
            beta=torch.softmax(alpha / temperature, dim=-1).numpy(),
            history=list(self.history),
            interrupted=interrupted,
            finished=self.start_epoch >= self.config.epochs,
            out_dir=self.out_dir,
        )

    def run_epoch(self, epoch: int, bar) -> EpochRecord:
        config = self.config
        started = time.perf_counter()
        lam = float(self.lam_schedule(epoch))
        temperature = float(self.temperature_schedule(epoch))
        update_alpha = config.freeze_alpha_epoch is None or epoch < config.freeze_alpha_epoch
        weight_lr = self.weight_scheduler.get_last_lr()[0]

        # A new order of each half every epoch, drawn from the saved generator.
        order_weights = self.weights_half[torch.randperm(len(self.weights_half), generator=self.data_generator).to(self.device)]
        order_alpha = self.alpha_half[torch.randperm(len(self.alpha_half), generator=self.data_generator).to(self.device)]

        self.net.train()
        totals = torch.zeros(6, device=self.device)  # train loss, correct, count; valid the same
        check_each_step = self.device.type == "cpu"
        losses = torch.zeros(self.steps_per_epoch, 2, device=self.device)
        for step in range(self.steps_per_epoch):
            window = slice(step * config.batch_size, (step + 1) * config.batch_size)
            alpha_batch = self.batch(order_alpha[window])
            weights_batch = self.batch(order_weights[window])

            valid_loss, valid_correct = self.alpha_step(alpha_batch, weights_batch, lam, temperature, weight_lr, update_alpha)
            train_loss, train_correct = self.weight_step(weights_batch, temperature)

            losses[step, 0], losses[step, 1] = valid_loss, train_loss
            batch = torch.tensor(float(len(alpha_batch[1])), device=self.device)
            totals += torch.stack([train_loss * batch, train_correct, batch, valid_loss * batch, valid_correct, batch])
            if check_each_step:
                self.check_finite(epoch, step, losses[step])
            bar.update(1)
            if self.callbacks:
                self.notify("on_step", StepInfo(
                    epoch, step, self.steps_per_epoch, lam, temperature, self.alpha.detach(), valid_loss, train_loss,
                ))

        if not check_each_step:
            for step in range(self.steps_per_epoch):
                self.check_finite(epoch, step, losses[step])
        self.weight_scheduler.step()
        seconds = time.perf_counter() - started
        self.elapsed += seconds
        return self.record(epoch, lam, temperature, weight_lr, totals.tolist(), seconds)

    def batch(self, indices):
        images = self.dataset.images[indices]
        if self.augment:
            images = augment_batch(images, self.data_generator)
        return images, self.dataset.labels[indices]

    def alpha_step(self, alpha_batch, weights_batch, lam, temperature, weight_lr, update_alpha):
        images, labels = alpha_batch
        if not update_alpha:
            with torch.no_grad(), self.autocast():
                beta = torch.softmax(self.alpha / temperature, dim=-1)
                logits = self.forward_net(images, beta)
                loss = F.cross_entropy(logits, labels)
            return loss.float(), (logits.argmax(1) == labels).sum()

        if self.config.order == 2:
            buffers = [self.weight_optimizer.state.get(p, {}).get("momentum_buffer") for p in self.net.parameters()]
            loss, grad = unrolled_alpha_gradient(
                self.net, self.alpha, temperature, weights_batch, alpha_batch, xi=weight_lr,
                momentum=self.config.weight_momentum, decay=self.config.weight_decay,
                momentum_buffers=buffers,
            )
            with torch.no_grad(), self.autocast():
                logits = self.forward_net(images, torch.softmax(self.alpha / temperature, dim=-1))
        else:
            # With the weights frozen, the graph keeps only what the gradient of alpha needs.
            with frozen_weights(self.net):
                with self.autocast():
                    beta = torch.softmax(self.alpha / temperature, dim=-1)
                    logits = self.forward_net(images, beta)
                    loss = F.cross_entropy(logits, labels)
                (grad,) = torch.autograd.grad(loss, [self.alpha])
            loss = loss.detach().float()

        # The regularizer enters the gradient, except a decoupled decay applied after the step.
        if lam != 0 and self.config.regularizer not in DECOUPLED:
            alpha = self.alpha.detach().requires_grad_(True)
            (reg_grad,) = torch.autograd.grad(self.regularizer(alpha), [alpha])
            grad = grad + lam * reg_grad
        self.alpha.grad = grad
        self.alpha_optimizer.step()
        self.alpha.grad = None
        if lam != 0 and self.config.regularizer in DECOUPLED:
            with torch.no_grad():
                alpha = self.alpha.detach().requires_grad_(True)
                with torch.enable_grad():
                    (decay,) = torch.autograd.grad(self.regularizer(alpha), [alpha])
                self.alpha.sub_(self.config.alpha_lr * lam * decay)
        return loss, (logits.detach().argmax(1) == labels).sum()

    def weight_step(self, weights_batch, temperature):
        images, labels = weights_batch
        with self.autocast():
            beta = torch.softmax(self.alpha.detach() / temperature, dim=-1)
            logits = self.forward_net(images, beta)
            loss = F.cross_entropy(logits, labels)
        self.weight_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.net.parameters(), self.config.grad_clip)
        self.weight_optimizer.step()
        return loss.detach().float(), (logits.detach().argmax(1) == labels).sum()

    def autocast(self):
        """Return the bfloat16 autocast context when ``precision`` is ``bf16``, else a no-op one."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.config.precision == "bf16")

    def check_finite(self, epoch, step, losses):
        problem = None
        if not torch.isfinite(losses[0]):
            problem = "validation loss of the alpha step"
        elif not torch.isfinite(losses[1]):
            problem = "training loss of the weight step"
        elif not torch.isfinite(self.alpha).all():
            problem = "alpha"
        if problem is None:
            return

        path = self.out_dir / CHECKPOINT_FILE if self.out_dir is not None else None
        where = (
            f"the last good checkpoint is {path} (after epoch {self.start_epoch}); resume from it "
            "with --resume after lowering the learning rates or lambda"
            if path is not None and path.exists()
            else "no checkpoint was written (give an output folder to keep one each epoch)"
        )
        raise SearchDivergedError(
            f"the search diverged at epoch {epoch}, step {step}: the {problem} is not finite; {where}",
            result=self.result(interrupted=True), checkpoint=path if path is not None and path.exists() else None,
        )

    def record(self, epoch, lam, temperature, weight_lr, totals, seconds) -> EpochRecord:
        train_loss, train_correct, train_count, valid_loss, valid_correct, valid_count = totals
        alpha = self.alpha.detach().cpu()
        beta = torch.softmax(alpha / temperature, dim=-1)
        genotype = Genotype.from_alpha(alpha)
        benchmark = self.benchmark.query(genotype).to_dict() if self.benchmark is not None else None
        return EpochRecord(
            epoch=epoch, lam=lam, temperature=temperature,
            alpha=alpha.tolist(), beta=beta.tolist(), genotype=genotype.to_string(),
            train_loss=train_loss / train_count, train_acc=train_correct / train_count,
            valid_loss=valid_loss / valid_count, valid_acc=valid_correct / valid_count,
            beta_norm=beta.norm(dim=-1).tolist(),
            n_skip=genotype.count("skip_connect"), n_none=genotype.count("none"),
            weight_lr=weight_lr, seconds=seconds, elapsed=self.elapsed, benchmark=benchmark,
        )

    def notify(self, method: str, argument) -> None:
        for callback in self.callbacks:
            try:
                getattr(callback, method)(argument)
            except StopSearch:
                raise
            except Exception:
                logger.exception("callback %r failed in %s; the search goes on", callback, method)
