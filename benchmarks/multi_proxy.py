"""The multi-proxy engine against scoring each proxy alone, in one run, on the same cells.

For a seeded set of NAS-Bench-201 cells and one real CIFAR-10 batch of 64 (the leaderboard's
setting), the suite (every registered proxy in its default variant, the other NASWOT variants and
``vkdnw:single``; ``ntk`` left out unless ``--with-ntk``) is scored twice per cell, interleaved
cell by cell so that load on the machine hits both alike:

- proxy by proxy: one job at a time (each builds its network and runs its own passes), as the
  CLI did before the engine;
- engine: :func:`naswot.scoring.run_jobs` with every job (one network per head size, each shared
  pass once).

It prints seconds per cell of both, their ratio, the per-proxy seconds of both, and checks that
every score is bit-identical (the run fails otherwise). NASWOT's default variant uses the fast
scorer in both, as the CLI does.

    python benchmarks/multi_proxy.py [--n-cells 6] [--seed 11] [--data-dir DIR] [--with-ntk]
        [--layout nchw|channels_last]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections import defaultdict
from pathlib import Path

import torch

from naswot._malloc import tune_malloc
from naswot.cli._common import distinct_samples, scoring_jobs
from naswot.cli._proxies import resolve_proxies
from naswot.data import load_batch
from naswot.networks import NETWORKS
from naswot.networks.layout import LAYOUT_CHOICES
from naswot.proxies import Proxy
from naswot.scoring import proxy_label, run_jobs
from naswot.spaces import SPACES
from naswot.testing.shared import shared_data_dir

DATA = shared_data_dir(__file__) / "cifar10-jpeg-yoongikim"


def suite(with_ntk: bool) -> list[Proxy]:
    """The leaderboard's proxies (``--proxy all``) plus ``vkdnw:single``."""
    return [
        p for p in resolve_proxies("all,vkdnw:single", "default") if with_ntk or p.name != "ntk"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-cells", type=int, default=6)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--data-dir", type=Path, default=DATA)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--with-ntk", action="store_true")
    parser.add_argument("--layout", choices=list(LAYOUT_CHOICES), default="auto")
    args = parser.parse_args()
    tune_malloc()
    torch.set_num_threads(args.threads)
    space, builder = SPACES.get("nb201"), NETWORKS.get("nb201")
    batch = load_batch("cifar10", data_dir=args.data_dir, batch_size=64, seed=args.seed)
    options = argparse.Namespace(  # the CLI's defaults
        engine="auto", precision="fp32", layout=args.layout, quiet=True
    )
    jobs = scoring_jobs(
        options,
        space,
        builder,
        suite(args.with_ntk),
        batch,
        seed=args.seed,
        device=torch.device("cpu"),
    )
    keys = distinct_samples(space, args.n_cells, args.seed)
    alone_s: list[float] = []
    engine_s: list[float] = []
    per_alone: dict[str, list[float]] = defaultdict(list)
    per_engine: dict[str, list[float]] = defaultdict(list)
    for i, key in enumerate(keys):
        start = time.perf_counter()
        alone = [job.run([key])[0] for job in jobs]
        alone_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        together = [records[0] for records in run_jobs(jobs, [key])]
        engine_s.append(time.perf_counter() - start)
        for job, a, t in zip(jobs, alone, together, strict=True):
            label = proxy_label(job.proxy)
            same = a.score == t.score or (
                a.score is not None and t.score is not None and math.isnan(a.score * t.score)
            )
            if not same or a.status != t.status:
                raise SystemExit(f"{label} on {key}: alone {a.score!r}, engine {t.score!r}")
            per_alone[label].append(a.seconds or 0.0)
            per_engine[label].append(t.seconds or 0.0)
        print(f"cell {i + 1}/{len(keys)}: alone {alone_s[-1]:.2f} s, engine {engine_s[-1]:.2f} s")
    print()
    print(
        f"{len(jobs)} proxies/variants, {len(keys)} cells, batch 64, {args.threads} thread(s), "
        f"layout {args.layout}"
    )
    print(f"{'proxy':<26} {'alone s':>8} {'engine s':>9}")
    for label in per_alone:
        print(
            f"{label:<26} {statistics.mean(per_alone[label]):8.3f} "
            f"{statistics.mean(per_engine[label]):9.3f}"
        )
    a, e = statistics.mean(alone_s), statistics.mean(engine_s)
    print(f"\nproxy by proxy: {a:.2f} s/cell; engine: {e:.2f} s/cell; ratio {a / e:.2f}x")
    print("every score bit-identical: yes")


if __name__ == "__main__":
    main()
