"""``naswot search``: the paper's search: sample N architectures, score each, keep the best."""

from __future__ import annotations

import argparse
import csv
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from naswot.benchmarks import BenchmarkTable, load_table
from naswot.cli import _common
from naswot.exceptions import InvalidParameterError, NaswotError
from naswot.parallel import ScoringJob
from naswot.search import RandomSampling, SearchResult, run_search


def add_parser(commands: Any) -> None:  # Any: argparse's private _SubParsersAction
    """Adds the ``search`` command."""
    p = commands.add_parser(
        "search",
        help="search a space with a training-free score",
        description="Sample N architectures (with replacement, as the paper does), score each on "
        "one minibatch and print the best; repeat for --n-runs runs. Run r uses the "
        "seed SEED + r for its batch, its samples and its networks.",
    )
    p.add_argument(
        "--n-samples",
        type=_common.positive_int,
        default=100,
        metavar="N",
        help="architectures sampled per run (default: 100)",
    )
    p.add_argument(
        "--n-runs",
        type=_common.positive_int,
        default=1,
        metavar="R",
        help="independent runs (default: 1)",
    )
    _common.add_scoring_options(p)
    _common.add_ensemble_option(p)
    p.add_argument(
        "--benchmark",
        type=Path,
        default=None,
        help="a benchmark CSV (arch_str + accuracy columns): print the accuracies "
        "of the chosen architectures",
    )
    p.add_argument(
        "--out", type=Path, default=None, help="write one CSV row per run here (plus OUT.meta.json)"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Runs the search and prints the chosen architecture of each run."""
    space, builder = _common.resolve_space(args.space)
    proxies, specs = _common.resolve_scoring(args.proxy, args.variant, args.ensemble)
    if len(specs) > 1:
        raise InvalidParameterError("search takes one --ensemble.")
    if len(proxies) > 1 and not specs:
        raise InvalidParameterError(
            "search takes one proxy, or several combined by one --ensemble "
            "(e.g. --proxy naswot,zico,flops --ensemble log_rank:naswot+zico+flops)."
        )
    if specs and len(proxies) != len(specs[0].members):
        raise InvalidParameterError(
            f"--proxy names proxies that the ensemble {specs[0].label!r} does not use."
        )
    device = _common.resolve_device(args.device)
    for p in proxies:  # refuse engine options that do not fit before any scoring
        _common.resolve_fast(args, space, p)
    table = load_table(args.benchmark, space) if args.benchmark else None
    first_batch = _common.resolve_batch(args, seed=args.seed, proxies=proxies)
    _common.note(args, f"batch: {first_batch.source}")
    store = _common.open_store(args)
    bar = tqdm(
        total=args.n_samples * args.n_runs,
        desc="search",
        unit="arch",
        disable=args.quiet,
        dynamic_ncols=True,
    )
    rows: list[dict[str, Any]] = []
    try:
        for r in range(args.n_runs):
            seed = args.seed + r
            batch = (
                first_batch if r == 0 else _common.resolve_batch(args, seed=seed, proxies=proxies)
            )

            jobs = _common.scoring_jobs(
                args, space, builder, proxies, batch, seed=seed, device=device
            )

            def score_fn(archs: Sequence[Any], jobs: list[ScoringJob] = jobs) -> list[float | None]:
                keys = [space.key(a) for a in archs]
                by_label = {}
                for i, job in enumerate(jobs):
                    by_label[_common.proxy_label(job.proxy)] = _common.score_keys(
                        args,
                        keys,
                        job,
                        store,
                        progress=False,
                        on_record=(lambda _: bar.update()) if i == len(jobs) - 1 else None,
                    )
                if specs:  # ranks within this run's sample
                    return [r.score for r in _common.ensemble_records(specs[0], by_label)]
                return [rec.score for rec in by_label[_common.proxy_label(jobs[0].proxy)]]

            result = run_search(RandomSampling(space, seed=seed), score_fn, budget=args.n_samples)
            if args.n_runs > 1:  # stream the runs; a single result is printed after the bar
                rows.append(
                    _report(r, args, space.key, result, table, batch.fingerprint, seed, bar.write)
                )
    finally:
        bar.close()
        if store is not None:
            store.close()
    if args.n_runs == 1:
        rows.append(
            _report(0, args, space.key, result, table, first_batch.fingerprint, args.seed, print)
        )
    if table is not None and args.n_runs > 1:
        _summary(rows, table)
    if args.out is not None:
        _write_runs(args, rows)
    if any(row["arch"] is None for row in rows):
        raise NaswotError("Some runs found no architecture with a finite score (see above).")
    return 0


def _report(
    r: int,
    args: argparse.Namespace,
    key: Any,
    result: SearchResult[Any],
    table: BenchmarkTable | None,
    fingerprint: str,
    seed: int,
    print: Callable[[str], None],
) -> dict[str, Any]:
    prefix = f"run {r + 1}/{args.n_runs}" if args.n_runs > 1 else "best"
    row: dict[str, Any] = {
        "run": r + 1,
        "seed": seed,
        "n_samples": args.n_samples,
        "n_skipped": result.n_skipped,
        "batch_fingerprint": fingerprint,
        "arch": None,
        "score": None,
    }
    if result.best is None:
        print(
            f"{prefix}: no architecture with a finite score among {args.n_samples} "
            f"({result.n_skipped} singular or failed)"
        )
        return row
    arch = key(result.best.arch)
    row.update(arch=arch, score=result.best.score)
    skipped = f"  ({result.n_skipped} skipped: singular or failed)" if result.n_skipped else ""
    print(f"{prefix}: {arch}  score {_common.format_score(result.best.score)}{skipped}")
    if table is not None:
        metrics = table.lookup(arch)
        row.update(metrics)
        print("    " + "  ".join(f"{m} {v:.2f}" for m, v in metrics.items()))
    return row


def _summary(rows: list[dict[str, Any]], table: BenchmarkTable) -> None:
    found = [row for row in rows if row["arch"] is not None]
    print(f"over {len(found)} runs (mean ± std):")
    for m in table.metrics:
        values = [row[m] for row in found if m in row]
        if len(values) > 1:
            print(f"    {m} {statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}")


def _write_runs(args: argparse.Namespace, rows: list[dict[str, Any]]) -> None:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with args.out.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    _common.write_meta(args.out, args, None, {"n_runs": args.n_runs, "n_samples": args.n_samples})
    _common.note(args, f"wrote {args.out}")
