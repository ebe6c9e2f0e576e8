"""``naswot search``: the paper's search: sample N architectures, score each, keep the best.

Budgets (``--max-params``, ``--max-flops``, ``--max-latency-ms``) redraw over-budget samples
before scoring; ``--pareto`` reports the non-dominated (score, cost) cells; ``--export`` writes
the best cell's network. The work (costs, Pareto, export) is in ``naswot.costs``,
``naswot.search`` and ``naswot.export``; this module only wires options to it.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from naswot import export as E
from naswot._io import atomic_write, check_output, check_output_dir
from naswot.benchmarks import BenchmarkTable, load_table
from naswot.cli import _common, _export
from naswot.cli._commands import command_help
from naswot.costs import (
    COST_KINDS,
    Cost,
    LatencyCache,
    build_for_cost,
    count_params,
    measure_latency,
    network_cost,
)
from naswot.data.shapes import input_shape, n_classes_of
from naswot.evaluation.targets import EVAL_DATASETS, accuracy_column
from naswot.exceptions import InvalidParameterError, NaswotError
from naswot.parallel import ScoringJob
from naswot.scoring import ScoreRecord
from naswot.search import Budgeted, RandomSampling, SearchResult, pareto_front, run_search
from naswot.store import default_store_path

#: Draws allowed per scored architecture before a budget is declared too tight.
DRAWS_PER_SAMPLE = 100
LATENCY_REPEATS = 20
_TITLES = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "imagenet16-120": "ImageNet16-120"}


def add_parser(commands: Any) -> None:  # Any: argparse's private _SubParsersAction
    """Adds the ``search`` command."""
    p = commands.add_parser(
        "search",
        help=command_help("search"),
        description="Sample N architectures (with replacement, as the paper does), score each on "
        "one minibatch and print the best; repeat for --n-runs runs. Run r uses the "
        "seed SEED + r for its batch, its samples and its networks. Budgets redraw "
        "over-budget samples before scoring, so N cells within budget are scored.",
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
        help="a benchmark CSV (arch_str + accuracy columns): print the chosen cells' "
        "accuracies, rank and percentile, the optimum and random choice (default: none)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="write one CSV row per run here, plus OUT.meta.json (default: none)",
    )
    p.add_argument(
        "--all-out",
        type=Path,
        default=None,
        metavar="FILE",
        help="write one CSV row per distinct cell scored in each run: arch, score, status, "
        "params, flops (and latency_ms, accuracies where known) (default: none)",
    )
    budget = p.add_argument_group("budgets (counted on the network with the dataset's classes)")
    budget.add_argument(
        "--max-params",
        type=_common.positive_number,
        default=None,
        metavar="P",
        help="score only cells with at most P million parameters (default: no limit)",
    )
    budget.add_argument(
        "--max-flops",
        type=_common.positive_number,
        default=None,
        metavar="F",
        help="score only cells with at most F million multiply-adds per image, as the flops "
        "proxy counts them (default: no limit)",
    )
    budget.add_argument(
        "--max-latency-ms",
        type=_common.positive_number,
        default=None,
        metavar="L",
        help="score only cells whose batch-1 forward takes at most L ms, measured on --device "
        f"(median of {LATENCY_REPEATS}; cached in the store file) (default: no limit)",
    )
    p.add_argument(
        "--pareto",
        choices=list(COST_KINDS),
        default=None,
        help="report the non-dominated (score, cost) cells among those scored (default: none)",
    )
    p.add_argument(
        "--pareto-out",
        type=Path,
        default=None,
        metavar="FILE",
        help="write the --pareto front as CSV (draw it with `naswot plot pareto`) (default: none)",
    )
    p.add_argument(
        "--export",
        type=Path,
        default=None,
        metavar="DIR",
        help="export the best-scored cell over all runs to DIR, as `naswot export` (default: none)",
    )
    p.add_argument(
        "--json", action="store_true", help="print one JSON object instead of text (default: text)"
    )
    p.set_defaults(run=run)


class _Costs:
    """Costs of the cells of one search, counted once per key (latency cached in the store)."""

    def __init__(self, args: argparse.Namespace, space: Any, builder: Any) -> None:
        self.args = args
        self.space = space
        self.builder = builder
        self.dataset = args.dataset
        self.static: dict[str, Cost] = {}
        self.params: dict[str, int] = {}
        self.latency: dict[str, float] = {}
        self._cache: LatencyCache | None = None

    def cost(self, key: str) -> Cost:
        if key not in self.static:
            arch = self.space.parse(key)
            self.static[key] = network_cost(self.space, self.builder, arch, dataset=self.dataset)
        return self.static[key]

    def latency_ms(self, key: str) -> float:
        if key not in self.latency:
            if self._cache is None:
                store = None if self.args.no_store else self.args.store or default_store_path()
                self._cache = LatencyCache(store)
            device = _common.resolve_device(self.args.device)

            def measure() -> float:
                model = self.builder(self.space.parse(key), n_classes=n_classes_of(self.dataset))
                return measure_latency(
                    model, input_shape(self.dataset), device=device, repeats=LATENCY_REPEATS
                )

            self.latency[key] = self._cache.get_or_measure(
                self.space.name, key, self.dataset, device, measure, repeats=LATENCY_REPEATS
            )
        return self.latency[key]

    def of(self, kind: str, key: str) -> float:
        if kind == "latency":
            return self.latency_ms(key)
        if kind == "params":  # no forward needed: cheap enough to test every draw
            if key in self.static:
                return float(self.static[key].params)
            if key not in self.params:
                arch = self.space.parse(key)
                model = build_for_cost(self.space, self.builder, arch, dataset=self.dataset)
                self.params[key] = count_params(model)
            return float(self.params[key])
        return float(self.cost(key).flops)

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()


def _budget(args: argparse.Namespace, costs: _Costs) -> tuple[Callable[[Any], bool], str] | None:
    """The admission test and its description, or None without budgets."""
    limits = [
        (kind, value, scale, unit)
        for kind, value, scale, unit in (
            ("params", args.max_params, 1e6, "M params"),
            ("flops", args.max_flops, 1e6, "M FLOPs"),
            ("latency", args.max_latency_ms, 1.0, "ms"),
        )
        if value is not None
    ]
    if not limits:
        return None
    key = costs.space.key

    def admits(arch: Any) -> bool:
        k = key(arch)
        # cheapest first: latency is measured only for cells within the static budgets
        return all(costs.of(kind, k) <= value * scale for kind, value, scale, _ in limits)

    describe = "the budget " + ", ".join(
        f"{kind} <= {value:g} {unit}" for kind, value, _, unit in limits
    )
    return admits, describe


def run(args: argparse.Namespace) -> int:
    """Runs the search and prints the chosen architecture of each run."""
    started = time.perf_counter()
    _common.check_outputs(args, args.out, args.benchmark)
    for path, what in ((args.all_out, "--all-out"), (args.pareto_out, "--pareto-out")):
        if path is not None:
            check_output(
                path, what, inputs=(args.benchmark, args.out), store=_common.store_path(args)
            )
    if args.pareto_out is not None and args.pareto is None:
        raise InvalidParameterError("--pareto-out needs --pareto params|flops|latency.")
    if args.export is not None:
        check_output_dir(args.export, "--export")
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
    costs = _Costs(args, space, builder)
    budget = _budget(args, costs)
    table = load_table(args.benchmark, space) if args.benchmark else None
    first_batch = _common.resolve_batch(args, seed=args.seed, proxies=proxies)
    _common.note_batch(args, space, first_batch)
    store = _common.open_store(args)
    say: Callable[[str], None] = (lambda _: None) if args.json else print
    bar = tqdm(
        total=args.n_samples * args.n_runs,
        desc="search",
        unit="arch",
        disable=args.quiet,
        dynamic_ncols=True,
    )
    rows: list[dict[str, Any]] = []
    cells: list[dict[str, Any]] = []  # one per distinct (run, cell) scored
    all_records: list[ScoreRecord] = []
    draws = rejected = 0
    best_of_all: tuple[float, str, int, dict[str, Any]] | None = None
    try:
        for r in range(args.n_runs):
            seed = args.seed + r
            batch = (
                first_batch if r == 0 else _common.resolve_batch(args, seed=seed, proxies=proxies)
            )
            jobs = _common.scoring_jobs(
                args, space, builder, proxies, batch, seed=seed, device=device
            )
            seen: dict[str, ScoreRecord] = {}

            def score_fn(
                archs: Sequence[Any],
                jobs: list[ScoringJob] = jobs,
                seen: dict[str, ScoreRecord] = seen,
            ) -> list[float | None]:
                last = jobs[-1]

                def count(record: ScoreRecord) -> None:  # one step per architecture
                    if (record.proxy, record.variant) == (last.proxy.name, last.variant):
                        bar.update()

                pool = _common.score_pool(
                    args,
                    [space.key(a) for a in archs],
                    jobs,
                    store,
                    ensembles=specs,  # ranks within this run's sample
                    progress=False,
                    on_record=count,
                )
                for job in jobs:
                    all_records.extend(pool[_common.proxy_label(job.proxy)])
                label = specs[0].label if specs else _common.proxy_label(jobs[0].proxy)
                chosen = pool[label]
                for rec in chosen:
                    seen.setdefault(rec.arch, rec)
                return [rec.score for rec in chosen]

            strategy: Any = RandomSampling(space, seed=seed)
            if budget is not None:
                strategy = Budgeted(
                    strategy,
                    budget[0],
                    max_draws=DRAWS_PER_SAMPLE * args.n_samples,
                    describe=budget[1],
                )
            result = run_search(strategy, score_fn, budget=args.n_samples)
            if budget is not None:
                draws += strategy.draws
                rejected += strategy.rejected
            drawn = [space.key(c.arch) for c in result.history]
            cells += [_cell_row(r, seed, rec, costs, table) for rec in seen.values()]
            emit = bar.write if args.n_runs > 1 and not args.json else say
            row = _report(r, args, space.key, result, table, batch.fingerprint, seed, drawn, emit)
            rows.append(row)
            if row["arch"] is not None and (best_of_all is None or row["score"] > best_of_all[0]):
                job = jobs[0]
                best_of_all = (
                    row["score"],
                    row["arch"],
                    seed,
                    _export.score_info(seen[row["arch"]], job, batch, seed),
                )
    finally:
        bar.close()
        if store is not None:
            store.close()
    try:
        return _finish(
            args,
            space,
            rows,
            cells,
            all_records,
            table,
            costs,
            best_of_all,
            draws,
            rejected,
            budget,
            started,
            say,
        )
    finally:
        costs.close()


def _finish(
    args: argparse.Namespace,
    space: Any,
    rows: list[dict[str, Any]],
    cells: list[dict[str, Any]],
    records: list[ScoreRecord],
    table: BenchmarkTable | None,
    costs: _Costs,
    best: tuple[float, str, int, dict[str, Any]] | None,
    draws: int,
    rejected: int,
    budget: tuple[Callable[[Any], bool], str] | None,
    started: float,
    say: Callable[[str], None],
) -> int:
    summary: dict[str, Any] = {}
    if table is not None and args.n_runs > 1:
        summary = _summary(rows, table, say)
    if budget is not None:
        say(
            f"{budget[1]}: {draws - rejected} of {draws} draws admitted and scored, "
            f"{rejected} rejected before scoring"
        )
    front: list[dict[str, Any]] = []
    if args.pareto is not None:
        usable = [c for c in cells if c["score"] is not None and math.isfinite(c["score"])]
        kind = args.pareto
        cost_values = [costs.of(kind, c["arch"]) for c in usable]
        column = "latency_ms" if kind == "latency" else kind
        if kind == "latency":  # params and flops are in every row already
            for c, v in zip(usable, cost_values, strict=True):
                c[column] = v
        front = [
            {**usable[i], "pareto_cost": column}
            for i in pareto_front([c["score"] for c in usable], cost_values)
        ]
        say(f"pareto front (score vs {kind}): {len(front)} of {len(usable)} scored cells")
        for c in front:
            say(
                f"    {c['arch']}  score {_common.format_score(c['score'])}  {column} {c[column]:g}"
            )
        if args.pareto_out is not None:
            _write_csv(args.pareto_out, front)
            _common.note(args, f"wrote {args.pareto_out}")
    if args.all_out is not None:
        _write_csv(args.all_out, cells)
        _common.note(args, f"wrote {args.all_out}")
    if args.out is not None:
        _write_runs(args, rows)
    exported = None
    if args.export is not None and best is not None:
        card = _export.export_to(args, space, best[1], args.export, seed=best[2], score=best[3])
        exported = {
            "dir": str(args.export),
            "arch": best[1],
            "params": card["params"],
            "flops": card["flops"],
        }
        runs = f"{args.n_runs} runs" if args.n_runs > 1 else "the run"
        say(
            f"exported the best cell of {runs} (score {_common.format_score(best[0])}) to "
            f"{args.export}/ ({E.MODEL}, {E.STATE_DICT}, {E.CARD}): {_export.describe(card)}"
        )
    wall = time.perf_counter() - started
    from_store = sum(1 for rec in records if rec.cached)
    where = "none (--no-store)" if args.no_store else str(args.store or default_store_path())
    if args.no_store:
        say(f"wall time {wall:.1f} s; store: none (--no-store), all {len(records)} scores computed")
    else:
        say(f"wall time {wall:.1f} s; store {where}: {from_store} of {len(records)} scores from it")
    if args.json:
        out = {
            "runs": rows,
            "summary": summary,
            "budget": None
            if budget is None
            else {"limits": budget[1], "draws": draws, "rejected": rejected},
            "pareto": None if args.pareto is None else {"cost": args.pareto, "front": front},
            "export": exported,
            "wall_seconds": round(wall, 3),
            "store": None if args.no_store else where,
            "n_scores": len(records),
            "n_from_store": from_store,
        }
        print(json.dumps(_finite_or_null(out), indent=2, default=str))
    if any(row["arch"] is None for row in rows):
        raise NaswotError("Some runs found no architecture with a finite score (see above).")
    return 0


def _finite_or_null(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (JSON has no inf or NaN)."""
    if isinstance(value, dict):
        return {k: _finite_or_null(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_or_null(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(float(value)) else None
    return value


def is_accuracy(metric: str) -> bool:
    """Whether a benchmark column holds an accuracy (not a count such as ``*_n_trials``)."""
    return "acc" in metric or metric.endswith(("_test_mean", "_val_mean"))


def _cell_row(
    r: int, seed: int, rec: ScoreRecord, costs: _Costs, table: BenchmarkTable | None
) -> dict[str, Any]:
    cost = costs.cost(rec.arch)
    row: dict[str, Any] = {
        "run": r + 1,
        "seed": seed,
        "arch": rec.arch,
        "score": rec.score,
        "status": rec.status,
        "params": cost.params,
        "flops": cost.flops,
    }
    if rec.arch in costs.latency:
        row["latency_ms"] = costs.latency[rec.arch]
    if table is not None:
        row.update({m: v for m, v in table.rows.get(rec.arch, {}).items() if is_accuracy(m)})
    return row


def _target_column(args: argparse.Namespace, table: BenchmarkTable) -> str | None:
    dataset = args.dataset if args.dataset in EVAL_DATASETS else "cifar10"
    column = accuracy_column(dataset, "test")
    return column if column in table.metrics else None


def _report(
    r: int,
    args: argparse.Namespace,
    key: Any,
    result: SearchResult[Any],
    table: BenchmarkTable | None,
    fingerprint: str,
    seed: int,
    drawn: list[str],
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
        metrics = {m: v for m, v in table.lookup(arch).items() if is_accuracy(m)}
        row.update(metrics)
        print("    " + "  ".join(f"{m} {v:.2f}" for m, v in metrics.items()))
        column = _target_column(args, table)
        if column is not None and column in metrics:
            row.update(_standing(table, column, metrics[column], drawn))
            s = row
            dataset = args.dataset if args.dataset in EVAL_DATASETS else "cifar10"
            print(
                f"    {_TITLES[dataset]} test accuracy {metrics[column]:.2f} %: rank "
                f"{s['rank']:,} of {s['n_cells']:,} cells (top {s['top_percent']:.2f} %); "
                f"optimum {s['optimum']:.2f} %; random choice among the same {len(drawn)} "
                f"draws {s['random_mean']:.2f} % on average"
            )
    return row


def _standing(table: BenchmarkTable, column: str, value: float, drawn: list[str]) -> dict[str, Any]:
    """Rank (1 = best), top percentile, optimum and the random-choice mean at the same draws."""
    values = [row[column] for row in table.rows.values() if column in row]
    rank = 1 + sum(1 for v in values if v > value)
    known = [table.rows[k][column] for k in drawn if column in table.rows.get(k, {})]
    return {
        "rank": rank,
        "n_cells": len(values),
        "top_percent": 100.0 * rank / len(values),
        "optimum": max(values),
        "random_mean": statistics.mean(known) if known else math.nan,
    }


def _summary(
    rows: list[dict[str, Any]], table: BenchmarkTable, print: Callable[[str], None]
) -> dict[str, Any]:
    found = [row for row in rows if row["arch"] is not None]
    print(f"over {len(found)} runs (mean ± std):")
    out: dict[str, Any] = {}
    for m in table.metrics:
        values = [row[m] for row in found if m in row]
        if len(values) > 1 and is_accuracy(m):
            mean, std = statistics.mean(values), statistics.stdev(values)
            out[m] = {"mean": mean, "std": std}
            print(f"    {m} {mean:.2f} ± {std:.2f}")
    return out


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with atomic_write(path) as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def _write_runs(args: argparse.Namespace, rows: list[dict[str, Any]]) -> None:
    _write_csv(args.out, rows)
    _common.write_meta(args.out, args, None, {"n_runs": args.n_runs, "n_samples": args.n_samples})
    _common.note(args, f"wrote {args.out}")
