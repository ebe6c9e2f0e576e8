"""``naswot plot``: the paper's figures from score tables, benchmarks and live kernels."""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from naswot._io import atomic_path, decode_text, quote, read_csv
from naswot._seeding import derive_seed, torch_seeded
from naswot.benchmarks import BenchmarkTable, load_table
from naswot.cli import _common
from naswot.cli._commands import command_help
from naswot.cli._options import SCORES_HELP, scores_file
from naswot.cli._replay import int_list
from naswot.evaluation import accuracy_column, correlate, load_scores, replay
from naswot.evaluation import plots as P
from naswot.evaluation.targets import column_label
from naswot.exceptions import InvalidParameterError, NaswotError
from naswot.fast import FastNB201
from naswot.spaces import SearchSpace

KINDS = ("score-vs-accuracy", "kernels", "histogram", "replay", "pareto")
BANDS = ((0.0, 80.0), (80.0, 88.0), (88.0, 92.0), (92.0, 100.0))


def add_parser(commands: Any) -> None:  # Any: argparse's private _SubParsersAction
    """Adds the ``plot`` command."""
    p = commands.add_parser(
        "plot",
        help=command_help("plot"),
        description="score-vs-accuracy: Figure 3; kernels: normalised K_H of a good and a poor "
        "network (Figure 1); histogram: K_H entries per accuracy band (Figure 2); "
        "replay: accuracy of the chosen cell against N, with Optimal (N) and random choice; "
        "pareto: the front written by `naswot search --pareto-out` over the cells of "
        "`--all-out`. Needs matplotlib.",
    )
    p.add_argument("kind", choices=KINDS, help="the figure to draw")
    p.add_argument("--out", type=Path, required=True, help="output file (.png or .pdf)")
    p.add_argument(
        "--benchmark",
        type=Path,
        default=None,
        help="benchmark CSV of the space (required by every kind but pareto)",
    )
    p.add_argument("--scores", type=scores_file, default=None, help=SCORES_HELP)
    p.add_argument("--space", default="nb201", help="search space (default: nb201)")
    p.add_argument(
        "--dataset",
        default="cifar10",
        help="accuracy of cifar10 (default), cifar100 or "
        "imagenet16-120; kernels/histogram score on CIFAR-10 images",
    )
    p.add_argument(
        "--split", choices=["test", "val"], default="test", help="accuracy split (default: test)"
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="CIFAR-10 folder for kernels/histogram (default: the bundled 20 images)",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="images in the kernels/histogram batch (default: 128 with --data-dir, else the 20 "
        "bundled images)",
    )
    p.add_argument(
        "--n-samples",
        type=int_list,
        default=[10, 30, 100, 300, 1000],
        help="replay: comma-separated N values (default: 10,30,100,300,1000)",
    )
    p.add_argument(
        "--n-runs",
        type=_common.positive_int,
        default=500,
        help="replay: simulated runs per N (default: 500)",
    )
    p.add_argument(
        "--per-band",
        type=_common.positive_int,
        default=5,
        help="networks per accuracy band (histogram) (default: 5)",
    )
    p.add_argument(
        "--front",
        type=Path,
        default=None,
        metavar="FILE",
        help="pareto: the CSV of `naswot search --pareto-out` (required for pareto)",
    )
    p.add_argument(
        "--cells",
        type=Path,
        default=None,
        metavar="FILE",
        help="pareto: the CSV of `naswot search --all-out`, drawn behind the front (default: none)",
    )
    p.add_argument(
        "--quiet", action="store_true", help="no progress bar on stderr (default: shown)"
    )
    p.add_argument(
        "--seed", type=_common.seed_int, default=1, help="seed of the batch and draws (default: 1)"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Draws one figure and saves it."""
    if args.out.suffix.lower() not in (".png", ".pdf"):
        raise InvalidParameterError(f"--out must end in .png or .pdf, got {quote(args.out.name)}.")
    _common.check_outputs(args, args.out, args.benchmark, args.scores)
    plt = P.require_matplotlib()
    if args.kind == "pareto":
        fig = _pareto(args, plt)
        fig.savefig(args.out, dpi=150)
        plt.close(fig)
        print(f"wrote {args.out}")
        return 0
    if args.benchmark is None:
        raise InvalidParameterError(f"plot {args.kind} needs --benchmark FILE.csv.")
    space, _ = _common.resolve_space(args.space)
    table = load_table(args.benchmark, space)
    column = accuracy_column(args.dataset, args.split)
    if args.kind == "kernels":
        fig = _kernels(args, space, table, column, plt)
    elif args.kind == "histogram":
        fig = _histogram(args, space, table, column, plt)
    else:
        scores = load_scores(args.scores, space)
        fig, ax = plt.subplots(figsize=(5.5, 4.2), constrained_layout=True)
        if args.kind == "score-vs-accuracy":
            keys = [k for k in scores.scores if column in table.rows.get(k, {})]
            s = np.array([scores.scores[k] for k in keys])
            a = np.array([table.rows[k][column] for k in keys])
            tau = correlate(s, a, n_bootstrap=0).kendall_tau.value
            P.plot_score_vs_accuracy(
                s,
                a,
                tau=tau,
                ax=ax,
                xlabel=column_label(column),
                title=f"NAS-Bench-201, {len(keys)} cells,",
            )
        else:
            rows = replay(
                scores, table, n_samples=args.n_samples, n_runs=args.n_runs, seed=args.seed
            )
            c = (args.dataset, args.split)
            mine = [r for r in rows if r.method != "Optimal" and r.n is not None]
            best = [r for r in rows if r.method == "Optimal"]
            random = [r.mean[c] for r in rows if r.method == "Random"]
            P.plot_replay_curve(
                [r.n or 0 for r in mine],
                [r.mean[c] for r in mine],
                [r.std[c] for r in mine],
                optimal_mean=[r.mean[c] for r in best],
                random_mean=random[0] if random else None,
                ylabel=column_label(column),
                ax=ax,
            )
            ax.set_title(f"Simulated NASWOT search, {args.n_runs} runs", fontsize=10)
    with atomic_path(args.out) as tmp:
        fig.savefig(tmp, dpi=150, format=args.out.suffix.lower()[1:])
    plt.close(fig)
    print(f"wrote {args.out}")
    return 0


def _kernel(space: SearchSpace[Any], key: str, inputs: torch.Tensor, seed: int) -> np.ndarray:
    fast = FastNB201()
    cell = space.parse(key)
    with torch_seeded(derive_seed(seed, space.name, key)):
        weights = fast.draw_weights(cell)
    with torch.no_grad():
        kernel, _, _ = fast.kernel(cell, inputs, weights)
    return kernel.numpy()


def _batch(args: argparse.Namespace) -> torch.Tensor:
    ns = argparse.Namespace(dataset="cifar10", data_dir=args.data_dir, batch_size=args.batch_size)
    batch = _common.resolve_batch(ns, seed=args.seed)
    if not args.quiet:
        print(f"batch: {batch.source}", file=sys.stderr)
    return batch.inputs


def _progress(args: argparse.Namespace, total: int, what: str) -> Any:  # Any: tqdm
    return tqdm(total=total, desc=what, unit="kernel", disable=args.quiet, dynamic_ncols=True)


def _pareto(args: argparse.Namespace, plt: Any) -> Any:
    if args.front is None:
        raise InvalidParameterError("plot pareto needs --front FILE (from search --pareto-out).")
    front = _read_rows(args.front)
    kind = front[0].get("pareto_cost")
    if (
        kind not in ("latency_ms", "params", "flops")
        or kind not in front[0]
        or "score" not in front[0]
    ):
        raise InvalidParameterError(
            f"{args.front} is not a front written by `naswot search --pareto ... --pareto-out`."
        )
    cells = _read_rows(args.cells) if args.cells is not None else []
    cells = [c for c in cells if c.get(kind) not in (None, "") and _finite(c["score"])]
    scale = 1.0 if kind == "latency_ms" else 1e6
    xlabel = {
        "latency_ms": "latency at batch 1 (ms, measured)",
        "params": "parameters (millions)",
        "flops": "multiply-adds per image (millions)",
    }[kind]
    fig, ax = plt.subplots(figsize=(5.5, 4.2), constrained_layout=True)
    P.plot_pareto(
        [float(c[kind]) / scale for c in cells],
        [float(c["score"]) for c in cells],
        [float(c[kind]) / scale for c in front],
        [float(c["score"]) for c in front],
        xlabel=xlabel,
        ylabel="score (higher is better)",
        ax=ax,
    )
    ax.set_title(f"Pareto front: {len(front)} of {len(cells) or '?'} scored cells", fontsize=10)
    return fig


def _finite(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _read_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV that naswot wrote (or a spreadsheet saved: BOM, CRLF, padded cells)."""
    try:
        _, numbered = read_csv(decode_text(path.read_bytes()), path)
    except OSError as e:
        raise NaswotError(f"Cannot read {path}: {e.strerror}.") from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise InvalidParameterError(f"{path} is not a text CSV ({type(e).__name__}).") from None
    rows = [row for _, row in numbered]
    if not rows:
        raise InvalidParameterError(f"{path} holds no rows.")
    return rows


def _kernels(
    args: argparse.Namespace, space: SearchSpace[Any], table: BenchmarkTable, column: str, plt: Any
) -> Any:
    keys = [k for k in table.rows if column in table.rows[k]]
    ranked = sorted(keys, key=lambda k: table.rows[k][column])
    good, poor = ranked[-1], ranked[len(ranked) // 10]
    inputs = _batch(args)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), constrained_layout=True)
    with _progress(args, 2, f"kernels on {len(inputs)} images") as bar:
        kernels = []
        for key in (good, poor):
            kernels.append(_kernel(space, key, inputs, args.seed))
            bar.update()
    # one colour scale for both panels: they are compared
    low = min(float((k / k[0, 0]).min()) for k in kernels)
    for ax, key, kernel in zip(axes, (good, poor), kernels, strict=True):
        logdet = np.linalg.slogdet(kernel)[1]
        P.plot_kernel(
            kernel,
            ax=ax,
            vmin=low,
            title=f"{column_label(column)} {table.rows[key][column]:.1f}, score {logdet:.1f}\n"
            + key.replace("|+|", "|+\n|", 1),
        )
    return fig


def _histogram(
    args: argparse.Namespace, space: SearchSpace[Any], table: BenchmarkTable, column: str, plt: Any
) -> Any:
    rng = np.random.default_rng(args.seed)
    inputs = _batch(args)
    groups = []
    bar = _progress(args, args.per_band * len(BANDS), f"kernels on {len(inputs)} images")
    with bar:
        for low, high in BANDS:
            keys = [k for k in table.rows if low <= table.rows[k].get(column, -1.0) < high]
            if not keys:
                continue
            chosen = rng.choice(len(keys), min(args.per_band, len(keys)), replace=False)
            parts = []
            for i in chosen:
                parts.append(P.off_diagonal(_kernel(space, keys[int(i)], inputs, args.seed)))
                bar.update()
            groups.append((f"{low:.0f}-{high:.0f}% ({len(chosen)} nets)", np.concatenate(parts)))
    fig, ax = plt.subplots(figsize=(6, 4.2), constrained_layout=True)
    P.plot_kernel_histograms(groups, ax=ax)
    ax.set_title(f"K_H entries by {column_label(column)}, {len(inputs)} images", fontsize=10)
    return fig
