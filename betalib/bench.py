"""Speed and memory benchmark of one search iteration: the plain supernet against the fast one.

An iteration is what the search repeats: an alpha step on a batch of one half, then a
weight step on a batch of the other, through the search's own step functions. Each
(configuration, path) pair runs in a fresh process, so that its peak memory is its
own: the peak resident set size on the CPU, the peak of PyTorch's allocator on CUDA.
Data are random CIFAR-shaped (or preset-shaped) tensors; speed does not depend on them.

    betalib bench                                   # paper configuration and CPU presets
    betalib bench --configs paper --threads 2 --iterations 5
    python -m betalib.bench --device cuda --precision bf16 --compile
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import platform
import resource
import statistics
import sys
import time

logger = logging.getLogger(__name__)

# The shape of each configuration's search. "paper" is the official CIFAR-10 search of
# beta-DARTS: 25,000 images per half at batch 64 give 390 iterations per epoch, 50 epochs.
CONFIGURATIONS = {
    "paper": dict(dataset="cifar10", in_channels=3, image_size=32, num_classes=10, channels=16,
                  cells_per_stage=5, batch_size=64, images_per_half=25000, epochs=50),
    "digits-quick": dict(preset="digits-quick", in_channels=1, image_size=8, num_classes=10, images_per_half=898),
    "collapse": dict(preset="collapse", in_channels=1, num_classes=10),
}
PATHS = ("plain", "fast")


def resolve_configuration(name: str) -> dict:
    """Return the settings of benchmark configuration ``name``, presets filled in."""
    from .config import PRESETS

    if name not in CONFIGURATIONS:
        raise ValueError(f"unknown configuration {name!r}; valid configurations are {', '.join(CONFIGURATIONS)}")
    settings = dict(CONFIGURATIONS[name])
    preset_name = settings.pop("preset", None)
    if preset_name is not None:
        if preset_name not in PRESETS:
            raise ValueError(f"configuration {name!r} needs the preset {preset_name!r}, which is not defined")
        from .config import preset

        config = preset(preset_name)
        settings.setdefault("dataset", config.dataset)
        settings.setdefault("image_size", config.image_size or settings.get("image_size") or 8)
        for field in ("channels", "cells_per_stage", "batch_size", "epochs"):
            settings.setdefault(field, getattr(config, field))
        if "images_per_half" not in settings:
            settings["images_per_half"] = (config.train_size or 1797) // 2
        if config.steps_per_epoch is not None:
            settings["steps_cap"] = config.steps_per_epoch
    return settings


def measure(name: str, path: str, device: str = "cpu", threads: int | None = None, warmup: int = 2,
            iterations: int = 5, precision: str = "fp32", compile: bool = False, profile: bool = False) -> dict:
    """Time ``iterations`` iterations after ``warmup`` in this process; return the figures."""
    import torch

    from .config import SearchConfig
    from .data import synthetic_dataset
    from .search import _SearchRun

    settings = resolve_configuration(name)
    if threads is not None:
        torch.set_num_threads(threads)
    config = SearchConfig(
        dataset=settings["dataset"], channels=settings["channels"], cells_per_stage=settings["cells_per_stage"],
        batch_size=settings["batch_size"], epochs=settings["epochs"], fast=(path == "fast"), device=device,
        threads=threads, precision=precision, compile=compile, progress=False,
    )
    batch = settings["batch_size"]
    dataset = synthetic_dataset(4 * batch, settings["in_channels"], settings["image_size"], settings["num_classes"])
    run = _SearchRun(config, [], None, dataset=dataset)
    if run.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()

    def iteration(step):
        window = slice((step % 2) * batch, (step % 2 + 1) * batch)
        alpha_batch = run.batch(run.alpha_half[window])
        weights_batch = run.batch(run.weights_half[window])
        run.alpha_step(alpha_batch, weights_batch, 1.0, 1.0, config.weight_lr, True)
        run.weight_step(weights_batch, 1.0)

    for step in range(warmup):
        iteration(step)
    seconds = []
    for step in range(iterations):
        _synchronize(run.device)
        started = time.perf_counter()
        iteration(step)
        _synchronize(run.device)
        seconds.append(time.perf_counter() - started)

    profile_table = None
    if profile:
        from torch.profiler import profile as torch_profile

        with torch_profile() as profiler:
            iteration(0)
        profile_table = profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=10)

    if run.device.type == "cuda":
        peak_mb = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    steps = settings["images_per_half"] // batch
    steps = min(steps, settings.get("steps_cap", steps))
    median = statistics.median(seconds)
    return {
        "configuration": name, "path": path, "device": str(run.device), "threads": torch.get_num_threads(),
        "precision": precision, "compile": compile, "iterations": iterations, "warmup": warmup,
        "median_s": median, "min_s": min(seconds), "max_s": max(seconds), "peak_mb": peak_mb,
        "steps_per_epoch": steps, "epochs": settings["epochs"], "profile": profile_table,
        "epoch_s": median * steps, "search_s": median * steps * settings["epochs"],
        "shape": f"{settings['in_channels']}x{settings['image_size']}x{settings['image_size']}, "
                 f"C={settings['channels']}, N={settings['cells_per_stage']}, batch {batch}",
    }


def _synchronize(device):
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def _measure_in_child(queue, kwargs):
    try:
        queue.put(("ok", measure(**kwargs)))
    except Exception as error:  # reported to the parent, which raises it
        queue.put(("error", f"{type(error).__name__}: {error}"))


def measure_isolated(**kwargs) -> dict:
    """Run :func:`measure` in a fresh process, so that the peak memory is this pair's alone."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_measure_in_child, args=(queue, kwargs))
    process.start()
    status, value = queue.get()
    process.join()
    if status != "ok":
        raise RuntimeError(f"benchmark of {kwargs['name']} ({kwargs['path']}) failed: {value}")
    return value


