"""A CUDA out-of-memory error on one architecture is recorded with advice; the job goes on."""

from pathlib import Path

import numpy as np
import torch
from torch import nn

from naswot.data import load_batch
from naswot.networks import build_nb201
from naswot.proxies import Naswot, ScoreResult
from naswot.scoring import score_architectures
from naswot.spaces import NasBench201Space
from naswot.store import ResultStore

SPACE = NasBench201Space()
BATCH = load_batch("cifar10", batch_size=8, seed=1)
KEYS = list(dict.fromkeys(SPACE.key(SPACE.sample(np.random.default_rng(i))) for i in range(4)))


class OomOnSecond:
    """NASWOT, except that the second network scored runs out of CUDA memory."""

    name, variant, higher_is_better = "naswot", "default", True

    def __init__(self) -> None:
        self.calls = 0
        self.inner = Naswot()

    def __call__(self, model: nn.Module, batch: object, /) -> ScoreResult:
        self.calls += 1
        if self.calls == 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.inner(model, batch)  # type: ignore[arg-type]


def test_oom_is_an_error_with_a_batch_size_hint_and_the_rest_is_scored(tmp_path: Path) -> None:
    with ResultStore(tmp_path / "s.sqlite") as store:
        records = score_architectures(
            KEYS,
            space=SPACE,
            builder=build_nb201,
            proxy=OomOnSecond(),  # type: ignore[arg-type]
            batch=BATCH,
            seed=1,
            store=store,
        )
        assert [r.status for r in records] == ["ok", "error", "ok", "ok"]
        assert records[1].score is None
        assert "try --batch-size 4" in (records[1].error or "")
        assert "not comparable" in (records[1].error or "")
        # not retried with a smaller batch: the rerun scores it again at the same batch size
        again = score_architectures(
            KEYS, space=SPACE, builder=build_nb201, proxy=Naswot(), batch=BATCH, seed=1, store=store
        )
        assert [r.cached for r in again] == [True, False, True, True]
        assert all(r.status == "ok" for r in again)
