"""Scoring on all local cores (processes) or on a Ray cluster, with the same results as serial.

Work is split into chunks of architecture keys. Scores do not depend on the split, because every
network is seeded from ``(seed, space, arch)`` and every chunk sees the same batch; they match a
serial run with the same number of threads per process (a different thread count can flip the
sign of a pre-activation within rounding of zero, see docs/performance.md).

- ``local``: a pool of spawned processes, each with its share of the cores; each worker writes its
  rows into the one SQLite store (WAL, one commit per row), so a killed job loses only the rows
  being computed.
- ``ray``: one task per chunk on a Ray cluster (``address``; a local one when None), GPUs
  requested per task when scoring on CUDA. Finished chunks stream back to the driver, which
  writes them into the store at once; keys already in the store are not sent again, so a rerun
  after a lost worker completes the job.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from tqdm.auto import tqdm

from naswot._malloc import tune_malloc
from naswot._version import __version__
from naswot.data.batch import Batch
from naswot.exceptions import InvalidParameterError, MissingDependencyError
from naswot.fast import FastScorer
from naswot.networks import NetworkBuilder
from naswot.proxies import Proxy
from naswot.scoring import ScoreRecord, engine_name, score_architectures, stored_variant
from naswot.spaces import SearchSpace
from naswot.store import ResultStore, ScoreKey

__all__ = ["BACKENDS", "ScoringJob", "score_chunk", "score_parallel"]

BACKENDS = ("local", "ray")


@dataclass(frozen=True)
class ScoringJob:
    """Everything a worker needs to score keys (picklable: objects, not names)."""

    space: SearchSpace[Any]
    builder: NetworkBuilder
    proxy: Proxy
    batch: Batch
    seed: int
    device: str = "cpu"
    fast: FastScorer | None = None
    n_classes: int = 1

    def run(
        self,
        keys: Sequence[str],
        *,
        store: ResultStore | None = None,
        progress: bool = False,
        on_record: Callable[[ScoreRecord], None] | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> list[ScoreRecord]:
        """Scores ``keys`` in this process with :func:`naswot.scoring.score_architectures`."""
        return score_architectures(
            keys,
            space=self.space,
            builder=self.builder,
            proxy=self.proxy,
            batch=self.batch,
            seed=self.seed,
            store=store,
            device=self.device,
            progress=progress,
            on_record=on_record,
            stop=stop,
            fast=self.fast,
            n_classes=self.n_classes,
        )


def score_chunk(
    job: ScoringJob, keys: Sequence[str], store_path: str | None, threads: int | None
) -> list[ScoreRecord]:
    """Scores one chunk in this process (the worker side of both backends)."""
    if threads:  # a Ray task: its process was not made by _init_worker
        tune_malloc()
        torch.set_num_threads(threads)
    store = ResultStore(store_path) if store_path else None
    try:
        return job.run(keys, store=store)
    finally:
        if store is not None:
            store.close()


def score_parallel(
    keys: Sequence[str],
    job: ScoringJob,
    *,
    workers: int,
    backend: Literal["local", "ray"] = "local",
    store: ResultStore | None = None,
    threads: int | None = None,
    address: str | None = None,
    chunk_size: int | None = None,
    progress: bool = False,
) -> list[ScoreRecord]:
    """Scores ``keys`` in parallel; returns one record per key in input order.

    Args:
        keys: architecture keys of ``job.space``.
        job: what to score and how.
        workers: processes (``local``) or concurrent tasks (``ray``), >= 1.
        backend: ``local`` or ``ray``.
        store: the result store (rows already there are not recomputed).
        threads: torch threads per worker; default 1 (processes, not threads, use more cores:
            two OpenMP threads per process ran 2.5-7x slower than one on a shared machine).
        address: the Ray cluster address (``ray`` only); None starts a local instance.
        chunk_size: keys per task; default: about 4 chunks per worker, at most 64 keys.
        progress: show a progress bar on stderr.
    """
    if backend not in BACKENDS:
        raise InvalidParameterError(
            f"The 'backend' parameter of score_parallel must be one of {BACKENDS}. "
            f"Got {backend!r} instead."
        )
    if not isinstance(workers, int) or workers < 1:
        raise InvalidParameterError(
            f"The 'workers' parameter of score_parallel must be an int >= 1. Got {workers!r} "
            "instead."
        )
    canonical = [job.space.key(job.space.parse(k)) for k in keys]
    done = _from_store(canonical, job, store)
    todo = list(dict.fromkeys(k for k in canonical if k not in done))
    size = chunk_size or max(1, min(64, -(-len(todo) // (4 * workers))))
    chunks = [todo[i : i + size] for i in range(0, len(todo), size)]
    threads = threads or 1  # more per process stall under load (docs/performance.md)
    bar = tqdm(
        total=len(canonical),
        initial=len(canonical) - len(todo),
        unit="arch",
        desc=f"scoring ({job.proxy.name}, {workers} {backend} workers)",
        disable=not progress,
        dynamic_ncols=True,
    )
    try:
        if backend == "local":
            results = _run_local(job, chunks, workers, threads, store)
        else:
            results = _run_ray(job, chunks, workers, threads, address, store)
        for records in results:
            for r in records:
                done[r.arch] = r
            bar.update(len(records))
    finally:
        bar.close()
    return [done[k] for k in canonical]


def _from_store(
    keys: list[str], job: ScoringJob, store: ResultStore | None
) -> dict[str, ScoreRecord]:
    if store is None:
        return {}
    found: dict[str, ScoreRecord] = {}
    variant = stored_variant(job.proxy, job.fast)
    fingerprint = job.batch.fingerprint
    for k in dict.fromkeys(keys):
        row = store.get(
            ScoreKey(
                job.space.name,
                k,
                job.proxy.name,
                variant,
                job.batch.dataset,
                fingerprint,
                job.batch.size,
                job.seed,
            )
        )
        if row is not None and row.status != "error":
            found[k] = ScoreRecord(
                k,
                job.proxy.name,
                variant,
                row.score,
                row.status,
                row.error,
                row.seconds,
                row.n_units,
                cached=True,
            )
    return found


def _init_worker(threads: int) -> None:
    tune_malloc()
    torch.set_num_threads(threads)


def _run_local(
    job: ScoringJob, chunks: list[list[str]], workers: int, threads: int, store: ResultStore | None
) -> Iterator[list[ScoreRecord]]:
    store_path = None if store is None else str(store.path)
    context = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(threads,)
    ) as pool:
        futures = [pool.submit(score_chunk, job, chunk, store_path, None) for chunk in chunks]
        try:
            for future in cf.as_completed(futures):
                yield future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _run_ray(
    job: ScoringJob,
    chunks: list[list[str]],
    workers: int,
    threads: int,
    address: str | None,
    store: ResultStore | None,
) -> Iterator[list[ScoreRecord]]:
    try:
        import ray
    except ImportError:
        raise MissingDependencyError(
            "The ray backend needs Ray: pip install 'naswot[ray]'."
        ) from None
    started_here = not ray.is_initialized()
    if started_here:
        if address is None:
            ray.init(
                num_cpus=max(workers * threads, os.cpu_count() or 1),
                include_dashboard=False,
                log_to_driver=False,
            )
        else:
            ray.init(address=address, log_to_driver=False)
    try:
        gpus = 1 if torch.device(job.device).type == "cuda" else 0
        remote = ray.remote(num_cpus=threads, num_gpus=gpus, max_retries=2)(score_chunk)
        job_ref = ray.put(job)
        pending = [remote.remote(job_ref, chunk, None, threads) for chunk in chunks]
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            records: list[ScoreRecord] = ray.get(ready[0])
            if store is not None:
                _write(store, job, records)
            yield records
    finally:
        if started_here:
            ray.shutdown()


def _write(store: ResultStore, job: ScoringJob, records: list[ScoreRecord]) -> None:
    variant = stored_variant(job.proxy, job.fast)
    fingerprint = job.batch.fingerprint
    for r in records:
        store.put(
            ScoreKey(
                job.space.name,
                r.arch,
                job.proxy.name,
                variant,
                job.batch.dataset,
                fingerprint,
                job.batch.size,
                job.seed,
            ),
            score=r.score,
            status=r.status,
            error=r.error,
            seconds=r.seconds,
            n_units=r.n_units,
            batch_source=job.batch.source,
            device=job.device,
            engine=engine_name(job.fast),
            naswot_version=__version__,
            torch_version=torch.__version__,
        )