def run_benchmark(configurations, paths=PATHS, **kwargs) -> list[dict]:
    """Measure every configuration with every path; add the fast/plain ratio to the fast rows."""
    rows = []
    for name in configurations:
        by_path = {}
        for path in paths:
            logger.info("measuring %s with the %s supernet", name, path)
            by_path[path] = measure_isolated(name=name, path=path, **kwargs)
            rows.append(by_path[path])
        if "plain" in by_path and "fast" in by_path:
            by_path["fast"]["speedup"] = by_path["plain"]["median_s"] / by_path["fast"]["median_s"]
    return rows


def format_table(rows: list[dict]) -> str:
    """Return the figures as a Markdown table."""
    lines = [
        "| configuration | path | s/iteration (median) | min-max | fast/plain speed-up | peak memory (MB) | one epoch | full search |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        speedup = f"{row['speedup']:.2f}x" if "speedup" in row else ""
        lines.append(
            f"| {row['configuration']} ({row['shape']}) | {row['path']} | {row['median_s']:.3f} | "
            f"{row['min_s']:.3f}-{row['max_s']:.3f} | {speedup} | {row['peak_mb']:.0f} | "
            f"{_duration(row['epoch_s'])} ({row['steps_per_epoch']} it.) | {_duration(row['search_s'])} ({row['epochs']} ep.) |"
        )
    return "\n".join(lines)


def machine_description(rows) -> str:
    import torch

    device = rows[0]["device"] if rows else "cpu"
    if device.startswith("cuda"):
        hardware = torch.cuda.get_device_name()
    else:
        hardware = f"{platform.processor() or platform.machine()}, {multiprocessing.cpu_count()} CPUs"
    threads = rows[0]["threads"] if rows else torch.get_num_threads()
    return f"{hardware}; PyTorch {torch.__version__}; {threads} threads; Python {platform.python_version()}"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def register(subparsers) -> None:
    """Add ``betalib bench`` to the command line."""
    parser = subparsers.add_parser(
        "bench", help="measure the speed and memory of the plain and fast supernets",
        description="Time one search iteration (an alpha step and a weight step) of the plain and the "
                    "fast supernet after warm-up, and print the median, spread, speed-up, peak memory "
                    "and the projected time of an epoch and of a full search.",
    )
    add_arguments(parser)
    parser.set_defaults(func=run_command)


def add_arguments(parser) -> None:
    parser.add_argument("--configs", default=",".join(CONFIGURATIONS),
                        help=f"comma-separated configurations (default: {','.join(CONFIGURATIONS)})")
    parser.add_argument("--paths", default=",".join(PATHS), help="comma-separated supernets to measure: plain, fast")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "mps", "auto"), help="where to run (default cpu)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for PyTorch (default 2)")
    parser.add_argument("--warmup", type=int, default=2, help="iterations run before timing (default 2)")
    parser.add_argument("--iterations", type=int, default=5, help="timed iterations (default 5)")
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16"), help="bf16: bfloat16 autocast")
    parser.add_argument("--compile", action="store_true", help="torch.compile the supernet first")
    parser.add_argument("--profile", action="store_true", help="also print torch.profiler's top operators of one iteration")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def run_command(args) -> int:
    configurations = [name.strip() for name in args.configs.split(",") if name.strip()]
    paths = [path.strip() for path in args.paths.split(",") if path.strip()]
    for name in configurations:
        if name not in CONFIGURATIONS:
            print(f"betalib bench: error: unknown configuration {name!r}; valid configurations are "
                  f"{', '.join(CONFIGURATIONS)}", file=sys.stderr)
            return 2
    for path in paths:
        if path not in PATHS:
            print(f"betalib bench: error: unknown path {path!r}; valid paths are plain, fast", file=sys.stderr)
            return 2
    if args.iterations < 1 or args.warmup < 0 or args.threads < 1:
        print("betalib bench: error: --iterations and --threads must be at least 1, --warmup at least 0", file=sys.stderr)
        return 2

    rows = run_benchmark(configurations, paths, device=args.device, threads=args.threads, warmup=args.warmup,
                         iterations=args.iterations, precision=args.precision, compile=args.compile,
                         profile=args.profile)
    if args.json:
        print(json.dumps({"machine": machine_description(rows), "command": " ".join(sys.argv), "rows": rows}, indent=1))
    else:
        print(f"machine: {machine_description(rows)}")
        print(format_table(rows))
        for row in rows:
            if row.get("profile"):
                print(f"\nprofile of one iteration, {row['configuration']}, {row['path']} supernet:\n{row['profile']}")
    return 0


def main(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="python -m betalib.bench", description="Benchmark the supernet's iteration.")
    add_arguments(parser)
    return run_command(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
