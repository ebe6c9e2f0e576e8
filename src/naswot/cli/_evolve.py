"""``naswot evolve``: simulated REA / AREA with benchmark accuracy as the trained fitness."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from naswot.benchmarks import load_table
from naswot.cli import _common
from naswot.cli._commands import command_help
from naswot.cli._options import SCORES_HELP, scores_file
from naswot.cli._replay import format_table
from naswot.evaluation import ReplayRow, load_scores
from naswot.evaluation.evolution import simulate_evolution
from naswot.evaluation.targets import DATASET_COLUMNS
from naswot.exceptions import InvalidParameterError
from naswot.search import AssistedRegularizedEvolution, RegularizedEvolution
from naswot.spaces import MutableSpace


def add_parser(commands: Any) -> None:  # Any: argparse's private _SubParsersAction
    """Adds the ``evolve`` command."""
    p = commands.add_parser(
        "evolve",
        help=command_help("evolve"),
        description="Regularised evolution whose 'training' is a benchmark lookup. AREA scores "
        "M random cells with the score table and starts from the best P. The budget "
        "is a number of trained cells, or seconds with --budget-seconds and a "
        "training-time column.",
    )
    p.add_argument(
        "--strategy",
        choices=["rea", "area"],
        default="area",
        help="rea: regularized evolution; area: seeded with the best scored cells (default: area)",
    )
    p.add_argument(
        "--benchmark", type=Path, required=True, help="benchmark CSV (accuracy is the fitness)"
    )
    p.add_argument(
        "--scores",
        type=scores_file,
        default=None,
        help=f"the scores AREA reads: {SCORES_HELP}",
    )
    p.add_argument("--space", default="nb201", help="search space (default: nb201)")
    p.add_argument("--n-runs", type=_common.positive_int, default=50, help="runs (default: 50)")
    p.add_argument(
        "--budget",
        type=_common.positive_int,
        default=150,
        help="trained cells per run (default: 150)",
    )
    p.add_argument(
        "--budget-seconds",
        type=_common.positive_seconds,
        default=None,
        help="budget in simulated training seconds of --time-column instead of cells "
        "(default: none, count cells)",
    )
    p.add_argument(
        "--time-column",
        default="train_time_12ep_cifar10_valid",
        help="benchmark column of training seconds for --budget-seconds "
        "(default: train_time_12ep_cifar10_valid)",
    )
    p.add_argument(
        "--fitness",
        default=None,
        help="fitness column (default: val_acc_12ep_cifar10_valid if the table has "
        "it, else val_acc_cifar10_valid)",
    )
    p.add_argument(
        "--population",
        type=_common.positive_int,
        default=10,
        help="population size (default: 10)",
    )
    p.add_argument(
        "--tournament",
        type=_common.positive_int,
        default=3,
        help="tournament size (default: 3)",
    )
    p.add_argument(
        "--n-scored",
        type=_common.positive_int,
        default=20,
        help="AREA's M: random cells scored to seed the population (default: 20)",
    )
    p.add_argument("--seed", type=_common.seed_int, default=1, help="seed of the runs (default: 1)")
    p.add_argument("--json", action="store_true", help="print JSON (default: text)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Runs the simulation and prints mean ± std of the chosen cells' accuracies."""
    space, _ = _common.resolve_space(args.space)
    if not isinstance(space, MutableSpace):
        raise InvalidParameterError(f"The space {space.name!r} has no mutation.")
    table = load_table(args.benchmark, space)
    fitness = args.fitness or (
        "val_acc_12ep_cifar10_valid"
        if "val_acc_12ep_cifar10_valid" in table.metrics
        else "val_acc_cifar10_valid"
    )
    if fitness not in table.metrics:
        raise InvalidParameterError(f"The benchmark has no fitness column {fitness!r}.")
    scores = load_scores(args.scores, space) if args.strategy == "area" else None

    def score_fn(archs: Sequence[Any]) -> list[float | None]:
        assert scores is not None
        return [scores.scores.get(space.key(a)) for a in archs]

    picked: dict[tuple[str, str], list[float]] = {c: [] for c in DATASET_COLUMNS}
    for r in range(args.n_runs):
        rng = np.random.default_rng([args.seed, r])
        strategy = (
            RegularizedEvolution(
                space, population_size=args.population, tournament_size=args.tournament, seed=rng
            )
            if scores is None
            else AssistedRegularizedEvolution(
                space,
                score_fn,
                n_scored=args.n_scored,
                population_size=args.population,
                tournament_size=args.tournament,
                seed=rng,
            )
        )
        result = simulate_evolution(
            strategy,
            table,
            space.key,
            fitness_column=fitness,
            budget=args.budget,
            budget_seconds=args.budget_seconds,
            time_column=args.time_column if args.budget_seconds is not None else None,
        )
        row = table.lookup(result.best)
        for c, col in DATASET_COLUMNS.items():
            if col in row:
                picked[c].append(row[col])
    picked = {c: v for c, v in picked.items() if len(v) == args.n_runs}
    name = "AREA" if scores is not None else "REA"
    out = ReplayRow(
        method=name,
        n=None,
        mean={c: float(np.mean(v)) for c, v in picked.items()},
        std={c: float(np.std(v)) for c, v in picked.items()},
    )
    budget = (
        f"{args.budget_seconds:g} s"
        if args.budget_seconds is not None
        else f"{args.budget} trained cells"
    )
    if args.json:
        print(
            json.dumps(
                {
                    "rows": [out.as_json()],
                    "n_runs": args.n_runs,
                    "fitness": fitness,
                    "budget": budget,
                    "seed": args.seed,
                },
                indent=2,
            )
        )
        return 0
    print(format_table([out]))
    print(
        f"\n{args.n_runs} runs; fitness {fitness}; budget {budget}; population "
        f"{args.population}, tournament {args.tournament}"
        + (f", {args.n_scored} cells scored" if scores is not None else "")
    )
    return 0
