from pathlib import Path

import numpy as np
import torch
from torch import nn

from naswot.data import Batch
from naswot.networks import build_nb201
from naswot.proxies import Naswot
from naswot.scoring import score_architectures
from naswot.spaces import Cell201, NasBench201Space
from naswot.store import ResultStore

SPACE = NasBench201Space()
BATCH = Batch(
    torch.randn(6, 3, 16, 16, generator=torch.Generator().manual_seed(0)),
    dataset="noise",
    source="test noise",
)


def keys(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [SPACE.key(SPACE.sample(rng)) for _ in range(n)]


def run(ks: list[str], store: ResultStore | None = None, seed: int = 1) -> list[float | None]:
    records = score_architectures(
        ks, space=SPACE, builder=build_nb201, proxy=Naswot(), batch=BATCH, seed=seed, store=store
    )
    assert [r.arch for r in records] == ks
    return [r.score for r in records]


def test_scores_do_not_depend_on_order_or_splitting() -> None:
    ks = keys(6)
    whole = run(ks)
    assert run(ks[::-1]) == whole[::-1]
    assert run(ks[:3]) + run(ks[3:]) == whole
    assert run(ks, seed=2) != whole


def test_store_resumes_and_caches(tmp_path: Path) -> None:
    ks = keys(4)
    with ResultStore(tmp_path / "s.sqlite") as store:
        first = run(ks[:2], store)
        records = score_architectures(
            ks, space=SPACE, builder=build_nb201, proxy=Naswot(), batch=BATCH, seed=1, store=store
        )
        assert [r.cached for r in records] == [True, True, False, False]
        assert [r.score for r in records[:2]] == first
        assert len(store) == 4
        assert run(ks) == [r.score for r in records]


def test_duplicates_are_scored_once() -> None:
    k = keys(1)
    records = score_architectures(
        k * 3, space=SPACE, builder=build_nb201, proxy=Naswot(), batch=BATCH, seed=1
    )
    assert [r.cached for r in records] == [False, True, True]
    assert len({r.score for r in records}) == 1


def test_failures_are_recorded_not_zeroed(tmp_path: Path) -> None:
    def broken(arch: Cell201, *, n_classes: int) -> nn.Module:
        raise RuntimeError("out of memory (simulated)")

    with ResultStore(tmp_path / "s.sqlite") as store:
        records = score_architectures(
            keys(2), space=SPACE, builder=broken, proxy=Naswot(), batch=BATCH, seed=1, store=store
        )
        assert all(r.status == "error" and r.score is None for r in records)
        assert "out of memory" in (records[0].error or "")
        # errors are retried on the next run
        assert all(
            r.status == "ok"
            for r in score_architectures(
                keys(2),
                space=SPACE,
                builder=build_nb201,
                proxy=Naswot(),
                batch=BATCH,
                seed=1,
                store=store,
            )
        )


def test_global_rng_is_left_alone() -> None:
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    run(keys(1))
    assert torch.equal(torch.rand(1), expected)


def test_a_bumped_proxy_revision_is_never_served_old_rows(tmp_path: Path) -> None:
    class NaswotRevised(Naswot):
        revision = 2  # as after a change of the arithmetic

    ks = keys(3)
    with ResultStore(tmp_path / "s.sqlite") as store:
        kwargs = {"space": SPACE, "builder": build_nb201, "batch": BATCH, "seed": 1}
        first = score_architectures(ks, proxy=Naswot(), store=store, **kwargs)  # type: ignore[arg-type]
        again = score_architectures(ks, proxy=Naswot(), store=store, **kwargs)  # type: ignore[arg-type]
        revised = score_architectures(ks, proxy=NaswotRevised(), store=store, **kwargs)  # type: ignore[arg-type]
        assert all(r.cached for r in again)
        assert not any(r.cached for r in revised)
        assert [r.score for r in revised] == [r.score for r in first]
        assert len(store) == 6
        assert {r.key.proxy_revision for r in store.rows()} == {1, 2}
