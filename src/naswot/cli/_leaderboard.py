"""``naswot leaderboard``: every proxy (and some ensembles) scored and measured on one pool."""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from naswot._io import atomic_write
from naswot.benchmarks import load_table
from naswot.cli import _common
from naswot.cli._commands import command_help
from naswot.ensembles import resolve_ensemble
from naswot.evaluation import NDCG_K, accuracy_column
from naswot.evaluation.leaderboard import LeaderboardRow, leaderboard, render_markdown
from naswot.evaluation.targets import EVAL_DATASETS
from naswot.exceptions import InvalidParameterError

DEFAULT_ENSEMBLES = (
    "az_nas",
    "vkdnw_agg",
    "vote:synflow+jacob_cov+snip",
    "rank_sum:naswot+zico+flops",
    "log_rank:naswot+zico+flops",
    "log_rank:naswot+synflow+zico+flops",
)
"""The named AZ-NAS and VKDNW_agg ensembles, foresight's vote, and NASWOT + ZiCo + FLOPs
(PEERS.md §9.3) by rank sum and AZ-NAS log-rank; a row only when all its members are scored."""


def add_parser(commands: Any) -> None:  # Any: argparse's private _SubParsersAction
    """Adds the ``leaderboard`` command."""
    p = commands.add_parser(
        "leaderboard",
        help=command_help("leaderboard"),
        description="Scores a fixed, seeded sample of cells (--n-cells) with each proxy "
        "through the store (a rerun resumes), then writes Kendall tau and Spearman rho with "
        "95 % bootstrap intervals per dataset, the simulated search at N, and each proxy's "
        "correlation with params. Every network sees the same batch (--dataset images).",
    )
    p.add_argument(
        "--benchmark",
        type=Path,
        required=True,
        help="benchmark CSV of the space (for nb201: nb201_combined.csv)",
    )
    p.add_argument(
        "--n-cells",
        type=_common.positive_int,
        default=200,
        help="cells in the pool (default: 200, about an hour on 2 cores with every proxy)",
    )
    p.add_argument(
        "--skip",
        type=_common.count_int,
        default=0,
        metavar="K",
        help="leave out the first K cells of the seeded draw (default: 0); with --n-cells N "
        "the pool is cells K+1..K+N of `score --sample K+N`, e.g. --n-cells 1000 --skip 1000 "
        "is the held-out half of a 2,000-cell draw",
    )
    _common.add_scoring_options(p, proxy="all", batch_size=64)
    p.add_argument(
        "--ensemble",
        action="append",
        default=None,
        metavar="NAME|METHOD:A+B+...",
        help="an ensemble row: a name from `naswot list ensembles` or METHOD:A+B (methods "
        "rank_sum, vote, log_rank); its members are scored too (repeatable); default: those of "
        + ", ".join(DEFAULT_ENSEMBLES)
        + " whose members are all in --proxy",
    )
    p.add_argument(
        "--split", choices=["test", "val"], default="test", help="accuracy split (default: test)"
    )
    p.add_argument(
        "--failed",
        choices=["worst", "omit"],
        default="worst",
        help="cells a proxy cannot score: worst (default): rank them lowest in its "
        "correlations, as a search treats them; omit: leave them out, as most published figures",
    )
    p.add_argument(
        "--baseline",
        default=None,
        metavar="PROXY",
        help="add a table of each row's Spearman rho minus this proxy's, with paired "
        "bootstrap intervals (e.g. naswot)",
    )
    p.add_argument(
        "--n-search",
        type=_common.positive_int,
        default=100,
        metavar="N",
        help="N of the simulated search column (default: 100)",
    )
    p.add_argument(
        "--n-runs",
        type=_common.positive_int,
        default=500,
        help="simulated search runs (default: 500)",
    )
    p.add_argument(
        "--n-bootstrap",
        type=_common.count_int,
        default=1000,
        help="bootstrap resamples of the intervals (default: 1000)",
    )
    p.add_argument(
        "--ndcg-k",
        type=_common.positive_int,
        default=NDCG_K,
        metavar="K",
        help=f"cut-off of nDCG (default: {NDCG_K}, VKDNW's; capped at the pool's size)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="write the Markdown tables here, plus OUT.meta.json with every figure",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Scores the pool with every proxy, then prints (and writes) the leaderboard."""
    start = time.perf_counter()
    _common.check_outputs(args, args.out, args.benchmark)
    space, builder = _common.resolve_space(args.space)
    proxies, specs = _common.resolve_scoring(args.proxy, args.variant, args.ensemble)
    labels = [_common.proxy_label(p) for p in proxies]
    if not args.ensemble:  # the defaults whose members are all scored
        defaults = [resolve_ensemble(s) for s in DEFAULT_ENSEMBLES]
        specs = [s for s in defaults if all(m in labels for m in s.members)]
    table = load_table(args.benchmark, space)
    columns = {d: accuracy_column(d, args.split) for d in EVAL_DATASETS}
    columns = {d: c for d, c in columns.items() if c in table.metrics}
    if not columns:
        raise InvalidParameterError(
            f"The benchmark {table.path} has none of the {args.split} accuracy columns "
            f"{sorted(accuracy_column(d, args.split) for d in EVAL_DATASETS)}."
        )
    keys = _common.distinct_samples(space, args.n_cells + args.skip, args.seed)[args.skip :]
    unknown = [k for k in keys if k not in table.rows]
    if unknown:
        raise InvalidParameterError(
            f"{len(unknown)} sampled cells are not in {table.path} (first: {unknown[0]})."
        )
    for dataset, column in columns.items():
        blank = [k for k in keys if column not in table.rows[k]]
        if blank:
            raise InvalidParameterError(
                f"{len(blank)} sampled cells have no {column!r} value in {table.path} (first: "
                f"{blank[0]}); every cell needs an accuracy for {dataset}."
            )
    device = _common.resolve_device(args.device)
    batch = _common.resolve_batch(args, seed=args.seed)
    jobs = _common.scoring_jobs(args, space, builder, proxies, batch, seed=args.seed, device=device)
    _common.note_batch(args, space, batch, f"; {len(keys)} cells, {len(proxies)} proxies")
    store = _common.open_store(args)
    scores: dict[str, list[float]] = {}
    seconds: dict[str, float] = {}
    try:
        pool = _common.score_pool(args, keys, jobs, store, progress=not args.quiet)
    finally:
        if store is not None:
            store.close()
    for label in labels:
        records = pool[label]
        scores[label] = [math.nan if r.score is None else r.score for r in records]
        spent = [r.seconds for r in records if r.seconds is not None]
        seconds[label] = float(np.mean(spent)) if spent else math.nan
    rows = leaderboard(
        scores,
        {label: p.higher_is_better for label, p in zip(labels, proxies, strict=True)},
        {d: [table.rows[k][c] for k in keys] for d, c in columns.items()},
        ensembles=specs,
        seconds=seconds,
        n_search=args.n_search,
        n_runs=args.n_runs,
        n_bootstrap=args.n_bootstrap,
        seed=args.seed,
        failed=args.failed,
        baseline=args.baseline,
        ndcg_k=args.ndcg_k,
    )
    markdown = render_markdown(rows, n_search=args.n_search)
    print(markdown, end="")
    wall = time.perf_counter() - start
    compute = sum(v * len(keys) for v in seconds.values() if not math.isnan(v))
    _common.note(
        args,
        f"{len(keys)} cells x {len(proxies)} proxies: {compute / 60:.1f} min of scoring "
        f"(per-cell times from the store); this run took {wall / 60:.1f} min",
    )
    if args.out is not None:
        with atomic_write(args.out) as f:
            f.write(markdown)
        info = {
            "space": space.name,
            "n_cells": len(keys),
            "skip": args.skip,
            "seed": args.seed,
            "split": args.split,
            "failed": args.failed,
            "baseline": args.baseline,
            "accuracy_columns": columns,
            "benchmark": str(table.path),
            "proxies": labels,
            "ensembles": [s.label for s in specs],
            "ensemble_members": {s.label: [s.method, *s.members] for s in specs},
            "ndcg": {"k": args.ndcg_k, "gain": "2^acc - 1 (acc in %)", "discount": "1/log2(i+1)"},
            "n_search": args.n_search,
            "n_runs": args.n_runs,
            "n_bootstrap": args.n_bootstrap,
            "scoring_minutes": compute / 60,
            "wall_minutes": wall / 60,
            "device": str(device),
            "rows": [_row_json(r) for r in rows],
            **_common.batch_info(batch),
        }
        _common.write_meta(args.out, args, None, info)
        _common.note(args, f"wrote {args.out} and {args.out.name}.meta.json")
    return 0


def _row_json(row: LeaderboardRow) -> dict[str, Any]:
    def num(x: float | None) -> float | None:
        return None if x is None or math.isnan(x) else x

    return {
        "label": row.label,
        "kind": row.kind,
        "members": list(row.members),
        "n": row.n,
        "n_failed": row.n_failed,
        "kendall_tau": {d: ci.as_json() for d, ci in row.kendall_tau.items()},
        "spearman_rho": {d: ci.as_json() for d, ci in row.spearman_rho.items()},
        "search": {
            d: {"mean": row.search_mean[d], "std": row.search_std[d]} for d in row.search_mean
        },
        "rho_params": num(row.rho_params),
        "seconds_per_cell": num(row.seconds_per_cell),
        "delta_rho": {d: ci.as_json() for d, ci in row.delta_rho.items()},
        "ndcg": {d: num(v) for d, v in row.ndcg.items()},
        "ndcg_k": row.ndcg_k,
        "precision": {d: num(v) for d, v in row.precision.items()},
        "precision_fraction": row.precision_fraction,
    }
