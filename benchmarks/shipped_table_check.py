"""Does the exact fast mode reproduce the shipped NB201 score table? A seeded sample of its rows.

The table (``src/naswot/evaluation/_tables``) was made by ``naswot score --space nb201 --all
--seed 1 --batch-size 128 --threads 1`` on CIFAR-10. This rescores a sample of its cells the same
way (``naswot.scoring.score_one`` with the fast scorer, 1 thread) and counts cells whose score
differs at all, and by more than 1e-3. ``--kernels`` picks the fast scorer's elementwise passes
(``auto``: the fused C kernels where they compile).

With ``--scores FILE`` it rescores nothing: it compares every row of a score file written by
``naswot score ... --out FILE`` (e.g. the whole space, rescored) with the table.

    python benchmarks/shipped_table_check.py [--n-cells 200] [--precision fp32] [--kernels auto]
    python benchmarks/shipped_table_check.py --scores nb201_scores.csv
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from naswot._malloc import tune_malloc
from naswot.data import load_batch
from naswot.evaluation.scores import shipped_scores_path
from naswot.fast import FastNB201
from naswot.networks import build_nb201
from naswot.proxies import Naswot
from naswot.scoring import score_one
from naswot.spaces import NasBench201Space
from naswot.testing.shared import shared_data_dir

DATA = shared_data_dir(__file__) / "cifar10-jpeg-yoongikim"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-cells", type=int, default=200)
    parser.add_argument("--sample-seed", type=int, default=0)
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--kernels", default="auto", choices=["auto", "fused", "eager"])
    parser.add_argument("--scores", type=Path, default=None, help="compare this score file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    tune_malloc()
    path = shipped_scores_path()
    meta = json.loads(Path(str(path).replace(".csv.gz", ".csv.meta.json")).read_text())
    with gzip.open(path, "rt") as f:
        rows = list(csv.DictReader(f))
    if args.scores is not None:
        compare_file(args.scores, rows)
        return
    batch = load_batch("cifar10", data_dir=DATA, batch_size=128, seed=meta["batch_seed"])
    if batch.fingerprint != meta["batch_fingerprint"]:
        raise SystemExit(f"batch {batch.fingerprint} is not the table's batch")
    rng = np.random.default_rng(args.sample_seed)
    sample = [rows[i] for i in rng.choice(len(rows), size=args.n_cells, replace=False)]
    space = NasBench201Space()
    fast = FastNB201(meta["variant"], precision=args.precision, kernels=args.kernels)
    tally = Tally()
    for row in sample:
        result, _ = score_one(
            space.parse(row["arch"]),
            space=space,
            builder=build_nb201,
            proxy=Naswot(meta["variant"]),
            batch=batch,
            seed=meta["seed"],
            device=torch.device("cpu"),
            fast=fast,
        )
        score = -math.inf if result.score is None else result.score
        tally.add(score, float(row["score"]), result.status.value == row["status"])
    print(
        f"{args.n_cells} cells of {len(rows)} (sample seed {args.sample_seed}), precision "
        f"{args.precision}, kernels {args.kernels} ({'fused' if fast.fused else 'eager'}): "
        f"{tally}"
    )


def compare_file(path: Path, shipped_rows: list[dict[str, str]]) -> None:
    """Counts the rows of a score file that differ from the shipped table (by arch)."""
    shipped = {r["arch"]: r for r in shipped_rows}
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    missing = [r["arch"] for r in rows if r["arch"] not in shipped]
    if missing:
        raise SystemExit(f"{len(missing)} architectures of {path} are not in the table")
    tally = Tally()
    for row in rows:
        ref = shipped[row["arch"]]
        score = -math.inf if row["score"] in ("", "-inf") else float(row["score"])
        tally.add(score, float(ref["score"]), row["status"] == ref["status"])
    print(f"{path}: {len(rows)} cells of {len(shipped)}: {tally}")


@dataclass
class Tally:
    """Cells whose score differs from the table's at all, by more than 1e-3, and in status."""

    differ: int = 0
    over: int = 0
    status_differ: int = 0
    worst: float = 0.0

    def add(self, score: float, shipped: float, same_status: bool) -> None:
        """Counts one cell (``-inf`` for singular scores)."""
        self.status_differ += not same_status
        if math.isfinite(shipped) and math.isfinite(score):
            d = abs(score - shipped)
            self.worst = max(self.worst, d)
            self.differ += d > 0
            self.over += d > 1e-3
        else:
            self.differ += score != shipped
            self.over += score != shipped

    def __str__(self) -> str:
        return (
            f"{self.differ} differ at all, {self.over} by more than 1e-3, max |diff| "
            f"{self.worst:.2e}, statuses differing {self.status_differ}"
        )


if __name__ == "__main__":
    main()
