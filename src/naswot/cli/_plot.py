"""``naswot plot``: the paper's figures from score tables, benchmarks and live kernels."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import torch

from naswot._io import atomic_path, quote
from naswot._seeding import derive_seed, torch_seeded
from naswot.benchmarks import BenchmarkTable, load_table
from naswot.cli import _common
from naswot.cli._replay import int_list
from naswot.evaluation import accuracy_column, correlate, load_scores, replay
from naswot.evaluation import plots as P
from naswot.exceptions import InvalidParameterError
from naswot.fast import FastNB201
from naswot.spaces import SearchSpace

KINDS = ("score-vs-accuracy", "kernels", "histogram", "replay")
BANDS = ((0.0, 80.0), (80.0, 88.0), (88.0, 92.0), (92.0, 100.0))


def add_parser(commands: Any) -> None:  # Any: argparse's private _SubParsersAction
    """Adds the ``plot`` command."""
    p = commands.add_parser(
        "plot",
        help="draw the paper's figures (PNG or PDF)",
        description="score-vs-accuracy: Figure 3; kernels: normalised K_H of a good and a poor "
        "network (Figure 1); histogram: K_H entries per accuracy band (Figure 2); "
        "replay: accuracy of the chosen cell against N. Needs matplotlib.",
    )
    p.add_argument("kind", choices=KINDS)
    p.add_argument("--out", type=Path, required=True, help="output file (.png or .pdf)")
    p.add_argument("--benchmark", type=Path, required=True)
    p.add_argument(
        "--scores", type=Path, default=None, help="score CSV (default: the shipped NB201 table)"
    )
    p.add_argument("--space", default="nb201")
    p.add_argument(
        "--dataset",
        default="cifar10",
        help="accuracy of cifar10, cifar100 or "
        "imagenet16-120; kernels/histogram score on CIFAR-10 images",
    )
    p.add_argument("--split", choices=["test", "val"], default="test")
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="CIFAR-10 folder for kernels/histogram (default: the bundled 20 images)",
    )
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--n-samples", type=int_list, default=[10, 30, 100, 300, 1000])
    p.add_argument("--n-runs", type=_common.positive_int, default=500)
    p.add_argument(
        "--per-band",
        type=_common.positive_int,
        default=5,
        help="networks per accuracy band (histogram)",
    )
    p.add_argument("--seed", type=_common.seed_int, default=1)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Draws one figure and saves it."""
    if args.out.suffix.lower() not in (".png", ".pdf"):
        raise InvalidParameterError(f"--out must end in .png or .pdf, got {quote(args.out.name)}.")
    _common.check_outputs(args, args.out, args.benchmark, args.scores)
    plt = P.require_matplotlib()
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
                xlabel=f"{column} (%)",
                title=f"NAS-Bench-201, {len(keys)} cells,",
            )
        else:
            rows = replay(
                scores, table, n_samples=args.n_samples, n_runs=args.n_runs, seed=args.seed
            )
            c = (args.dataset, args.split)
            mine = [r for r in rows if r.method != "Optimal" and r.n is not None]
            best = [r for r in rows if r.method == "Optimal"]
            P.plot_replay_curve(
                [r.n or 0 for r in mine],
                [r.mean[c] for r in mine],
                [r.std[c] for r in mine],
                optimal_mean=[r.mean[c] for r in best],
                ylabel=f"{column} (%)",
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
    return _common.resolve_batch(ns, seed=args.seed).inputs


def _kernels(
    args: argparse.Namespace, space: SearchSpace[Any], table: BenchmarkTable, column: str, plt: Any
) -> Any:
    keys = [k for k in table.rows if column in table.rows[k]]
    ranked = sorted(keys, key=lambda k: table.rows[k][column])
    good, poor = ranked[-1], ranked[len(ranked) // 10]
    inputs = _batch(args)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), constrained_layout=True)
    for ax, key in zip(axes, (good, poor), strict=True):
        kernel = _kernel(space, key, inputs, args.seed)
        logdet = np.linalg.slogdet(kernel)[1]
        P.plot_kernel(
            kernel,
            ax=ax,
            title=f"{column} {table.rows[key][column]:.1f}%, score {logdet:.1f}\n"
            + key.replace("|+|", "|+\n|", 1),
        )
    return fig


def _histogram(
    args: argparse.Namespace, space: SearchSpace[Any], table: BenchmarkTable, column: str, plt: Any
) -> Any:
    rng = np.random.default_rng(args.seed)
    inputs = _batch(args)
    groups = []
    for low, high in BANDS:
        keys = [k for k in table.rows if low <= table.rows[k].get(column, -1.0) < high]
        if not keys:
            continue
        chosen = rng.choice(len(keys), min(args.per_band, len(keys)), replace=False)
        entries = np.concatenate(
            [P.off_diagonal(_kernel(space, keys[int(i)], inputs, args.seed)) for i in chosen]
        )
        groups.append((f"{low:.0f}-{high:.0f}% ({len(chosen)} nets)", entries))
    fig, ax = plt.subplots(figsize=(6, 4.2), constrained_layout=True)
    P.plot_kernel_histograms(groups, ax=ax)
    ax.set_title(f"K_H entries by {column}", fontsize=10)
    return fig
