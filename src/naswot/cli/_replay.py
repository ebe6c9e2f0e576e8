"""``naswot replay``: the paper's Table 2 by simulated search over a score table."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from naswot._io import quote
from naswot.benchmarks import load_table
from naswot.cli import _options
from naswot.cli._commands import command_help
from naswot.cli._options import SCORES_HELP, add_rows_options, rows_table, scores_file
from naswot.evaluation import ReplayRow, replay
from naswot.evaluation.targets import DATASET_COLUMNS


def int_list(text: str) -> list[int]:
    """Argparse type: comma-separated ints from 1 to ``MAX_COUNT``."""
    parts = [v for v in text.split(",") if v.strip()]
    if not parts:
        raise argparse.ArgumentTypeError(f"expected numbers like 10,100,1000, got {quote(text)}")
    return [_options.positive_int(v.strip()) for v in parts]


def add_parser(commands: Any) -> None:  # Any: argparse's private _SubParsersAction
    """Adds the ``replay`` command."""
    p = commands.add_parser(
        "replay",
        help=command_help("replay"),
        description="Each run samples N cells with replacement and takes the best-scored one; "
        "prints mean ± std of its accuracies over runs, beside Random (one random "
        "cell) and Optimal (N) (the best of the same N by the benchmark).",
    )
    p.add_argument("--scores", type=scores_file, default=None, help=SCORES_HELP)
    add_rows_options(p)
    p.add_argument(
        "--benchmark",
        type=Path,
        required=True,
        help="a benchmark CSV (arch_str + accuracy columns) or a converted file",
    )
    p.add_argument("--space", default="nb201", help="search space (default: nb201)")
    p.add_argument(
        "--n-samples",
        type=int_list,
        default=[10, 100, 1000],
        metavar="N[,N...]",
        help="sample sizes N, comma-separated (default: 10,100,1000)",
    )
    p.add_argument(
        "--n-runs",
        type=_options.positive_int,
        default=500,
        help="simulated runs per N (default: 500)",
    )
    p.add_argument(
        "--seed", type=_options.seed_int, default=1, help="seed of the draws (default: 1)"
    )
    p.add_argument("--json", action="store_true", help="print JSON (default: text)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Prints the replay table."""
    space = _options.resolve_space_only(args.space)
    scores = rows_table(args, space)
    table = load_table(args.benchmark, space)
    method = "NASWOT" if scores.proxy.startswith("naswot/") else scores.proxy
    rows = replay(
        scores, table, n_samples=args.n_samples, n_runs=args.n_runs, seed=args.seed, method=method
    )
    if args.json:
        print(
            json.dumps(
                {
                    "rows": [r.as_json() for r in rows],
                    "n_runs": args.n_runs,
                    "seed": args.seed,
                    "scores": str(scores.path),
                    "benchmark": str(table.path),
                },
                indent=2,
            )
        )
        return 0
    print(format_table(rows))
    print(
        f"\n{args.n_runs} runs, seed {args.seed}; scores: {scores.path} ({scores.proxy}); "
        f"benchmark: {table.path}"
    )
    return 0


HEADERS = {
    ("cifar10", "val"): "C10 val",
    ("cifar10", "test"): "C10 test",
    ("cifar100", "val"): "C100 val",
    ("cifar100", "test"): "C100 test",
    ("imagenet16-120", "val"): "IN16 val",
    ("imagenet16-120", "test"): "IN16 test",
}


def format_table(rows: list[ReplayRow]) -> str:
    """A Markdown table laid out like the paper's Table 2."""
    columns = [c for c in DATASET_COLUMNS if any(c in r.mean for r in rows)]
    lines = [
        "| Method | " + " | ".join(HEADERS[c] for c in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for r in rows:
        name = r.method if r.n is None else f"{r.method} (N={r.n})"
        cells = [f"{r.mean[c]:.2f} ± {r.std[c]:.2f}" if c in r.mean else "-" for c in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
