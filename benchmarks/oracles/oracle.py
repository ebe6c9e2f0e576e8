"""Scores seeded NB201 networks with a naswot proxy and with its authors' code, and compares them.

python benchmarks/oracles/oracle.py --proxy fisher --code-dir /tmp/oracles/foresight

The reference code is not a dependency of naswot and is never vendored: put a checkout of the
repository the adapter names (``--list`` shows them) in a folder outside the project and pass it
as ``--code-dir``. Every cell's network is built once by naswot from the leaderboard's seed
(``derive_seed(seed, space, cell)``), deep-copied, and each copy is scored on the same batch, one
by naswot and one by the reference; seeded proxies get the same seed on both sides (the
reference's global generator is seeded with it). Prints Spearman's rho across the cells and the
median relative difference ``|ours - theirs| / |theirs|``, then a markdown table row.
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
import time
from pathlib import Path

import numpy as np
from adapters import ADAPTERS
from scipy import stats

from naswot._seeding import derive_seed, torch_seeded
from naswot.cli._common import distinct_samples
from naswot.cli._proxies import n_classes_for, resolve_proxy
from naswot.data import load_batch
from naswot.exceptions import NaswotError
from naswot.networks.nasbench201 import build_nb201
from naswot.spaces import NasBench201Space
from naswot.testing.shared import shared_data_dir

DATA = shared_data_dir(__file__) / "cifar10-jpeg-yoongikim"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proxy", help="name or name:variant (see --list)")
    parser.add_argument("--code-dir", type=Path, help="folder holding the reference code")
    parser.add_argument("--n-cells", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1, help="cells, weights and batch")
    parser.add_argument("--proxy-seed", type=int, default=0, help="seed of seeded proxies")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--data-dir", type=Path, default=DATA)
    parser.add_argument(
        "--undo-deviation",
        action="store_true",
        help="compare with the reference with naswot's documented deviation undone",
    )
    parser.add_argument("--list", action="store_true", help="list the adapters and exit")
    args = parser.parse_args()
    if args.list or args.proxy is None or args.code_dir is None:
        for name, adapter in ADAPTERS.items():
            print(f"{name:20} {adapter.repo}: {', '.join(adapter.files)}")
        return
    adapter = ADAPTERS[args.proxy]
    if args.undo_deviation and adapter.undo is None:
        parser.error(f"the {args.proxy} adapter has no deviation to undo")
    load = adapter.undo if args.undo_deviation and adapter.undo else adapter.load
    reference = load(args.code_dir.resolve())
    name, _, variant = args.proxy.partition(":")
    proxy = resolve_proxy(name, variant or "default")
    if hasattr(proxy, "seed"):
        proxy.seed = args.proxy_seed
    space = NasBench201Space()
    batch = load_batch(
        "cifar10", data_dir=args.data_dir, batch_size=args.batch_size, seed=args.seed
    )
    n_classes = adapter.n_classes or n_classes_for(proxy, "cifar10")
    ours, theirs = [], []
    start = time.perf_counter()
    for key in distinct_samples(space, args.n_cells, args.seed):
        cell = space.parse(key)
        with torch_seeded(derive_seed(args.seed, space.name, key)):
            model = build_nb201(cell, n_classes=n_classes)
        twin = copy.deepcopy(model)
        try:
            mine = proxy(model, batch).score
        except NaswotError as e:  # a degenerate cell: compare what the reference does with it
            print(f"{key}: naswot {type(e).__name__}: {e}", file=sys.stderr)
            mine = None
        with torch_seeded(args.proxy_seed):
            other = reference(twin, batch, args.proxy_seed)
        ours.append(math.nan if mine is None else mine)
        theirs.append(other)
    a, b = np.array(ours, dtype=float), np.array(theirs, dtype=float)
    both = np.isfinite(a) & np.isfinite(b)
    rho = stats.spearmanr(a[both], b[both]).statistic
    rel = np.abs(a[both] - b[both]) / np.maximum(np.abs(b[both]), np.finfo(float).tiny)
    agree = int((np.isfinite(a) == np.isfinite(b)).sum())
    print(
        f"{args.proxy}: {int(both.sum())} of {len(a)} cells scored by both "
        f"({int((~np.isfinite(a)).sum())} not by naswot, {int((~np.isfinite(b)).sum())} not by "
        f"the reference; both agree on which on {agree}); {time.perf_counter() - start:.0f} s"
    )
    median = float(np.median(rel))
    print(f"Spearman {rho:.4f}; median relative difference {median:.2e} (max {rel.max():.2e})")
    files = ", ".join(f"`{f}`" for f in adapter.files)
    print(f"| `{args.proxy}` | {adapter.repo} {files} | {rho:.3f} | {median:.1e} | |")


if __name__ == "__main__":
    main()
