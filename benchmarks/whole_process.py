"""Whole-process scoring speed: each scorer in its own process, interleaved, medians of repeats.

Every measurement is one fresh Python process that imports naswot, loads one real CIFAR-10
batch of 128, and scores the same seeded cells; its wall time (start to exit) and its scoring
time (first cell to last) are recorded. Configurations run in turns (round 1: all of them, then
round 2, ...), so a change of load on a shared machine hits all of them alike; ratios are of
medians over the rounds.

``speed``: the official procedure (``naswot.testing.reference``: build the module, forward,
backward, second forward, float32 products moved to NumPy) against the fast scorer, exact and
bf16, each with the fused C kernels (``exact``, ``bf16``; where they compile) and with PyTorch's
elementwise ops (``exact-eager``, ``bf16-eager``), on NB201 or NB101::

    python benchmarks/whole_process.py speed --space nb201 --n-cells 60 --rounds 3 --threads 1

With ``--cores N`` (N > 1) every configuration uses N cores: the cells are split between N
one-thread processes started together (as ``naswot score --workers N --threads 1`` runs), and
one more configuration, ``reference-threads``, is the official procedure as its script runs, one
process with N PyTorch threads; ratios are printed against both::

    python benchmarks/whole_process.py speed --space nb201 --n-cells 60 --rounds 3 --cores 2

``threads``: the fast scorer with 1 thread, 2 threads, 2 threads with ``OMP_WAIT_POLICY=passive``
and two 1-thread processes splitting the cells; alone and beside a competing CPU-bound process
(a 1-thread matmul loop started by this script)::

    python benchmarks/whole_process.py threads --n-cells 40 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from naswot.testing.shared import shared_data_dir

DATA = shared_data_dir(__file__) / "cifar10-jpeg-yoongikim"
COMPETITOR = (
    "import torch\ntorch.set_num_threads(1)\na = torch.randn(1024, 1024)\nwhile True:\n    a @ a\n"
)


def child(args: argparse.Namespace) -> None:
    """Scores the cells in this process and prints a JSON line with the timings."""
    import numpy as np
    import torch

    from naswot._malloc import tune_malloc
    from naswot._seeding import derive_seed, torch_seeded
    from naswot.data import load_batch
    from naswot.fast import FAST_SCORERS
    from naswot.networks import NETWORKS
    from naswot.proxies import log_abs_det
    from naswot.spaces import SPACES
    from naswot.testing.reference import reference_naswot

    torch.set_num_threads(args.threads)
    tune_malloc()
    space = SPACES.get(args.space)
    x = load_batch("cifar10", data_dir=args.data_dir, batch_size=128, seed=args.seed).inputs
    rng = np.random.default_rng(args.seed)
    cells = [space.sample(rng) for _ in range(args.n_cells)][args.part :: args.parts]
    fast = None
    if args.mode != "reference":
        precision = "bf16" if args.mode == "bf16" else "fp32"
        fast = FAST_SCORERS.get(args.space)(precision=precision, kernels=args.kernels)
    start = time.perf_counter()
    scores = []
    for cell in cells:
        seed = derive_seed(args.seed, space.name, space.key(cell))
        if fast is None:
            with torch_seeded(seed):
                net = NETWORKS.get(args.space)(cell, n_classes=1)
            scores.append(reference_naswot(net, x))
            continue
        with torch_seeded(seed):
            weights = fast.draw_weights(cell)
        with torch.no_grad():
            scores.append(log_abs_det(fast.kernel(cell, x, weights)[0]))
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "cells": len(cells), "scores": scores}))


def run(args: argparse.Namespace, mode: str, threads: int, env: dict[str, str], parts: int = 1):
    """Runs ``parts`` child processes at once; returns (wall s, max scoring s, scores).

    ``mode``: ``reference``, ``exact`` or ``bf16`` (kernels ``auto``), or those with ``-eager``.
    """
    mode, _, kernels = mode.partition("-")
    base = [sys.executable, __file__, "child", "--mode", mode, "--space", args.space]
    base += ["--kernels", kernels or "auto"]
    base += ["--n-cells", str(args.n_cells), "--seed", str(args.seed), "--threads", str(threads)]
    base += ["--data-dir", str(args.data_dir), "--parts", str(parts)]
    full_env = {**os.environ, "OMP_NUM_THREADS": str(threads), **env}
    start = time.perf_counter()
    procs = [
        subprocess.Popen([*base, "--part", str(p)], env=full_env, stdout=subprocess.PIPE, text=True)
        for p in range(parts)
    ]
    outs = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    wall = time.perf_counter() - start
    scores = [0.0] * sum(len(o["scores"]) for o in outs)
    for part, out in enumerate(outs):  # part p scored cells p, p + parts, ...: the cells' order
        scores[part::parts] = out["scores"]
    return wall, max(o["seconds"] for o in outs), scores


def speed(args: argparse.Namespace) -> None:
    modes = ["reference", "exact-eager", "exact", "bf16-eager", "bf16"]
    if args.cores > 1:
        modes.insert(1, "reference-threads")
    walls: dict[str, list[float]] = {m: [] for m in modes}
    scoring: dict[str, list[float]] = {m: [] for m in modes}
    scores: dict[str, list[float]] = {}
    for r in range(args.rounds):
        for mode in modes if r % 2 == 0 else modes[::-1]:
            if mode == "reference-threads":  # one process, all the cores as PyTorch threads
                wall, sec, s = run(args, "reference", args.cores, {})
            else:
                wall, sec, s = run(args, mode, args.threads, {}, parts=args.cores)
            walls[mode].append(wall)
            scoring[mode].append(sec)
            scores[mode] = s
            print(f"round {r + 1} {mode:<17} wall {wall:7.1f} s  scoring {sec:7.1f} s", flush=True)
    layout = f"{args.cores} process(es) x {args.threads} thread(s)"
    print(f"\n{args.space}, {args.n_cells} cells, {layout}, {args.rounds} rounds")
    against = ["reference", *(["reference-threads"] if args.cores > 1 else [])]
    refs = {m: (statistics.median(walls[m]), statistics.median(scoring[m])) for m in against}
    for mode in modes:
        w, s = statistics.median(walls[mode]), statistics.median(scoring[mode])
        ratios = "; ".join(
            f"vs {m}: {rw / w:5.2f}x wall, {rs / s:5.2f}x scoring" for m, (rw, rs) in refs.items()
        )
        print(
            f"{mode:<17} wall {w:7.1f} s  scoring {s:7.1f} s  {args.n_cells / s:6.2f} cells/s  "
            f"({ratios})"
        )
    ref = scores["reference"]
    for mode in modes[1:]:
        pairs = [(a, b) for a, b in zip(ref, scores[mode], strict=True) if abs(a) != float("inf")]
        worst = max((abs(a - b) for a, b in pairs), default=0.0)
        same_inf = sum(a == -float("inf") for a in ref) == sum(
            b == -float("inf") for b in scores[mode]
        )
        print(f"{mode}: max |score - reference| {worst:.2e}; same number of -inf: {same_inf}")


def threads(args: argparse.Namespace) -> None:
    configs = {
        "1 thread": (1, {}, 1),
        "2 threads": (2, {}, 1),
        "2 threads, OMP_WAIT_POLICY=passive": (2, {"OMP_WAIT_POLICY": "passive"}, 1),
        "2 processes x 1 thread": (1, {}, 2),
    }
    results: dict[tuple[str, bool], list[float]] = {}
    for r in range(args.rounds):
        for beside in (False, True):
            competitor = None
            if beside:
                env = {**os.environ, "OMP_NUM_THREADS": "1"}
                competitor = subprocess.Popen([sys.executable, "-c", COMPETITOR], env=env)
                time.sleep(1.0)
            try:
                for name, (t, env_extra, parts) in configs.items():
                    _, sec, _ = run(args, "exact", t, env_extra, parts)
                    results.setdefault((name, beside), []).append(sec)
                    where = "beside a CPU-bound job" if beside else "alone"
                    print(f"round {r + 1} {name:<36} {where:<24} {sec:6.1f} s", flush=True)
            finally:
                if competitor is not None:
                    competitor.kill()
                    competitor.wait()
    print(f"\n{args.space} exact, {args.n_cells} cells, {args.rounds} rounds: median scoring s")
    for beside in (False, True):
        base = statistics.median(results[("1 thread", beside)])
        for name in configs:
            s = statistics.median(results[(name, beside)])
            where = "beside a CPU-bound job" if beside else "alone"
            print(f"{where:<24} {name:<36} {s:6.1f} s   {base / s:4.2f}x of 1 thread")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["speed", "threads", "child"])
    parser.add_argument("--space", default="nb201", choices=["nb201", "nb101"])
    parser.add_argument("--n-cells", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cores", type=int, default=1, help="speed: processes per configuration")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=DATA)
    parser.add_argument("--mode", default="exact", choices=["reference", "exact", "bf16"])
    parser.add_argument("--kernels", default="auto", choices=["auto", "fused", "eager"])
    parser.add_argument("--part", type=int, default=0)
    parser.add_argument("--parts", type=int, default=1)
    args = parser.parse_args()
    {"speed": speed, "threads": threads, "child": child}[args.command](args)


if __name__ == "__main__":
    main()
