"""An ensemble chosen on one pool of NB201 cells and reported on another, with no cell in common.

The score files come from one seeded draw (`naswot score --sample 2000 --seed S ...`, one or
several files of the same cells, any proxies). The cells are split by draw order: the first
``--pool-size`` cells are the *selection* pool, the next ``--pool-size`` the *report* pool (same
batch and initialisation seed for both: they were scored in the same run). On the selection pool,
`naswot.evaluation.selection.select_ensemble` tries every member set of 2..--max-members
candidates under rank_sum and log_rank and keeps the best by ``--objective`` (``spearman``: mean
Spearman rho over CIFAR-10, CIFAR-100 and ImageNet16-120 test accuracy; ``search``: the mean
accuracy a simulated N=``--search-n`` search picks on those three); the best single proxy is
chosen there too. With ``--selection-archs FILE`` the selection pool is the cells that file
lists and the report pool every other cell of the score files (e.g. the whole space minus the
selection pool, from a whole-space table). Only then
is the report pool read: the winner, the best single proxy, NASWOT and any --compare ensembles
are measured there with `naswot.evaluation.leaderboard` (Kendall, Spearman with bootstrap
intervals, simulated search at N=100, paired bootstrap Δρ against NASWOT and against the best
single proxy).

    python benchmarks/honest_ensemble.py --scores pool.csv [more.csv ...] \
        --benchmark ../shared/data/nb201-combined/nb201_combined.csv --pool-size 1000 \
        --out docs/honest_ensemble.md
    python benchmarks/honest_ensemble.py --scores whole_space.csv --selection-archs sel1000.txt \
        --objective search --benchmark ../shared/data/nb201-combined/nb201_combined.csv
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from naswot.benchmarks import load_table
from naswot.ensembles import ENSEMBLES, EnsembleSpec, resolve_ensemble
from naswot.evaluation import accuracy_column
from naswot.evaluation.leaderboard import leaderboard, render_markdown
from naswot.evaluation.scores import read_score_rows, row_label
from naswot.evaluation.selection import select_ensemble
from naswot.evaluation.targets import EVAL_DATASETS
from naswot.proxies import PROXIES
from naswot.spaces import NasBench201Space


def read_scores(paths: list[Path]) -> tuple[list[str], dict[str, dict[str, float]]]:
    """Cells in draw order (first appearance) and label -> {arch: score (NaN = failed)}."""
    order: dict[str, None] = {}
    scores: dict[str, dict[str, float]] = {}
    for path in paths:
        for _, row in read_score_rows(path)[1]:
            if row["proxy"] in ENSEMBLES:  # ensemble rows are recomputed here
                continue
            label = row_label(row["proxy"], row["variant"])
            order.setdefault(row["arch"], None)
            ok = row["status"] != "error" and row["score"] not in ("", None)
            value = float(row["score"]) if ok else math.nan
            scores.setdefault(label, {})[row["arch"]] = value
    return list(order), scores


def orientation(label: str) -> bool:
    """higher_is_better of a proxy label (``name`` or ``name:variant``)."""
    return bool(PROXIES.get(label.partition(":")[0]).higher_is_better)


def ensemble_minus(
    first: EnsembleSpec,
    second: EnsembleSpec,
    scores: dict[str, np.ndarray],
    orient: dict[str, bool],
    acc: dict[str, np.ndarray],
    n_bootstrap: int,
    seed: int,
) -> list[str]:
    """Markdown lines: Spearman rho of ``first`` minus ``second``'s, paired bootstrap."""
    as_proxy = {**scores, second.label: second.combine(scores, higher_is_better=orient)}
    paired = leaderboard(
        as_proxy,
        {**orient, second.label: True},
        acc,
        baseline=second.label,
        ensembles=[first],
        n_bootstrap=n_bootstrap,
        seed=seed,
    )
    row = next(r for r in paired if r.label == first.label)
    return [
        "",
        f"### `{first.label}` minus `{second.label}` (Δρ, paired bootstrap)",
        "",
        "| " + " | ".join(f"Δρ {d}" for d in EVAL_DATASETS) + " |",
        "|---|---|---|",
        "| "
        + " | ".join(
            f"{ci.value:+.3f} [{ci.low:+.3f}, {ci.high:+.3f}]"
            for ci in (row.delta_rho[d] for d in EVAL_DATASETS)
        )
        + " |",
    ]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scores", type=Path, nargs="+", required=True)
    p.add_argument("--benchmark", type=Path, required=True)
    p.add_argument("--pool-size", type=int, default=1000)
    p.add_argument("--max-members", type=int, default=5)
    p.add_argument("--candidates", default=None, help="comma-separated labels (default: all)")
    p.add_argument("--exclude", default="", help="comma-separated labels left out")
    p.add_argument("--baseline", default="naswot")
    p.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="NAME|METHOD:A+B",
        help="named or published ensembles to measure on the report pool beside the winner",
    )
    p.add_argument(
        "--report-subset",
        type=Path,
        default=None,
        help="a file of archs: measure the report pool on these of its cells only (for "
        "--compare members scored on a subset)",
    )
    p.add_argument(
        "--selection-archs",
        type=Path,
        default=None,
        help="a file of archs: the selection pool; the report pool is every other cell",
    )
    p.add_argument("--objective", choices=("spearman", "search"), default="spearman")
    p.add_argument("--search-n", type=int, default=100, help="N of the search objective")
    p.add_argument("--search-runs", type=int, default=1000, help="simulated searches per candidate")
    p.add_argument("--n-bootstrap", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1, help="bootstrap and search-draw seed")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()

    cells, scores = read_scores(args.scores)
    space = NasBench201Space()
    if args.selection_archs is not None:
        chosen_keys = {space.key(space.parse(a)) for a in args.selection_archs.read_text().split()}
        in_selection = {k: space.key(space.parse(k)) in chosen_keys for k in cells}
        selection = [k for k in cells if in_selection[k]]
        report = [k for k in cells if not in_selection[k]]
        if len(selection) != len(chosen_keys):
            sys.exit(f"{len(chosen_keys) - len(selection)} selection cells are not in the files")
    else:
        n = args.pool_size
        if len(cells) < 2 * n:
            sys.exit(f"need {2 * n} cells for two pools of {n}; the files hold {len(cells)}")
        selection, report = cells[:n], cells[n : 2 * n]
    if set(selection) & set(report):
        sys.exit("the pools share cells")
    pools = [*selection, *report]
    complete = [c for c in sorted(scores) if all(k in scores[c] for k in pools)]
    wanted = args.candidates.split(",") if args.candidates else complete
    excluded = set(filter(None, args.exclude.split(",")))
    candidates = [c for c in wanted if c not in excluded]
    incomplete = [c for c in candidates if c not in complete]
    if incomplete:
        sys.exit(f"candidates without a score for every cell: {', '.join(incomplete)}")
    if args.report_subset is not None:
        subset = set(args.report_subset.read_text().split())
        report = [k for k in report if k in subset]

    table = load_table(args.benchmark, space)
    columns = {d: accuracy_column(d, "test") for d in EVAL_DATASETS}

    def acc(keys: list[str]) -> dict[str, np.ndarray]:
        canon = [space.key(space.parse(k)) for k in keys]
        return {d: np.array([table.rows[k][c] for k in canon]) for d, c in columns.items()}

    def vec(label: str, keys: list[str]) -> np.ndarray:
        return np.array([scores[label][k] for k in keys])

    orient = {c: orientation(c) for c in candidates}
    sel_acc = acc(selection)
    sel_scores = {c: vec(c, selection) for c in candidates}
    objective = {
        "objective": args.objective,
        "search_n": args.search_n,
        "search_runs": args.search_runs,
        "seed": args.seed,
    }
    chosen = select_ensemble(sel_scores, orient, sel_acc, max_members=args.max_members, **objective)
    single = select_ensemble(sel_scores, orient, sel_acc, min_members=1, max_members=1, **objective)
    best_single = single.spec.members[0]

    compare = [resolve_ensemble(s) for s in args.compare]
    specs = [chosen.spec, *[s for s in compare if s.spec != chosen.spec.spec]]
    needed = {m for s in specs for m in s.members} | {args.baseline, best_single}
    labels = [c for c in candidates if c in needed] + sorted(needed - set(candidates))
    uncovered = [c for c in labels if any(k not in scores.get(c, {}) for k in report)]
    if uncovered:
        sys.exit(f"no score on every report cell for: {', '.join(uncovered)} (--report-subset?)")
    rep_scores = {c: vec(c, report) for c in labels}
    rep_orient = {c: orientation(c) for c in labels}
    rep_acc = acc(report)
    common = {
        "ensembles": specs,
        "n_bootstrap": args.n_bootstrap,
        "seed": args.seed,
        "n_search": args.search_n,
    }
    rows = leaderboard(rep_scores, rep_orient, rep_acc, baseline=args.baseline, **common)
    vs_single = leaderboard(rep_scores, rep_orient, rep_acc, baseline=best_single, **common)

    lines = [
        "# An ensemble chosen on one pool, reported on another",
        "",
        f"Score files: {', '.join(str(s) for s in args.scores)}; {len(cells)} cells; "
        + (
            f"selection pool = the {len(selection)} cells of {args.selection_archs}, report "
            f"pool = the other {len(report)}"
            if args.selection_archs is not None
            else f"in draw order; selection pool = cells 1..{len(selection)}, report pool = "
            f"cells {len(selection) + 1}..{len(selection) + len(report)}"
        )
        + " (no cell in common). Accuracies: NB201 test accuracy (CIFAR-10, CIFAR-100, "
        "ImageNet16-120); every score from CIFAR-10 images.",
        "",
        f"Candidates ({len(candidates)}): {', '.join(candidates)}.",
        f"Tried on the selection pool: {chosen.n_tried} ensembles (rank_sum and log_rank, "
        f"2..{args.max_members} members); objective = "
        + (
            "mean Spearman rho over the three datasets."
            if args.objective == "spearman"
            else f"mean test accuracy of the cell a simulated N={args.search_n} search picks "
            f"({args.search_runs:,} runs), over the three datasets."
        ),
        "",
        f"| rank on selection pool | ensemble | {chosen.criterion} (selection) |",
        "|---|---|---|",
        *[f"| {i} | `{label}` | {obj:.4f} |" for i, (label, obj) in enumerate(chosen.ranking, 1)],
        "",
        f"**Chosen:** `{chosen.spec.label}` (selection-pool rho "
        + " / ".join(f"{chosen.spearman[d]:.3f}" for d in EVAL_DATASETS)
        + "; search N="
        + str(args.search_n)
        + " "
        + " / ".join(f"{chosen.search[d]:.2f}" for d in EVAL_DATASETS)
        + f"); best single proxy on the selection pool: `{best_single}`.",
        "",
        "## On the report pool",
        "",
        render_markdown(rows, n_search=args.search_n),
        "",
        f"### Δρ against the best single proxy (`{best_single}`), paired bootstrap",
        "",
        "| row | " + " | ".join(f"Δρ {d}" for d in EVAL_DATASETS) + " |",
        "|---|---|---|---|",
    ]
    for row in vs_single:
        if row.delta_rho:
            cells_ = [
                f"{ci.value:+.3f} [{ci.low:+.3f}, {ci.high:+.3f}]"
                for ci in (row.delta_rho[d] for d in EVAL_DATASETS)
            ]
            lines.append(f"| `{row.label}` | " + " | ".join(cells_) + " |")
    for spec in specs[1:]:  # the chosen ensemble against each compared one, paired
        lines += ensemble_minus(
            chosen.spec, spec, rep_scores, rep_orient, rep_acc, args.n_bootstrap, args.seed
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
