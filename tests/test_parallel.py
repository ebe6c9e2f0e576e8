import importlib.util
import re
import signal
from pathlib import Path

import numpy as np
import pytest
import torch

from naswot.data import Batch
from naswot.exceptions import InvalidParameterError
from naswot.fast import FastNB201
from naswot.networks import build_nb201
from naswot.parallel import ScoringJob, score_parallel
from naswot.proxies import Naswot
from naswot.scoring import score_architectures
from naswot.spaces import NasBench201Space
from naswot.store import ResultStore

SPACE = NasBench201Space()
BATCH = Batch(
    torch.randn(8, 3, 16, 16, generator=torch.Generator().manual_seed(0)),
    dataset="noise",
    source="test noise",
)
JOB = ScoringJob(
    space=SPACE, builder=build_nb201, proxy=Naswot(), batch=BATCH, seed=1, fast=FastNB201()
)
KEYS = [SPACE.key(SPACE.sample(np.random.default_rng(i))) for i in range(10)]


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def serial(store: ResultStore | None = None):
    return score_architectures(
        KEYS,
        space=SPACE,
        builder=build_nb201,
        proxy=Naswot(),
        batch=BATCH,
        seed=1,
        store=store,
        fast=FastNB201(),
    )


def rows(path: Path) -> list[tuple]:
    with ResultStore(path) as store:
        return sorted((r.key.values(), r.score, r.status, r.n_units) for r in store.rows())


def test_local_workers_equal_serial(tmp_path: Path, one_thread: None) -> None:
    with ResultStore(tmp_path / "serial.sqlite") as store:
        expected = serial(store)
    with ResultStore(tmp_path / "parallel.sqlite") as store:
        got = score_parallel(KEYS, JOB, workers=2, threads=1, store=store, chunk_size=3)
    assert [r.arch for r in got] == KEYS
    assert [r.score for r in got] == [r.score for r in expected]
    assert rows(tmp_path / "serial.sqlite") == rows(tmp_path / "parallel.sqlite")
    with ResultStore(tmp_path / "parallel.sqlite") as store:  # a rerun is all cache hits
        again = score_parallel(KEYS, JOB, workers=2, threads=1, store=store)
    assert all(r.cached for r in again)


def test_bad_parameters() -> None:
    with pytest.raises(InvalidParameterError, match="workers"):
        score_parallel(KEYS, JOB, workers=0)
    with pytest.raises(InvalidParameterError, match="backend"):
        score_parallel(KEYS, JOB, workers=1, backend="dask")  # type: ignore[arg-type]


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed")
def test_ray_backend_equals_serial(tmp_path: Path, one_thread: None) -> None:
    with ResultStore(tmp_path / "serial.sqlite") as store:
        serial(store)
    with ResultStore(tmp_path / "ray.sqlite") as store:
        got = score_parallel(
            KEYS[:6], JOB, workers=2, threads=1, backend="ray", store=store, chunk_size=2
        )
        assert [r.arch for r in got] == KEYS[:6]
        # a rerun after a "lost" chunk: remove one row, only it is recomputed
        store._db.execute("DELETE FROM scores WHERE arch = ?", (KEYS[0],))
        again = score_parallel(KEYS, JOB, workers=2, threads=1, backend="ray", store=store)
        assert [r.cached for r in again] == [False] + [True] * 5 + [False] * 4
    assert rows(tmp_path / "serial.sqlite") == rows(tmp_path / "ray.sqlite")


def test_a_dying_worker_is_named_and_what_finished_is_kept(
    tmp_path: Path, one_thread: None
) -> None:
    from naswot.exceptions import WorkerDied
    from naswot.testing.faults import KillingBuilder

    keys = KEYS[:4]
    module = ScoringJob(space=SPACE, builder=build_nb201, proxy=Naswot(), batch=BATCH, seed=1)
    dying = ScoringJob(
        space=SPACE,
        builder=KillingBuilder(build_nb201, SPACE, victim=keys[2]),
        proxy=Naswot(),
        batch=BATCH,
        seed=1,
    )
    assert dying.key(keys[0]) == module.key(keys[0])  # the same computation, the same rows
    with ResultStore(tmp_path / "s.sqlite") as store:
        with pytest.raises(WorkerDied) as e:
            score_parallel(keys, dying, workers=2, threads=1, store=store, chunk_size=1)
        message = str(e.value)
        assert "\n" not in message
        assert re.fullmatch(
            r"scoring worker process \d+ was killed by SIGKILL \(out of memory, or killed\); "
            r"(\d) of 4 architectures are scored, what finished is in the store: run the same "
            r"command again to resume\.",
            message,
        ), message
        kept = len(store)
        assert kept == int(re.findall(r"(\d) of 4", message)[0]) and kept < 4
        again = module.run(keys, store=store)  # the rerun completes the job
        assert sum(r.cached for r in again) == kept and len(store) == 4


def test_stop_ends_the_workers_cleanly(tmp_path: Path, one_thread: None) -> None:
    from naswot.exceptions import Interrupted

    module = ScoringJob(space=SPACE, builder=build_nb201, proxy=Naswot(), batch=BATCH, seed=1)
    with ResultStore(tmp_path / "s.sqlite") as store:
        with pytest.raises(Interrupted) as e:  # as on SIGINT/SIGTERM once a row is written
            score_parallel(
                KEYS, module, workers=2, threads=1, store=store, stop=lambda: len(store) > 0
            )
        assert 0 < e.value.done == len(store) < len(KEYS) and e.value.total == len(KEYS)


def test_score_pool_scores_every_job_and_ensemble_in_one_call(tmp_path: Path) -> None:
    from naswot.ensembles import EnsembleSpec
    from naswot.parallel import score_pool
    from naswot.proxies import Params
    from naswot.scoring import ensemble_records

    keys = KEYS[:4]
    jobs = [
        ScoringJob(space=SPACE, builder=build_nb201, proxy=p, batch=BATCH, seed=1)
        for p in (Naswot(), Params())
    ]
    spec = EnsembleSpec.parse("rank_sum:naswot+params")
    seen: list[str] = []
    with ResultStore(tmp_path / "s.sqlite") as store:
        pool = score_pool(
            keys, jobs, ensembles=[spec], store=store, on_record=lambda r: seen.append(r.proxy)
        )
        assert list(pool) == ["naswot", "params", spec.label]
        alone = {
            label: job.run(keys) for label, job in zip(["naswot", "params"], jobs, strict=True)
        }
        for label, records in alone.items():
            assert [r.score for r in pool[label]] == [r.score for r in records]
        assert pool[spec.label] == ensemble_records(spec, pool)
        # Architecture by architecture (the engine scores every proxy of one cell together).
        assert seen == ["naswot", "params"] * 4 and len(store) == 8


def test_a_dead_workers_status_is_waited_for_when_another_thread_reaps_it() -> None:
    # The pool's manager thread may reap a dead worker first: its exitcode then reads None for a
    # moment. Naming the SIGTERM'd survivor instead would blame the wrong process.
    from naswot.parallel import _dead_workers

    class Reaped:
        def __init__(self, code: int, reads_before: int) -> None:
            self.code, self.reads = code, reads_before

        def join(self, timeout: float | None = None) -> None:
            pass

        @property
        def exitcode(self) -> int | None:
            self.reads -= 1
            return None if self.reads >= 0 else self.code

    message = _dead_workers({11: Reaped(-signal.SIGTERM, 0), 12: Reaped(-signal.SIGKILL, 3)})
    assert message == "scoring worker process 12 was killed by SIGKILL (out of memory, or killed)"
