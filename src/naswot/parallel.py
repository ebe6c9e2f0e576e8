"""Scoring on all local cores (processes) or on a Ray cluster, with the same results as serial.

Work is split into chunks of architecture keys. Scores do not depend on the split, because every
network is seeded from ``(seed, space, arch)`` and every chunk sees the same batch; they match a
serial run with the same number of threads per process (a different thread count can flip the
sign of a pre-activation within rounding of zero, see docs/performance.md).

- ``local``: a pool of spawned processes, each with its share of the cores; each worker writes its
  rows into the one SQLite store (WAL, one commit per row), so a killed job loses only the rows
  being computed. A worker that dies (killed, out of memory) ends the job with
  :class:`~naswot.exceptions.WorkerDied` naming it; what finished is in the store.
- ``ray``: one task per chunk on a Ray cluster (``address``; a local one when None), GPUs
  requested per task when scoring on CUDA. Finished chunks stream back to the driver, which
  writes them into the store at once; keys already in the store are not sent again, so a rerun
  after a lost worker completes the job.

Both backends stop cleanly when ``stop()`` turns True (the CLI's SIGINT/SIGTERM handler): no new
chunk starts, local workers finish their current architecture, and
:class:`~naswot.exceptions.Interrupted` is raised with what was scored.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Literal

import torch
from tqdm.auto import tqdm

from naswot._malloc import tune_malloc
from naswot.ensembles import EnsembleSpec
from naswot.exceptions import (
    Interrupted,
    InvalidParameterError,
    MissingDependencyError,
    NaswotError,
    WorkerDied,
)
from naswot.scoring import ScoreRecord, ScoringJob, ensemble_records, proxy_label, run_jobs
from naswot.store import ResultStore

__all__ = [
    "BACKENDS",
    "ScoringJob",
    "score_chunk",
    "score_parallel",
    "score_parallel_jobs",
    "score_pool",
]

BACKENDS = ("local", "ray")
_POLL_SECONDS = 0.2  # how often the driver looks at ``stop`` while chunks run

# Set in each local worker process by _init_worker: the pool's "stop after the current
# architecture" event (an Event reaches a spawned process only through the initializer).
_worker_halt: Any = None  # Any: multiprocessing.synchronize.Event of the spawn context


def score_chunk(
    jobs: Sequence[ScoringJob], keys: Sequence[str], store_path: str | None, threads: int | None
) -> list[ScoreRecord]:
    """Scores one chunk with every job in this process (the worker side of both backends).

    Returns the records of every job, architecture by architecture (see :func:`run_jobs`). In
    a local worker whose pool was asked to stop, returns the records scored so far.
    """
    if threads:  # a Ray task: its process was not made by _init_worker
        tune_malloc()
        torch.set_num_threads(threads)
    halt = _worker_halt
    got: list[ScoreRecord] = []
    store = ResultStore(store_path) if store_path else None
    try:
        run_jobs(
            jobs,
            keys,
            store=store,
            on_record=got.append,
            stop=None if halt is None else halt.is_set,
        )
    except Interrupted:
        pass
    finally:
        if store is not None:
            store.close()
    return got


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
    stop: Callable[[], bool] | None = None,
) -> list[ScoreRecord]:
    """Scores ``keys`` with one job in parallel: :func:`score_parallel_jobs` with ``[job]``."""
    (records,) = score_parallel_jobs(
        keys,
        [job],
        workers=workers,
        backend=backend,
        store=store,
        threads=threads,
        address=address,
        chunk_size=chunk_size,
        progress=progress,
        stop=stop,
    )
    return records


def score_parallel_jobs(
    keys: Sequence[str],
    jobs: Sequence[ScoringJob],
    *,
    workers: int,
    backend: Literal["local", "ray"] = "local",
    store: ResultStore | None = None,
    threads: int | None = None,
    address: str | None = None,
    chunk_size: int | None = None,
    progress: bool = False,
    stop: Callable[[], bool] | None = None,
) -> list[list[ScoreRecord]]:
    """Scores ``keys`` with several jobs in parallel, each chunk with every job at once.

    A worker scores its chunk of architectures as :func:`~naswot.scoring.run_jobs` does (one
    network and one set of shared passes per architecture).

    Args:
        keys: architecture keys of the jobs' space.
        jobs: what to score and how (one space, batch, seed and device).
        workers: processes (``local``) or concurrent tasks (``ray``), >= 1.
        backend: ``local`` or ``ray``.
        store: the result store (rows already there are not recomputed).
        threads: torch threads per worker; default 1 (processes, not threads, use more cores:
            two OpenMP threads per process ran 2.5-7x slower than one on a shared machine).
        address: the Ray cluster address (``ray`` only); None starts a local instance.
        chunk_size: keys per task; default: about 4 chunks per worker, at most 64 keys.
        progress: show a progress bar on stderr.
        stop: asked while chunks run; when it returns True, no new chunk starts, local workers
            stop after their current architecture, and
            :class:`~naswot.exceptions.Interrupted` is raised.

    Returns:
        One list per job, in order: one record per key, in input order.

    Raises:
        WorkerDied: a worker process died (killed, out of memory); what finished is stored.
        Interrupted: ``stop`` asked to stop.
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
    if not jobs:
        raise InvalidParameterError("score_parallel_jobs needs at least one job.")
    space = jobs[0].space
    canonical = [space.key(space.parse(k)) for k in keys]
    unique = list(dict.fromkeys(canonical))
    index = {(j.proxy.name, j.variant): i for i, j in enumerate(jobs)}
    done: list[dict[str, ScoreRecord]] = [
        {k: r for k in unique if (r := job.cached(store, k)) is not None} for job in jobs
    ]
    todo = [k for k in unique if any(k not in d for d in done)]
    size = chunk_size or max(1, min(64, -(-len(todo) // (4 * workers))))
    chunks = [todo[i : i + size] for i in range(0, len(todo), size)]
    threads = threads or 1  # more per process stall under load (docs/performance.md)
    what = jobs[0].proxy.name if len(jobs) == 1 else f"{len(jobs)} proxies"
    bar = tqdm(
        total=len(canonical),
        initial=len(canonical) - len(todo),
        unit="arch",
        desc=f"scoring ({what}, {workers} {backend} workers)",
        disable=not progress,
        dynamic_ncols=True,
    )
    try:
        if backend == "local":
            results = _run_local(jobs, chunks, workers, threads, store, stop)
        else:
            results = _run_ray(jobs, chunks, workers, threads, address, store, stop)
        for records in results:
            for r in records:
                done[index[(r.proxy, r.variant)]][r.arch] = r
            bar.update(len({r.arch for r in records}))
    except _Stopped:
        raise Interrupted(_n_scored(unique, done, jobs, store), len(unique)) from None
    except _WorkerLost as e:
        kept = (
            "what finished is in the store: run the same command again to resume"
            if store is not None
            else "nothing is kept without a store"
        )
        n = _n_scored(unique, done, jobs, store)
        raise WorkerDied(f"{e}; {n} of {len(unique)} architectures are scored, {kept}.") from None
    finally:
        bar.close()
    return [[d[k] for k in canonical] for d in done]


def score_pool(
    keys: Sequence[str],
    jobs: Sequence[ScoringJob],
    *,
    ensembles: Sequence[EnsembleSpec] = (),
    store: ResultStore | None = None,
    workers: int = 1,
    backend: Literal["local", "ray"] = "local",
    threads: int | None = None,
    address: str | None = None,
    progress: bool = False,
    on_record: Callable[[ScoreRecord], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> dict[str, list[ScoreRecord]]:
    """Scores one pool of architectures with several proxies (one job each) and ensembles.

    Serial in this process when ``workers`` is 1 and ``backend`` is ``local``, else through
    :func:`score_parallel`; every job goes through ``store``.

    Args:
        keys: architecture keys of the jobs' space.
        jobs: one :class:`~naswot.scoring.ScoringJob` per proxy (same space, batch and seed).
        ensembles: ensembles of the jobs' proxies, by :func:`~naswot.scoring.proxy_label`.
        store: the result store (rows already there are not recomputed).
        workers: processes (``local``) or concurrent tasks (``ray``); 1 scores serially.
        backend: ``local`` or ``ray``.
        threads: torch threads per worker; serially, this process's torch threads if given.
        address: the Ray cluster address (``ray`` only).
        progress: show a progress bar per job on stderr.
        stop: asked between architectures (serial) or while chunks run; True stops with
            :class:`~naswot.exceptions.Interrupted`.
        on_record: called with each job's records (not the ensembles'), each as soon as it is
            known when serial, per job when parallel.

    Returns:
        The records of every job (under its proxy label), then of every ensemble (under its
        label), each in key order.
    """
    if not jobs:
        raise InvalidParameterError("score_pool needs at least one job.")
    if workers > 1 or backend != "local":
        per_job = score_parallel_jobs(
            keys,
            jobs,
            workers=workers,
            backend=backend,
            store=store,
            threads=threads,
            address=address,
            progress=progress,
            stop=stop,
        )
        if on_record is not None:
            for records in per_job:
                for r in records:
                    on_record(r)
    else:
        tune_malloc()
        if threads:
            torch.set_num_threads(threads)
        per_job = run_jobs(
            jobs, keys, store=store, progress=progress, on_record=on_record, stop=stop
        )
    by_label = {proxy_label(j.proxy): r for j, r in zip(jobs, per_job, strict=True)}
    for spec in ensembles:
        by_label[spec.label] = ensemble_records(spec, by_label)
    return by_label


def _n_scored(
    keys: list[str],
    done: list[dict[str, ScoreRecord]],
    jobs: Sequence[ScoringJob],
    store: ResultStore | None,
) -> int:
    """How many of ``keys`` every job has scored: returned to the driver, or written by a worker."""
    return sum(
        all(k in d or job.cached(store, k) is not None for d, job in zip(done, jobs, strict=True))
        for k in keys
    )


class _Stopped(Exception):
    """The backend stopped because ``stop()`` asked it to."""


class _WorkerLost(Exception):
    """A worker died; the message says which and how."""


def _init_worker(threads: int, halt: Any) -> None:  # Any: the spawn context's Event
    global _worker_halt
    _worker_halt = halt
    # Ctrl-C reaches the whole process group: the driver decides, workers finish cleanly.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tune_malloc()
    torch.set_num_threads(threads)


def _run_local(
    jobs: Sequence[ScoringJob],
    chunks: list[list[str]],
    workers: int,
    threads: int,
    store: ResultStore | None,
    stop: Callable[[], bool] | None,
) -> Iterator[list[ScoreRecord]]:
    store_path = None if store is None else str(store.path)
    context = multiprocessing.get_context("spawn")
    halt = context.Event()
    with cf.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_init_worker,
        initargs=(threads, halt),
    ) as pool:
        pending = {pool.submit(score_chunk, jobs, chunk, store_path, None) for chunk in chunks}
        # The pool's processes (a private attribute, read only to name a dead worker).
        seen: dict[int, Any] = {}
        try:
            while pending:
                seen.update(getattr(pool, "_processes", None) or {})
                finished, pending = cf.wait(
                    pending, timeout=_POLL_SECONDS, return_when=cf.FIRST_COMPLETED
                )
                for future in finished:
                    if not future.cancelled():
                        yield future.result()
                if stop is not None and not halt.is_set() and stop():
                    halt.set()  # running chunks return after their current architecture
                    for future in pending:
                        future.cancel()
        except BrokenProcessPool:
            raise _WorkerLost(_dead_workers(seen)) from None
        except BaseException:
            halt.set()
            for future in pending:
                future.cancel()
            raise
    if halt.is_set():
        raise _Stopped


def _dead_workers(processes: dict[int, Any]) -> str:  # Any: multiprocessing Process
    """Which worker died and how, from the exit codes of the pool's processes."""
    codes: dict[int, int | None] = {}
    deadline = time.monotonic() + 5.0
    for pid, process in processes.items():
        process.join(timeout=max(0.0, deadline - time.monotonic()))
        # The pool's manager thread reaps its processes too: when it wins the race for a
        # process's exit status, ``exitcode`` reads None here until that thread has stored it.
        while process.exitcode is None and time.monotonic() < deadline:
            time.sleep(0.01)
        codes[pid] = process.exitcode
    # The pool terminates (SIGTERM) the survivors once one died: the others are the culprits.
    culprits = {p: c for p, c in codes.items() if c not in (None, 0, -signal.SIGTERM)}
    culprits = culprits or {p: c for p, c in codes.items() if c not in (None, 0)}
    if not culprits:
        return "a scoring worker process died"
    described = []
    for pid, code in sorted(culprits.items()):
        assert code is not None
        if code < 0:
            name = signal.Signals(-code).name
            hint = " (out of memory, or killed)" if -code == signal.SIGKILL else ""
            described.append(f"{pid} was killed by {name}{hint}")
        else:
            described.append(f"{pid} exited with code {code}")
    return "scoring worker process " + ", ".join(described)


def _run_ray(
    jobs: Sequence[ScoringJob],
    chunks: list[list[str]],
    workers: int,
    threads: int,
    address: str | None,
    store: ResultStore | None,
    stop: Callable[[], bool] | None,
) -> Iterator[list[ScoreRecord]]:
    try:
        import ray
        import ray.exceptions
    except ImportError:
        raise MissingDependencyError(
            "The ray backend needs Ray: pip install 'naswot[ray]'."
        ) from None
    main_thread = threading.current_thread() is threading.main_thread()
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
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
    if main_thread:
        # ray.init replaces SIGTERM's handler (its own exits, and its core's prints a C-level
        # stack): keep the caller's, so SIGTERM stops cleanly as SIGINT does.
        for signum, handler in handlers.items():
            if handler is not None:
                signal.signal(signum, handler)
    try:
        gpus = 1 if torch.device(jobs[0].device).type == "cuda" else 0
        remote = ray.remote(num_cpus=threads, num_gpus=gpus, max_retries=2)(score_chunk)
        by_variant = {(j.proxy.name, j.variant): j for j in jobs}
        jobs_ref = ray.put(jobs)
        pending = [remote.remote(jobs_ref, chunk, None, threads) for chunk in chunks]
        while pending:
            ready, pending = ray.wait(pending, num_returns=1, timeout=_POLL_SECONDS)
            if ready:
                try:
                    records: list[ScoreRecord] = ray.get(ready[0])
                except ray.exceptions.RayTaskError as e:
                    if isinstance(e.cause, NaswotError):
                        raise e.cause from None
                    raise _WorkerLost(f"a Ray task failed: {_first_line(e.cause)}") from None
                except ray.exceptions.RayError as e:
                    raise _WorkerLost(
                        f"a Ray worker died ({type(e).__name__}: {_first_line(e)})"
                    ) from None
                if store is not None:
                    for r in records:
                        by_variant[(r.proxy, r.variant)].write(store, r)
                yield records
            if stop is not None and pending and stop():
                for ref in pending:
                    ray.cancel(ref)
                raise _Stopped
    finally:
        if started_here:
            ray.shutdown()
        if main_thread:
            for signum, handler in handlers.items():
                if handler is not None:
                    signal.signal(signum, handler)


def _first_line(e: object) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
