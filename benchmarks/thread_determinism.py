"""What a different torch thread count changes in NASWOT scores (the same seed, batch and cells).

Scores the same cells with 1 and with T threads in one process, on the fast engine and on the
module engine, and prints how many scores are bit-identical, the largest differences, whether any
status changed, and how many pairs of cells swap order (the ranking is what search uses).
Same-thread-count reruns are bit-identical (tests/test_parallel.py, docs/robustness.md).

    python benchmarks/thread_determinism.py [--n-cells 100] [--threads 2] [--batch-size 128]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from naswot._malloc import tune_malloc
from naswot.data import load_batch
from naswot.fast import FastNB201
from naswot.networks import build_nb201
from naswot.proxies import Naswot
from naswot.scoring import score_architectures
from naswot.spaces import NasBench201Space
from naswot.testing.shared import shared_data_dir

DATA = shared_data_dir(__file__) / "cifar10-jpeg-yoongikim"


def scores(keys: list[str], batch: object, *, fast: bool, threads: int) -> list[tuple[str, float]]:
    """(status, score) per cell with ``threads`` torch threads."""
    torch.set_num_threads(threads)
    records = score_architectures(
        keys,
        space=NasBench201Space(),
        builder=build_nb201,
        proxy=Naswot(),
        batch=batch,  # type: ignore[arg-type]
        seed=1,
        fast=FastNB201() if fast else None,
    )
    return [(r.status, r.score if r.score is not None else float("nan")) for r in records]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-cells", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    tune_malloc()
    space = NasBench201Space()
    data = DATA if DATA.is_dir() else None
    batch = load_batch("cifar10", data_dir=data, batch_size=args.batch_size, seed=1)
    rng = np.random.default_rng(0)
    keys = list(dict.fromkeys(space.key(space.sample(rng)) for _ in range(args.n_cells)))
    print(f"{len(keys)} cells, batch {batch.size} ({batch.source})")
    for fast in (True, False):
        one = scores(keys, batch, fast=fast, threads=1)
        many = scores(keys, batch, fast=fast, threads=args.threads)
        a = np.array([s for _, s in one])
        b = np.array([s for _, s in many])
        finite = np.isfinite(a) & np.isfinite(b)
        same = int(np.sum((a == b) | (np.isneginf(a) & np.isneginf(b))))
        statuses = sum(x[0] != y[0] for x, y in zip(one, many, strict=True))
        d = np.abs(a[finite] - b[finite])
        sa, sb = np.sign(a[:, None] - a[None, :]), np.sign(b[:, None] - b[None, :])
        flips = int(np.sum(np.triu(sa * sb < 0, 1)))
        print(
            f"{'fast' if fast else 'module'} engine, 1 vs {args.threads} threads: "
            f"{same}/{len(keys)} bit-identical, {statuses} status changes, max |d| "
            f"{d.max():.3g}, max relative {np.max(d / np.abs(a[finite])):.3g}, "
            f"{flips} of {len(keys) * (len(keys) - 1) // 2} pairs swap order"
        )


if __name__ == "__main__":
    main()
