"""Memory while scoring many architectures in one process: bounded, and no growth per cell.

The stated bound (docs/robustness.md): a whole-NB201-space job at batch 128 peaks below 600 MiB
per process (measured 476 MiB). Here a smaller job (the bundled batch of 20) checks the property
that makes the bound hold for any number of cells: resident memory does not grow with the number
of cells scored, on the fast engine and on the module engine (networks built and freed).
"""

import json
import subprocess
import sys

import pytest

SCRIPT = r"""
import json, os, sys
import numpy as np
from naswot._malloc import tune_malloc
from naswot.data import load_batch
from naswot.fast import FastNB201
from naswot.networks import build_nb201
from naswot.proxies import Naswot
from naswot.scoring import score_architectures
from naswot.spaces import NasBench201Space

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

tune_malloc()
engine, n, warm = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
space = NasBench201Space()
batch = load_batch("cifar10", batch_size=20, seed=1)
keys = [space.key(space.sample(np.random.default_rng(i))) for i in range(n)]
fast = FastNB201() if engine == "fast" else None
kw = dict(space=space, builder=build_nb201, proxy=Naswot(), batch=batch, seed=1, fast=fast)
score_architectures(keys[:warm], **kw)
after_warmup = rss()
score_architectures(keys[warm:], **kw)
# VmHWM, not ru_maxrss: the latter keeps the parent's peak across fork + exec
with open("/proc/self/status") as f:
    hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
print(json.dumps({"warm": after_warmup, "end": rss(), "peak": hwm}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
@pytest.mark.parametrize(("engine", "n", "warm"), [("fast", 200, 40), ("module", 60, 20)])
def test_memory_does_not_grow_with_cells_scored(engine: str, n: int, warm: int) -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, engine, str(n), str(warm)],
        capture_output=True,
        text=True,
        check=True,
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
    )
    mib = json.loads(out.stdout)
    # after warm-up, scoring 2-5x more cells adds no more than allocator noise
    assert mib["end"] - mib["warm"] < 24, mib
    assert mib["peak"] < 600, mib
