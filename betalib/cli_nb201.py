"""The ``betalib nb201`` command: look up cells in NAS-Bench-201 and export its compact table.

``betalib nb201 lookup ARCH_OR_INDEX`` prints one cell's accuracies, and ``--json`` prints
them as one JSON object. ``betalib nb201 export --from PATH --to TABLE.csv`` writes the
compact table that :mod:`betalib.nasbench` reads without the official APIs. Exit status:
0 on success, 2 for an invalid architecture, a missing benchmark or a missing API package,
1 when the benchmark has no record of a valid cell or cannot be loaded.
"""

from __future__ import annotations

import argparse
import json
import sys

from .nasbench import (
    ENV_VAR,
    NUM_ARCHITECTURES,
    BenchmarkLoadError,
    BenchmarkNotFoundError,
    BenchmarkRecord,
    RecordNotFoundError,
    export_table,
    open_benchmark,
)

BENCHMARK_HELP = (
    "NAS-Bench-201 .pth file, NATS-Bench topology directory, compact .csv table, or a "
    f"directory that contains one (default: ${ENV_VAR}, then $TORCH_HOME)"
)

# Row label and the valid and test columns of each dataset in the readable output.
DATASET_ROWS = (
    ("CIFAR-10", "cifar10_valid", "cifar10_test"),
    ("CIFAR-100", "cifar100_valid", "cifar100_test"),
    ("ImageNet16-120", "imagenet16_120_valid", "imagenet16_120_test"),
)


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``nb201`` command and its ``lookup`` and ``export`` sub-commands."""
    parser = subparsers.add_parser(
        "nb201",
        help="look up cells in NAS-Bench-201 and export its compact table",
        description=(
            "Look up the 200-epoch accuracies of NAS-Bench-201 cells, averaged over seeds, "
            "in percent."
        ),
    )
    commands = parser.add_subparsers(dest="nb201_command", metavar="COMMAND", required=True)

    lookup = commands.add_parser(
        "lookup",
        help="print the accuracies of one cell",
        description=(
            "Print the accuracies of one cell in percent, rounded to 2 decimals; --json prints "
            "the exact values. The exit status is 2 for an invalid architecture or a missing "
            "benchmark, and 1 when the benchmark has no record of the cell."
        ),
    )
    lookup.add_argument(
        "architecture",
        metavar="ARCH_OR_INDEX",
        help=(
            "architecture string such as '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
            "+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|' (quote it in the shell), "
            f"or a benchmark index 0 to {NUM_ARCHITECTURES - 1}"
        ),
    )
    lookup.add_argument("--benchmark", metavar="PATH", help=f"benchmark to read: {BENCHMARK_HELP}")
    lookup.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object with index, arch, the six accuracy columns, params and flops",
    )
    lookup.set_defaults(func=run_lookup)

    export = commands.add_parser(
        "export",
        help="write the compact CSV table of a benchmark",
        description=(
            "Write one row (index, arch, accuracies, params, flops) for each cell that the source "
            f"has a record of, out of {NUM_ARCHITECTURES}, and print how many rows were written and "
            "how many indices skipped. Reading a full NATS-Bench directory takes minutes, and "
            "loading the official .pth file reportedly takes more than 25 GB of memory."
        ),
    )
    export.add_argument(
        "--from", dest="source", metavar="PATH", help=f"benchmark to read: {BENCHMARK_HELP}"
    )
    export.add_argument(
        "--to",
        dest="table",
        metavar="TABLE.csv",
        required=True,
        help="CSV file to write; an existing file is replaced",
    )
    export.set_defaults(func=run_export)
    return parser


def run_lookup(args) -> int:
    """Print the record of ``args.architecture``; return the exit status."""
    key = parse_architecture_argument(args.architecture)

    try:
        benchmark = open_benchmark(args.benchmark)
        record = benchmark.query(key)
    except (BenchmarkNotFoundError, ImportError, ValueError, TypeError) as error:
        return _fail("lookup", str(error), status=2)
    except (RecordNotFoundError, BenchmarkLoadError) as error:
        return _fail("lookup", str(error), status=1)

    if args.json:
        print(json.dumps(record.to_dict()))
    else:
        print(format_record(record, source=f"{benchmark.path} ({benchmark.kind})"))
    return 0


def run_export(args) -> int:
    """Write the table of ``args.source`` to ``args.table``; return the exit status."""
    try:
        written, skipped = export_table(args.source, args.table)
    except (BenchmarkNotFoundError, ImportError, ValueError) as error:
        return _fail("export", str(error), status=2)
    except BenchmarkLoadError as error:
        return _fail("export", str(error), status=1)

    print(f"wrote {written} records to {args.table}; skipped {skipped} indices absent from the source")
    return 0


def parse_architecture_argument(text: str) -> int | str:
    """Return ``text`` as an int index if it is all digits, else unchanged."""
    stripped = text.strip()
    if stripped.isdigit():
        return int(stripped)
    return text


def format_record(record: BenchmarkRecord, source: str) -> str:
    """Format a record as a small table: valid and test accuracy per dataset."""
    lines = [
        f"index      {record.index}",
        f"arch       {record.arch}",
        f"benchmark  {source}",
        "",
        f"{'accuracy (%)':<16}{'valid':>8}{'test':>8}",
    ]
    for label, valid, test in DATASET_ROWS:
        valid_text = _format_value(getattr(record, valid))
        test_text = _format_value(getattr(record, test))
        lines.append(f"{label:<16}{valid_text:>8}{test_text:>8}")

    lines.append("")
    lines.append(f"params     {_format_value(record.params, '.3f', ' M')}")
    lines.append(f"FLOPs      {_format_value(record.flops, '.2f', ' M')}")
    return "\n".join(lines)


def _format_value(value: float | None, spec: str = ".2f", unit: str = "") -> str:
    if value is None:
        return "n/a"
    return f"{value:{spec}}{unit}"


def _fail(command: str, message: str, status: int) -> int:
    one_line = " ".join(message.split())
    print(f"betalib nb201 {command}: error: {one_line}", file=sys.stderr)
    return status

