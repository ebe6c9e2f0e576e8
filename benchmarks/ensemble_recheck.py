"""Named ensembles re-measured on another pool: other cells, other images, other weights.

The held-out result of ``recommended`` (docs/leaderboard.md) comes from one draw: cells, batch
and initialisation all from seed 11. This measures registered (or ``METHOD:a+b``) ensembles on
any score file, e.g. cells disjoint from both pools of that draw scored with another ``--seed``
(so another batch of images and other initial weights), with the leaderboard's statistics, the
paired Δρ of every row against ``--baseline``, and the first ensemble minus each other one::

    naswot score --archs third400.txt --seed 7 --proxy meco,naswot --ensemble recommended \\
        --ensemble az_nas --data-dir ../shared/data/cifar10-jpeg-yoongikim --batch-size 64 \\
        --workers 2 --threads 1 --store S --out third.csv
    python benchmarks/ensemble_recheck.py --scores third.csv \\
        --benchmark ../shared/data/nb201-combined/nb201_combined.csv \\
        --ensemble recommended --ensemble az_nas
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from honest_ensemble import ensemble_minus, orientation, read_scores

from naswot.benchmarks import load_table
from naswot.ensembles import resolve_ensemble
from naswot.evaluation import accuracy_column
from naswot.evaluation.leaderboard import leaderboard, render_markdown
from naswot.evaluation.targets import EVAL_DATASETS
from naswot.spaces import NasBench201Space


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scores", type=Path, nargs="+", required=True)
    p.add_argument("--benchmark", type=Path, required=True)
    p.add_argument("--ensemble", action="append", required=True, metavar="NAME|METHOD:A+B")
    p.add_argument("--baseline", default="naswot")
    p.add_argument("--n-bootstrap", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1, help="bootstrap and search-draw seed")
    args = p.parse_args()

    cells, scores = read_scores(args.scores)
    specs = [resolve_ensemble(s) for s in args.ensemble]
    labels = sorted({m for s in specs for m in s.members} | {args.baseline})
    missing = [c for c in labels if any(k not in scores.get(c, {}) for k in cells)]
    if missing:
        sys.exit(f"no score on every cell for: {', '.join(missing)}")
    space = NasBench201Space()
    table = load_table(args.benchmark, space)
    canon = [space.key(space.parse(k)) for k in cells]
    acc = {
        d: np.array([table.rows[k][accuracy_column(d, "test")] for k in canon])
        for d in EVAL_DATASETS
    }
    vec = {c: np.array([scores[c][k] for k in cells]) for c in labels}
    orient = {c: orientation(c) for c in labels}
    rows = leaderboard(
        vec, orient, acc, ensembles=specs, baseline=args.baseline,
        n_bootstrap=args.n_bootstrap, seed=args.seed,
    )  # fmt: skip
    lines = [
        f"{len(cells)} cells of {', '.join(str(s) for s in args.scores)}; NB201 test accuracy; "
        "every score from the file's (CIFAR-10) images.",
        "",
        render_markdown(rows, n_search=100),
    ]
    for other in specs[1:]:
        lines += ensemble_minus(specs[0], other, vec, orient, acc, args.n_bootstrap, args.seed)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
