"""The codes' Gram matrix: the fused kernels' popcounts against the int8 matrix product.

Two measurements in one run, one thread, both Grams alternated so that load hits them alike:

- per layer: G = c cᵀ of 128 random 0/1 rows of n codes, for several n (medians of 5), and the
  ratio int8 / popcount (> 1: the popcounts are faster);
- per cell: the fast scorer's ``kernel()`` (fused kernels, batch 128, fp32 and bf16) on seeded
  cells with the popcounts as :meth:`~naswot.fast._native.NativeKernels.gram` picks them
  (with AMX only for the row lengths of ``AMX_POPCOUNT_CODES``) and with the int8 product only;
  the kernels must be identical.

    python benchmarks/gram_probe.py [--space nb201] [--n-cells 30] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from naswot._malloc import tune_malloc
from naswot._seeding import derive_seed, torch_seeded
from naswot.data import load_batch
from naswot.fast import FAST_SCORERS
from naswot.fast._native import NativeKernels, native_kernels
from naswot.proxies._kernel import int8_gram
from naswot.spaces import SPACES
from naswot.testing.shared import shared_data_dir

DATA = shared_data_dir(__file__) / "cifar10-jpeg-yoongikim"
LENGTHS = (100, 1024, 2048, 4096, 8192, 16384, 65536, 131072, 262144)


def per_layer(kernels: NativeKernels) -> None:
    """Prints each row length's seconds for both Grams and their ratio."""
    amx = kernels.amx
    kernels.amx = False  # time the popcounts at every length
    g = torch.Generator().manual_seed(0)
    print(f"{'codes':>8} {'popcount ms':>12} {'int8 ms':>9} {'int8/popcount':>14}")
    for n in LENGTHS:
        codes = (torch.rand(128, n, generator=g) > 0.5).to(torch.uint8)
        popcount = kernels.gram(codes)
        if popcount is None or not torch.equal(popcount, int8_gram(codes)):
            raise SystemExit(f"the two Grams differ at {n} codes")
        reps = max(3, 2_000_000 // n)
        times: dict[str, list[float]] = {"popcount": [], "int8": []}
        for _ in range(5):
            for name, fn in (("popcount", kernels.gram), ("int8", int8_gram)):
                start = time.perf_counter()
                for _ in range(reps):
                    fn(codes)
                times[name].append((time.perf_counter() - start) / reps)
        p, i = statistics.median(times["popcount"]), statistics.median(times["int8"])
        print(f"{n:8d} {p * 1e3:12.3f} {i * 1e3:9.3f} {i / p:13.2f}x")
    kernels.amx = amx


def per_cell(kernels: NativeKernels, space_name: str, n_cells: int, data_dir: Path) -> None:
    """Prints the fast scorer's ms per cell with either Gram, fp32 and bf16."""
    space, factory = SPACES.get(space_name), FAST_SCORERS.get(space_name)
    x = load_batch("cifar10", data_dir=data_dir, batch_size=128, seed=1).inputs
    rng = np.random.default_rng(1)
    cells = [space.sample(rng) for _ in range(n_cells)]
    for precision in ("fp32", "bf16"):
        scorer = factory(precision=precision, kernels="fused")
        times: dict[bool, list[float]] = {True: [], False: []}
        for i, cell in enumerate([cells[0], *cells]):  # the first cell warms up
            with torch_seeded(derive_seed(1, space.name, space.key(cell))):
                weights = scorer.draw_weights(cell)
            got = {}
            for popcount in (False, True) if i % 2 else (True, False):
                kernels.popcount_gram = popcount
                start = time.perf_counter()
                with torch.no_grad():
                    got[popcount] = scorer.kernel(cell, x, weights)[0]
                if i:
                    times[popcount].append(time.perf_counter() - start)
            if not torch.equal(got[True], got[False]):
                raise SystemExit(f"the kernels differ on {space.key(cell)}")
        kernels.popcount_gram = True
        a, b = statistics.mean(times[False]), statistics.mean(times[True])
        print(
            f"{space_name} {precision}: int8 {a * 1e3:.1f} ms/cell, popcount {b * 1e3:.1f} "
            f"ms/cell, {a / b:.2f}x, kernels identical"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="nb201", choices=["nb201", "nb101"])
    parser.add_argument("--n-cells", type=int, default=30)
    parser.add_argument("--data-dir", type=Path, default=DATA)
    args = parser.parse_args()
    tune_malloc()
    torch.set_num_threads(1)
    kernels = native_kernels().kernels
    if kernels is None or not kernels.gram_compiled:
        raise SystemExit("the popcount Gram is not compiled in here (needs AVX-512 VPOPCNTDQ)")
    print(f"AMX: {kernels.amx}")
    per_layer(kernels)
    per_cell(kernels, args.space, args.n_cells, args.data_dir)


if __name__ == "__main__":
    main()
