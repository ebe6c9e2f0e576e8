"""Scoring speed: naswot's fast scorer against a plain reference of the official procedure.

For a fixed, seeded set of NAS-Bench-201 (or, with ``--space nb101``, NAS-Bench-101) cells and one
real CIFAR-10 batch of 128, both scorers run in the same process, interleaved cell by cell, on the
same weights:

- reference: ``naswot.testing.reference`` (build the module; forward, backward of the summed
  output, second forward; each ReLU's kernel from two float32 products moved to NumPy; slogdet);
- fast: ``naswot.fast.FastNB201`` / ``FastNB101`` (exact fp32 mode, and the bf16 mode), each
  with PyTorch's elementwise ops (``eager``) and with the fused C kernels (``fused``, where they
  compile here).

It prints cells/s, the median and spread of seconds per cell, the speed-up, the largest score
difference, peak RSS, and achieved GFLOP/s against a large fp32 (and bf16) matrix multiply's
GFLOP/s measured in the same run (the practical ceiling; NB201 only). The whole-process
comparison (each scorer in its own process) is ``benchmarks/whole_process.py``.

    python benchmarks/scoring_speed.py [--space nb201] [--n-cells 30] [--data-dir DIR] [--threads T]
"""

from __future__ import annotations

import argparse
import math
import resource
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from naswot._malloc import tune_malloc
from naswot._seeding import derive_seed, torch_seeded
from naswot.data import load_batch
from naswot.fast import FAST_SCORERS
from naswot.fast._native import native_kernels
from naswot.networks import NETWORKS
from naswot.proxies import log_abs_det
from naswot.spaces import SPACES, Cell201
from naswot.testing.reference import reference_naswot
from naswot.testing.shared import shared_data_dir

DATA = shared_data_dir(__file__) / "cifar10-jpeg-yoongikim"


def conv_flops(cell: Cell201, batch: int, channels: int = 16, n_cells: int = 5) -> float:
    """Multiply-add FLOPs (x2) of every conv of the full (unpruned) network at 32x32 input."""
    total = 2.0 * batch * 32 * 32 * channels * 3 * 9
    for stage in range(3):
        c, hw = channels * 2**stage, (32 // 2**stage) ** 2
        if stage:
            total += 2.0 * batch * hw * (c * c // 2 * 9 + c * c * 9 + c * c // 2)
        for op in cell.ops:
            k = {"nor_conv_1x1": 1, "nor_conv_3x3": 9}.get(op, 0)
            total += n_cells * 2.0 * batch * hw * c * c * k
    return total


def matmul_gflops(dtype: torch.dtype, n: int = 4096, repeats: int = 3) -> float:
    a = torch.randn(n, n).to(dtype)
    a @ a
    best = math.inf
    for _ in range(repeats):
        t = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def summary(name: str, seconds: list[float]) -> str:
    q = np.quantile(seconds, [0.25, 0.5, 0.75])
    return (
        f"{name:<14} {len(seconds) / sum(seconds):7.2f} cells/s   median {q[1]:.3f} s   "
        f"IQR {q[0]:.3f}-{q[2]:.3f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-cells", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=DATA)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--space", default="nb201", choices=["nb201", "nb101"])
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    tuned = tune_malloc()
    space = SPACES.get(args.space)
    build = NETWORKS.get(args.space)
    factory = FAST_SCORERS.get(args.space)
    batch = load_batch("cifar10", data_dir=args.data_dir, batch_size=128, seed=args.seed)
    x = batch.inputs
    rng = np.random.default_rng(args.seed)
    cells = [space.sample(rng) for _ in range(args.n_cells)]
    status = native_kernels()
    kernels = ["eager", "fused"] if status.kernels is not None else ["eager"]
    if status.kernels is None:
        print(f"fused kernels not available: {status.reason}")
    scorers = {
        f"{k} {p}": factory(precision=p, kernels=k) for p in ("fp32", "bf16") for k in kernels
    }
    times: dict[str, list[float]] = {"reference": [], **{k: [] for k in scorers}}
    scores: dict[str, list[float]] = {k: [] for k in times}
    flops = []
    for i, cell in enumerate([cells[0], *cells]):  # the first cell warms up, then is timed
        seed = derive_seed(args.seed, space.name, space.key(cell))
        t = time.perf_counter()
        with torch_seeded(seed):
            net = build(cell, n_classes=1)
        ref = reference_naswot(net, x)
        t_ref = time.perf_counter() - t
        results = {}
        for name, scorer in scorers.items():
            t = time.perf_counter()
            with torch_seeded(seed):
                weights = scorer.draw_weights(cell)
            with torch.no_grad():
                kernel, n_units, _ = scorer.kernel(cell, x, weights)
            results[name] = (log_abs_det(kernel), time.perf_counter() - t, n_units)
        if i == 0:
            continue
        times["reference"].append(t_ref)
        scores["reference"].append(ref)
        for name, (score, seconds, _) in results.items():
            times[name].append(seconds)
            scores[name].append(score)
        n_units = results["eager fp32"][2]
        if args.space == "nb201":
            flops.append(conv_flops(cell, 128) + 2.0 * 128 * 128 * n_units)
    ceiling32 = matmul_gflops(torch.float32) if flops else math.nan
    ceiling16 = matmul_gflops(torch.bfloat16) if flops else math.nan
    print(
        f"threads: {torch.get_num_threads()}   cells: {args.n_cells}   malloc tuned: {tuned}   "
        f"batch: {batch.source}   space: {args.space}"
    )
    for name, seconds in times.items():
        print(summary(name, seconds))
    work = sum(flops) / 1e9
    ref_total = sum(times["reference"])
    for name in scorers:
        ratio = ref_total / sum(times[name])
        ratio_median = statistics.median(times["reference"]) / statistics.median(times[name])
        finite = [
            (a, b)
            for a, b in zip(scores["reference"], scores[name], strict=True)
            if math.isfinite(a) or math.isfinite(b)
        ]
        diff = max((abs(a - b) for a, b in finite), default=0.0)
        same_inf = all(
            (a == -math.inf) == (b == -math.inf)
            for a, b in zip(scores["reference"], scores[name], strict=True)
        )
        print(
            f"{name}: speed-up {ratio:.2f}x (total), {ratio_median:.2f}x (median); "
            f"max |score - reference| {diff:.2e}; same -inf cells: {same_inf}"
        )
    for precision in ("fp32", "bf16") if "fused fp32" in times else ():
        eager, fused = times[f"eager {precision}"], times[f"fused {precision}"]
        pairs = zip(scores[f"eager {precision}"], scores[f"fused {precision}"], strict=True)
        diff = max(
            (abs(a - b) for a, b in pairs if math.isfinite(a) and math.isfinite(b)), default=0.0
        )
        print(
            f"fused {precision} against eager {precision}: {sum(eager) / sum(fused):.2f}x (total), "
            f"{statistics.median(eager) / statistics.median(fused):.2f}x (median); "
            f"max |score difference| {diff:.2e}"
        )
    for name, seconds in times.items() if flops else ():
        rate = work / sum(seconds)
        ceiling = ceiling16 if "bf16" in name else ceiling32
        kind = "bf16" if "bf16" in name else "fp32"
        print(
            f"{name:<14} {rate:7.1f} GFLOP/s = {100 * rate / ceiling:5.1f}% of a {kind} "
            f"matmul ({ceiling:.0f} GFLOP/s)"
        )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
