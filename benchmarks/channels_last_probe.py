"""What channels_last tensors would do to the proxy suite: its speed and its scores, in one run.

``--layout channels_last`` is opt-in; this probe measures what making it the default would do.
On this CPU PyTorch's convolution backward in the default (NCHW) layout is several times slower
than in channels_last (NHWC), and most of the suite's time is backward passes. Every proxy is
left as it is; for each cell the suite is scored by the engine (:func:`naswot.scoring.run_jobs`)
in both layouts, interleaved cell by cell: the default, and ``layout="channels_last"``
(:mod:`naswot.networks.layout`: the network gets its input in channels_last, and the layout
follows through every convolution, BatchNorm, ReLU and pooling). The script prints the suite's
seconds per cell in both layouts, each proxy's seconds, and how far each proxy's scores move
(largest relative difference, and the Spearman correlation of the two layouts' scores).

A layout change is a change of arithmetic (other summation orders, in float32): making it the
default means new revisions of the layout-sensitive proxies and re-running the leaderboard.

    python benchmarks/channels_last_probe.py [--n-cells 8] [--seed 11] [--space nb201]
        [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from multi_proxy import suite  # the same suite as the engine benchmark
from scipy.stats import spearmanr

from naswot._malloc import tune_malloc
from naswot.cli._common import distinct_samples, scoring_jobs
from naswot.data import load_batch
from naswot.networks import NETWORKS
from naswot.networks.layout import LAYOUTS
from naswot.scoring import proxy_label, run_jobs
from naswot.spaces import SPACES
from naswot.testing.shared import shared_data_dir

DATA = shared_data_dir(__file__) / "cifar10-jpeg-yoongikim"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-cells", type=int, default=8)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--data-dir", type=Path, default=DATA)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--space", default="nb201", choices=sorted(SPACES.names()))
    args = parser.parse_args()
    tune_malloc()
    torch.set_num_threads(args.threads)
    space, builder = SPACES.get(args.space), NETWORKS.get(args.space)
    batch = load_batch("cifar10", data_dir=args.data_dir, batch_size=64, seed=args.seed)
    proxies = suite(with_ntk=False)

    layouts = {
        layout: scoring_jobs(
            argparse.Namespace(engine="auto", precision="fp32", layout=layout, quiet=True),
            space,
            builder,
            proxies,
            batch,
            seed=args.seed,
            device=torch.device("cpu"),
        )
        for layout in LAYOUTS
    }
    wall: dict[str, list[float]] = defaultdict(list)
    seconds: dict[tuple[str, str], list[float]] = defaultdict(list)
    scores: dict[tuple[str, str], list[float]] = defaultdict(list)
    keys = distinct_samples(space, args.n_cells, args.seed)
    for i, key in enumerate(keys):
        for layout, js in layouts.items():
            start = time.perf_counter()
            records = [r[0] for r in run_jobs(js, [key])]
            wall[layout].append(time.perf_counter() - start)
            for job, r in zip(js, records, strict=True):
                label = proxy_label(job.proxy)
                seconds[(layout, label)].append(r.seconds or 0.0)
                scores[(layout, label)].append(math.nan if r.score is None else r.score)
        print(
            f"cell {i + 1}/{len(keys)}: nchw {wall['nchw'][-1]:.2f} s, "
            f"channels_last {wall['channels_last'][-1]:.2f} s"
        )
    n = len(proxies)
    print(f"\n{n} proxies/variants, {len(keys)} cells, batch 64, {args.threads} thread(s)")
    print(f"{'proxy':<26} {'nchw s':>8} {'nhwc s':>8} {'max rel diff':>13} {'spearman':>9}")
    for p in proxies:
        label = proxy_label(p)
        a = np.array(scores[("nchw", label)])
        b = np.array(scores[("channels_last", label)])
        both = np.isfinite(a) & np.isfinite(b)
        diff = np.abs(a[both] - b[both]) / np.maximum(np.abs(a[both]), 1e-300)
        rel = float(diff.max()) if both.any() else math.nan
        rho = float(spearmanr(a[both], b[both])[0]) if both.sum() > 2 else math.nan
        failed = f"  (failed: {int((~np.isfinite(a)).sum())} / {int((~np.isfinite(b)).sum())})"
        print(
            f"{label:<26} {statistics.mean(seconds[('nchw', label)]):8.3f} "
            f"{statistics.mean(seconds[('channels_last', label)]):8.3f} {rel:13.2e} {rho:9.5f}"
            + (failed if not both.all() else "")
        )
    a, c = statistics.mean(wall["nchw"]), statistics.mean(wall["channels_last"])
    print(f"\nsuite: nchw {a:.2f} s/cell; channels_last {c:.2f} s/cell; ratio {a / c:.2f}x")


if __name__ == "__main__":
    main()
