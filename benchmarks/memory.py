"""Memory while scoring many NB201 cells in one process: resident set size at checkpoints.

Shows whether memory grows with the number of cells scored (it should not: nothing per cell is
kept but its score). Uses the fast exact scorer on one real CIFAR-10 batch of 128.

    python benchmarks/memory.py [--n-cells 2000] [--every 250]
"""

from __future__ import annotations

import argparse
import os
import resource
import time

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


def rss_mib() -> float:
    """Current resident set size (from /proc), MiB."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-cells", type=int, default=2000)
    parser.add_argument("--every", type=int, default=250)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--default-malloc", action="store_true", help="leave glibc's allocator settings alone"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if not args.default_malloc:
        tune_malloc()
    space = NasBench201Space()
    batch = load_batch("cifar10", data_dir=DATA, batch_size=128, seed=1)
    everything = [space.key(a) for a in space]
    rng = np.random.default_rng(0)
    keys = [everything[int(i)] for i in rng.choice(len(everything), args.n_cells, replace=False)]
    start = time.perf_counter()
    print(f"{'cells':>6} {'RSS MiB':>8} {'peak MiB':>9} {'s/cell':>7}")
    for done in range(0, len(keys), args.every):
        chunk = keys[done : done + args.every]
        t = time.perf_counter()
        score_architectures(
            chunk,
            space=space,
            builder=build_nb201,
            proxy=Naswot(),
            batch=batch,
            seed=1,
            fast=FastNB201(),
        )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"{done + len(chunk):>6} {rss_mib():>8.0f} {peak:>9.0f} "
            f"{(time.perf_counter() - t) / len(chunk):>7.3f}"
        )
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
