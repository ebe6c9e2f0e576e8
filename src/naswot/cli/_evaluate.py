"""``naswot evaluate``: how well scores rank architectures by their benchmark accuracy."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from naswot.benchmarks import load_table
from naswot.cli import _options
from naswot.cli._commands import command_help
from naswot.cli._options import SCORES_HELP, add_rows_options, rows_table, scores_file
from naswot.evaluation import (
    NDCG_K,
    accuracy_column,
    correlate,
)
from naswot.exceptions import InvalidParameterError


def add_parser(commands: Any) -> None:  # Any: argparse's private _SubParsersAction
    """Adds the ``evaluate`` command."""
    p = commands.add_parser(
        "evaluate",
        help=command_help("evaluate"),
        description="Kendall tau and Spearman rho (with 95 % bootstrap intervals, 1,000 "
        "resamples by default), top-k precision and nDCG@k (VKDNW's gain 2^acc - 1, k = 1000) "
        "of a score table against a benchmark. -inf scores rank lowest; "
        "failed cells and cells the benchmark lacks are counted, not used.",
    )
    p.add_argument(
        "--scores",
        type=scores_file,
        default=None,
        help=SCORES_HELP,
    )
    p.add_argument(
        "--benchmark",
        type=Path,
        required=True,
        help="a benchmark CSV (arch_str + accuracy columns) or a converted file",
    )
    add_rows_options(p)
    p.add_argument("--space", default="nb201", help="search space (default: nb201)")
    p.add_argument(
        "--dataset", default="cifar10", help="cifar10 (default), cifar100 or imagenet16-120"
    )
    p.add_argument(
        "--split", choices=["test", "val"], default="test", help="accuracy split (default: test)"
    )
    p.add_argument(
        "--column",
        default=None,
        help="the benchmark's accuracy column, instead of --dataset/--split (for "
        "tables of other spaces, e.g. val_accuracy)",
    )
    p.add_argument(
        "--sample",
        type=_options.positive_int,
        default=None,
        metavar="K",
        help="use K cells drawn with --seed instead of all",
    )
    p.add_argument(
        "--seed",
        type=_options.seed_int,
        default=1,
        help="seed of --sample and the bootstrap (default: 1)",
    )
    p.add_argument(
        "--n-bootstrap",
        type=_options.count_int,
        default=1000,
        help="bootstrap resamples of the intervals (default: 1000; 0: no intervals)",
    )
    p.add_argument(
        "--ndcg-k",
        type=_options.positive_int,
        default=NDCG_K,
        metavar="K",
        help=f"cut-off of nDCG (default: {NDCG_K}, VKDNW's; capped at the number of cells)",
    )
    p.add_argument("--json", action="store_true", help="print JSON (default: text)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Prints the correlation report."""
    space = _options.resolve_space_only(args.space)
    column = args.column or accuracy_column(args.dataset, args.split)
    scores = rows_table(args, space)
    table = load_table(args.benchmark, space)
    if column not in table.metrics:
        raise InvalidParameterError(
            f"The benchmark {table.path} has no column {column!r} (columns: "
            f"{', '.join(table.metrics) or 'none but the architecture'})."
        )
    keys = [k for k in scores.scores if k in table.rows and column in table.rows[k]]
    failed = [k for k in scores.failed if k in table.rows]
    missing = len(scores) - len(keys) - len(failed)
    if len(keys) < 3:
        raise InvalidParameterError(
            f"Only {len(keys)} of the {len(scores)} scored architectures have a score and a "
            f"{column!r} value in the benchmark {table.path} ({missing} are not in it or lack "
            f"the value, "
            f"{len(failed)} failed); a correlation needs at least 3. Is it the benchmark of "
            f"the space {space.name!r}?"
        )
    if args.sample is not None:
        if args.sample > len(keys):
            raise InvalidParameterError(
                f"--sample {args.sample} is more than the {len(keys)} cells available."
            )
        rng = np.random.default_rng(args.seed)
        keys = [keys[int(i)] for i in rng.choice(len(keys), args.sample, replace=False)]
    report = correlate(
        np.array([scores.scores[k] for k in keys]),
        np.array([table.rows[k][column] for k in keys]),
        n_failed=len(failed),
        n_missing=missing,
        n_bootstrap=args.n_bootstrap,
        seed=args.seed,
        ndcg_k=args.ndcg_k,
    )
    info = {
        "scores": str(scores.path),
        "proxy": scores.proxy,
        "benchmark": str(table.path),
        "accuracy": column,
        "n": report.n,
        "n_singular": report.n_singular,
        "n_failed": report.n_failed,
        "n_missing_from_benchmark": report.n_missing,
        "kendall_tau": report.kendall_tau.as_json(),
        "spearman_rho": report.spearman_rho.as_json(),
        "top_k_precision": {f"{int(k * 100)}%": v for k, v in report.top_k.items()},
        "ndcg": {
            "value": report.ndcg,
            "k": report.ndcg_k,
            "gain": "2^acc - 1 (acc in %)",
            "discount": "1/log2(i+1)",
        },
        "n_bootstrap": args.n_bootstrap,
        "seed": args.seed,
    }
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"scores: {scores.path} ({scores.proxy})")
    print(f"accuracy: {column} from {table.path}")
    print(
        f"cells: {report.n} used ({report.n_singular} scored -inf, ranked lowest); "
        f"{report.n_failed} without a score (error or degenerate status) and "
        f"{report.n_missing} not in the benchmark, left out"
    )
    for name in ("kendall_tau", "spearman_rho"):
        ci = info[name]
        assert isinstance(ci, dict)
        interval = (
            ""
            if ci["low"] is None or ci["high"] is None
            else f"  [{ci['low']:.3f}, {ci['high']:.3f}] (95% bootstrap)"
        )
        print(f"{name:<13} {ci['value']:.3f}{interval}")
    for k, v in report.top_k.items():
        print(f"top {int(k * 100):>2}% precision {v:.3f}")
    print(f"nDCG@{report.ndcg_k:<8} {report.ndcg:.3f}  (gain 2^acc - 1, discount 1/log2(i+1))")
    return 0
