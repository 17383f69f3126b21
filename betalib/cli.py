"""The ``betalib`` command: ``search``, ``nb201``, ``bench`` and ``experiment``."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys

from .config import DEVICES, PRESETS, SearchConfig
from .data import DATASETS
from .regularizers import REGULARIZERS
from .schedules import parse_schedule


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: the command, the option and the fix."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def main(argv=None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    return args.func(args)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="betalib",
        description="DARTS and beta-DARTS search on the NAS-Bench-201 space.",
    )
    subparsers = parser.add_subparsers(dest="command", parser_class=OneLineParser)
    add_search_command(subparsers)
    for module in ("cli_nb201", "bench", "experiments"):
        try:
            imported = importlib.import_module(f"betalib.{module}")
        except ModuleNotFoundError as error:
            if error.name != f"betalib.{module}":
                raise
            continue
        imported.register(subparsers)
    return parser


def add_search_command(subparsers) -> None:
    defaults = SearchConfig()
    search = subparsers.add_parser(
        "search",
        help="run a DARTS or beta-DARTS search",
        description=(
            "Run a search on the NAS-Bench-201 space, print the derived architecture and, "
            "with --out, write run.json and a checkpoint after every epoch. Options left out "
            "take the preset's value, else the official beta-DARTS setting."
        ),
    )
    search.add_argument("--preset", choices=sorted(PRESETS), help="start from a named set of settings")
    search.add_argument("--dataset", choices=DATASETS, help=f"training data (default {defaults.dataset})")
    search.add_argument("--data-dir", help="folder holding the dataset's files (default: $BETALIB_DATA, then the usual places)")
    search.add_argument("--download", action="store_true", default=None, help="download CIFAR-10/100 if missing")
    search.add_argument("--image-size", type=positive_int, help="resize images to this many pixels per side")
    search.add_argument("--train-size", type=positive_int, help="use this many training images, both halves together")
    search.add_argument("--regularizer", choices=tuple(REGULARIZERS), help=f"architecture regularizer (default {defaults.regularizer})")
    search.add_argument("--lam", type=_schedule("--lam"), help=f"lambda schedule: '25' constant, '0-50' rising, '25-0' falling (default {defaults.lam})")
    search.add_argument("--temperature", type=_schedule("--temperature", positive=True), help="softmax temperature schedule, same forms as --lam (default 1)")
    search.add_argument("--epochs", type=positive_int, help=f"number of epochs (default {defaults.epochs})")
    search.add_argument("--seed", type=int, help="random seed of weights, alpha, split and batches (default 0)")
    search.add_argument("--channels", type=positive_int, help=f"initial channels C (default {defaults.channels})")
    search.add_argument("--cells-per-stage", type=positive_int, help=f"search cells per stage N (default {defaults.cells_per_stage})")
    search.add_argument("--batch-size", type=positive_int, help=f"images per batch in each step (default {defaults.batch_size})")
    search.add_argument("--order", type=int, choices=(1, 2), help="1: first-order DARTS (default); 2: second-order, unrolled")
    search.add_argument("--alpha-optimizer", choices=("adam", "sgd"), help="optimizer of alpha (default adam)")
    search.add_argument("--alpha-lr", type=nonnegative_float, help="learning rate of alpha (default 3e-4)")
    search.add_argument("--alpha-weight-decay", type=nonnegative_float, help="the alpha optimizer's own coupled weight decay (default 1e-3; 0 for none)")
    search.add_argument("--freeze-alpha-epoch", type=nonnegative_int, help="stop updating alpha from this epoch index on")
    search.add_argument("--steps-per-epoch", type=positive_int, help="at most this many iterations per epoch")
    search.add_argument("--device", choices=DEVICES, help="where to run: auto picks CUDA, then Apple MPS, then the CPU")
    search.add_argument("--threads", type=positive_int, help="CPU threads for PyTorch")
    search.add_argument("--plain", action="store_true", help="run the plain reference supernet instead of the fast one")
    search.add_argument("--benchmark", help="NAS-Bench-201 file, folder or table: record the benchmark accuracy of each epoch's cell")
    search.add_argument("--out", help="folder for run.json and checkpoint.pt")
    search.add_argument("--resume", help="continue the search saved in this folder, with its settings")
    search.add_argument("--json", action="store_true", help="print run.json's contents instead of the architecture")
    search.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    search.add_argument("-v", "--verbose", action="store_true", help="log debugging messages")
    search.set_defaults(func=run_search)


OPTION_FIELDS = {
    "dataset": "dataset", "data_dir": "data_dir", "download": "download", "image_size": "image_size",
    "train_size": "train_size", "regularizer": "regularizer", "lam": "lam", "temperature": "temperature",
    "epochs": "epochs", "seed": "seed", "channels": "channels", "cells_per_stage": "cells_per_stage",
    "batch_size": "batch_size", "order": "order", "alpha_optimizer": "alpha_optimizer",
    "alpha_lr": "alpha_lr", "alpha_weight_decay": "alpha_weight_decay",
    "freeze_alpha_epoch": "freeze_alpha_epoch", "steps_per_epoch": "steps_per_epoch",
    "device": "device", "threads": "threads", "benchmark": "benchmark",
}


def run_search(args) -> int:
    from .data import DatasetNotFoundError
    from .search import SearchDivergedError, search

    if args.resume:
        given = [f"--{name.replace('_', '-')}" for name in OPTION_FIELDS if getattr(args, name) is not None]
        if given or args.preset:
            return _fail("search", f"--resume continues with the saved settings; drop {', '.join(given) or '--preset'}")

    try:
        config = None
        if not args.resume:
            values = dict(PRESETS.get(args.preset, {})) if args.preset else {}
            values.update({field: getattr(args, name) for name, field in OPTION_FIELDS.items() if getattr(args, name) is not None})
            if args.plain:
                values["fast"] = False
            values["progress"] = not args.no_progress
            config = SearchConfig(**values)
        result = search(config, out_dir=args.out, resume=args.resume)
    except (ValueError, DatasetNotFoundError, FileNotFoundError) as error:
        return _fail("search", str(error))
    except SearchDivergedError as error:
        return _fail("search", str(error), status=1)

    if args.json:
        print(json.dumps(result.to_dict(), indent=1))
    else:
        print(result.genotype.to_string())
    if result.interrupted:
        return 130
    return 0


def _fail(command: str, message: str, status: int = 2) -> int:
    print(f"betalib {command}: error: {message}", file=sys.stderr)
    return status


def positive_int(text: str) -> int:
    """Convert an option's text to an integer of at least 1, or raise argparse's error."""
    return _integer_at_least(text, 1, "a positive integer")


def nonnegative_int(text: str) -> int:
    """Convert an option's text to an integer of at least 0, or raise argparse's error."""
    return _integer_at_least(text, 0, "an integer of at least 0")


def nonnegative_float(text: str) -> float:
    """Convert an option's text to a finite number of at least 0, or raise argparse's error."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: give a number of at least 0") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: give a finite number of at least 0")
    return value


def _integer_at_least(text: str, minimum: int, expected: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: give {expected}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: give {expected}")
    return value


def _schedule(option, positive=False):
    name = "lambda" if option == "--lam" else option.lstrip("-")

    def convert(text):
        try:
            schedule = parse_schedule(text, 2, name=name)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
        if positive and min(schedule(0), schedule(1)) <= 0:
            raise argparse.ArgumentTypeError(
                f"invalid {name} schedule {text!r}: values must be above 0, such as '1' or '5-0.5'"
            )
        return text

    convert.__name__ = option
    return convert


if __name__ == "__main__":
    sys.exit(main())
