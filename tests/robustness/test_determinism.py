"""Determinism: bit-identical for the same thread count; a different one only moves rounding.

Same seed and threads -> bit-identical scores across runs, orders and process splits
(tests/test_scoring.py, tests/test_parallel.py). A different torch thread count changes the
float32 summation order of convolutions, so a pre-activation within rounding of 0 can flip its
code: scores may move by about one flipped bit's worth, statuses and the ranking do not
(measured on 100 cells at batch 128: benchmarks/thread_determinism.py, docs/robustness.md).
"""

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from naswot.data import load_batch
from naswot.fast import FastNB201
from naswot.networks import build_nb201
from naswot.proxies import Naswot
from naswot.scoring import score_architectures
from naswot.spaces import NasBench201Space

SPACE = NasBench201Space()
BATCH = load_batch("cifar10", batch_size=20, seed=1)
KEYS = list(dict.fromkeys(SPACE.key(SPACE.sample(np.random.default_rng(i))) for i in range(12)))


@pytest.fixture
def restore_threads() -> Iterator[None]:
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def scores(threads: int, *, fast: bool) -> list[tuple[str, float | None]]:
    torch.set_num_threads(threads)
    records = score_architectures(
        KEYS,
        space=SPACE,
        builder=build_nb201,
        proxy=Naswot(),
        batch=BATCH,
        seed=1,
        fast=FastNB201() if fast else None,
    )
    return [(r.status, r.score) for r in records]


@pytest.mark.parametrize("fast", [True, False])
def test_thread_count_changes_at_most_rounding(fast: bool, restore_threads: None) -> None:
    one, again, two = scores(1, fast=fast), scores(1, fast=fast), scores(2, fast=fast)
    assert one == again  # same threads: bit-identical
    assert [s for s, _ in one] == [s for s, _ in two]
    a = np.array([v for _, v in one], dtype=float)
    b = np.array([v for _, v in two], dtype=float)
    finite = np.isfinite(a)
    np.testing.assert_array_equal(np.isneginf(a), np.isneginf(b))
    np.testing.assert_allclose(b[finite], a[finite], rtol=1e-5)
    assert list(np.argsort(a[finite])) == list(np.argsort(b[finite]))
