"""Small, made-up but realistically shaped test inputs: an NB201 benchmark, scores, a genotype."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from naswot.evaluation.targets import DATASET_COLUMNS
from naswot.spaces import NasBench201Space
from naswot.spaces.nds import Genotype

__all__ = ["tiny_genotype", "write_toy_benchmark"]


def tiny_genotype(
    op: str = "sep_conv_3x3", inputs: tuple[int, ...] = (0, 1, 0, 1, 2, 3, 4, 2)
) -> Genotype:
    """A DARTS-style genotype with ``op`` on every edge.

    Four nodes fed by ``inputs`` (two each), all four concatenated, the same cell for normal and
    reduction.
    """
    pairs = tuple((op, i) for i in inputs)
    return Genotype(pairs, (2, 3, 4, 5), pairs, (2, 3, 4, 5))


def write_toy_benchmark(
    folder: Path, *, n: int = 200, seed: int = 0
) -> tuple[Path, Path, list[str]]:
    """Writes a toy benchmark and a score file for it.

    ``bench.csv`` holds n distinct NB201 cells with all six accuracy columns; ``scores.csv``
    scores correlated with accuracy (cell 0 failed, cells 1-3 singular).

    Returns:
        The benchmark path, the score path and the keys in file order.
    """
    space = NasBench201Space()
    rng = np.random.default_rng(seed)
    keys: list[str] = []
    while len(keys) < n:
        k = space.key(space.sample(rng))
        if k not in keys:
            keys.append(k)
    acc = rng.uniform(10, 95, len(keys))
    cols = list(DATASET_COLUMNS.values())
    bench = folder / "bench.csv"
    with bench.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["index", "arch_str", *cols])
        for i, (k, a) in enumerate(zip(keys, acc, strict=True)):
            w.writerow([i, k, *[round(a - j, 4) for j in range(len(cols))]])
    scores = folder / "scores.csv"
    with scores.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["arch", "proxy", "variant", "score", "status", "error"])
        for i, (k, a) in enumerate(zip(keys, acc, strict=True)):
            if i == 0:
                w.writerow([k, "naswot", "default", "", "error", "simulated failure"])
            elif i < 4:
                w.writerow([k, "naswot", "default", repr(-math.inf), "singular", ""])
            else:
                w.writerow(
                    [k, "naswot", "default", repr(float(a * 10 + rng.normal(0, 100))), "ok", ""]
                )
    return bench, scores, keys
