"""Scoring many architectures of a space: fresh network per architecture, results through the store.

Each architecture's network is initialised from ``derive_seed(seed, space, arch)``, so a score
depends only on (seed, architecture, proxy, batch), never on the order of scoring or on how the
work is split. The same key scored twice (in one call, or in an earlier run through the store) is
computed once.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import torch
from torch import nn
from tqdm.auto import tqdm

from naswot._seeding import derive_seed, torch_seeded
from naswot._version import __version__
from naswot.data.batch import Batch
from naswot.ensembles import EnsembleSpec
from naswot.exceptions import (
    DegenerateNetworkError,
    Interrupted,
    InvalidParameterError,
    NaswotError,
    ScoringError,
)
from naswot.fast import FastScorer
from naswot.networks import NetworkBuilder
from naswot.networks.layout import LayoutChoice, apply_layout, resolve_layout
from naswot.proxies import PROXIES, Proxy, ScoreResult, Status, log_abs_det
from naswot.proxies._shared import SharedPasses, SharingProxy, shares_passes
from naswot.spaces import SearchSpace
from naswot.spaces.custom import source_fingerprint
from naswot.store import ResultStore, ScoreKey, StoredScore

__all__ = [
    "ScoreRecord",
    "ScoringJob",
    "build_network",
    "engine_name",
    "ensemble_records",
    "proxy_label",
    "proxy_revision",
    "run_jobs",
    "score_architectures",
    "score_jobs",
    "score_one",
    "space_revision",
    "stored_variant",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ScoreRecord:
    """The score of one architecture, as returned to callers and written to CSV.

    Attributes:
        arch: the architecture's key in its space.
        proxy: the proxy's name; ``variant`` its variant.
        score: the score, ``-inf`` when singular, None on error.
        status: ``ok``, ``singular``, ``error`` or a degenerate status (``constant``,
            ``no_relu``, ``overflow``: see :class:`naswot.proxies.Status`).
        error: the error message, if any.
        seconds: time to build and score the network (of the original run, for cached rows).
        n_units: N_A, the number of counted rectified units.
        cached: True when the score came from the store or an earlier duplicate.
    """

    arch: str
    proxy: str
    variant: str
    score: float | None
    status: str
    error: str | None
    seconds: float | None
    n_units: int | None
    cached: bool = False

    @property
    def usable(self) -> bool:
        """True when the score is finite (search only ever picks such scores)."""
        return (
            self.status == Status.OK.value and self.score is not None and math.isfinite(self.score)
        )


def score_one(
    arch: Any,  # Any: the architecture type of ``space``
    *,
    space: SearchSpace[Any],
    builder: NetworkBuilder,
    proxy: Proxy,
    batch: Batch,
    seed: int,
    device: torch.device,
    on_error: Literal["raise", "record"] = "record",
    fast: FastScorer | None = None,
    n_classes: int = 1,
    layout: LayoutChoice = "auto",
) -> tuple[ScoreResult, float]:
    """Builds a fresh network for ``arch`` (seeded per architecture) and scores it.

    With ``fast``, the space's fast scorer draws the same weights and computes the same K
    without building modules (``proxy`` must be the NASWOT variant it implements); ``layout``
    is that of the built network (:func:`~naswot.networks.layout.resolve_layout`: ``auto`` is
    channels_last on the CPU), not the fast scorer's.

    Returns:
        The result and the seconds it took (build + score).
    """
    start = time.perf_counter()

    def compute() -> ScoreResult:
        if fast is not None:
            with _arch_seeded(space, arch, seed, device):
                weights = fast.draw_weights(arch)
            return _fast_result(fast, arch, batch, weights)
        model = build_network(
            arch,
            space=space,
            builder=builder,
            seed=seed,
            device=device,
            n_classes=n_classes,
            layout=layout,
        )
        return proxy(model, batch)

    result = _guarded(compute, space.key(arch), batch, on_error)
    return result, time.perf_counter() - start


def build_network(
    arch: Any,  # Any: the architecture type of ``space``
    *,
    space: SearchSpace[Any],
    builder: NetworkBuilder,
    seed: int,
    device: torch.device,
    n_classes: int = 1,
    layout: LayoutChoice = "auto",
) -> nn.Module:
    """The fresh network of ``arch``, built under ``derive_seed(seed, space, arch)``.

    Moved to ``device``, computing in ``layout`` resolved for it
    (:func:`~naswot.networks.layout.resolve_layout`, then
    :func:`~naswot.networks.layout.apply_layout`). Every engine builds its networks through this
    one function.
    """
    with _arch_seeded(space, arch, seed, device):
        model = builder(arch, n_classes=n_classes)
    return apply_layout(model.to(device), resolve_layout(layout, device))


def _arch_seeded(
    space: SearchSpace[Any], arch: Any, seed: int, device: torch.device
) -> AbstractContextManager[None]:
    """The seeded block of one network's draws: ``derive_seed(seed, space, arch)``."""
    return torch_seeded(derive_seed(seed, space.name, space.key(arch)), devices=[device])


def _guarded(
    compute: Callable[[], ScoreResult],
    arch_key: str,
    batch: Batch,
    on_error: Literal["raise", "record"],
) -> ScoreResult:
    """``compute()``, with failures turned into results as ``on_error`` says."""
    try:
        return compute()
    except KeyboardInterrupt:
        raise
    except DegenerateNetworkError as e:
        # A property of the architecture (named status), stored like a score; never retried.
        if on_error == "raise":
            raise
        return ScoreResult(score=None, status=Status(e.status), error=str(e))
    except torch.cuda.OutOfMemoryError as e:
        # A smaller batch changes the score (train-mode BatchNorm), so this is not retried.
        message = (
            f"CUDA out of memory at batch size {batch.size}; try --batch-size "
            f"{max(2, batch.size // 2)} for the whole job (scores of different batch sizes are "
            f"not comparable): {e}"
        )
        if on_error == "raise":
            raise ScoringError(message) from e
        log.warning("Scoring %s failed: %s", arch_key, message)
        torch.cuda.empty_cache()
        return ScoreResult(score=None, status=Status.ERROR, error=message)
    except Exception as e:
        # The 'record' policy keeps the message as the row's error: never a 0 or a NaN.
        if on_error == "raise":
            raise
        message = str(e) if isinstance(e, NaswotError) else f"{type(e).__name__}: {e}"
        log.warning("Scoring %s failed: %s", arch_key, message)
        return ScoreResult(score=None, status=Status.ERROR, error=message)


def score_jobs(
    arch: Any,  # Any: the architecture type of the jobs' space
    jobs: Sequence[ScoringJob],
    batch: Batch,
    *,
    on_error: Literal["raise", "record"] = "record",
) -> list[tuple[ScoreResult, float]]:
    """Scores one architecture with every job: the multi-proxy engine.

    The proxies that read shared passes (:mod:`naswot.proxies._shared`) get one network per
    number of outputs (built as :func:`build_network` builds it) and one
    :class:`~naswot.proxies.SharedPasses` for it, planned with every pass they read, so each
    pass they have in common runs once (and one that serves another, as grasp's ``ce_hessian``
    serves snip's ``ce_grads``, runs instead of both);
    every other job is scored as :func:`score_one` scores it (its own network, or its fast
    scorer). Each score is bit-identical to the job's alone (``tests/test_engine.py`` checks
    every registered proxy and variant). A shared pass's time counts towards the first job
    that needs it.

    Args:
        arch: the architecture; every job must be of the same space, seed and device.
        jobs: the jobs, scored in this order.
        batch: the jobs' batch, already on their device.
        on_error: ``record`` failures as results with status ``error``, or ``raise`` them.

    Returns:
        One (result, seconds) pair per job, in order.
    """
    shared: dict[_Head, tuple[nn.Module, SharedPasses]] = {}
    planned: dict[_Head, set[str]] = {}
    for job in jobs:  # what each shared network's proxies read, so a pass can serve several
        if (head := _shared_head(job)) is not None:
            planned.setdefault(head, set()).update(cast(SharingProxy, job.proxy).passes)
    out: list[tuple[ScoreResult, float]] = []
    for job in jobs:
        device = torch.device(job.device)
        head = _shared_head(job)
        if head is None:
            out.append(
                score_one(
                    arch,
                    space=job.space,
                    builder=job.builder,
                    proxy=job.proxy,
                    batch=batch,
                    seed=job.seed,
                    device=device,
                    on_error=on_error,
                    fast=job.fast,
                    n_classes=job.n_classes,
                    layout=job.layout,
                )
            )
            continue
        start = time.perf_counter()

        def compute(
            job: ScoringJob = job, device: torch.device = device, head: _Head = head
        ) -> ScoreResult:
            if head not in shared:
                model = build_network(
                    arch,
                    space=job.space,
                    builder=job.builder,
                    seed=job.seed,
                    device=device,
                    n_classes=job.n_classes,
                    layout=job.layout,
                )
                shared[head] = model, SharedPasses(model, batch, planned[head])
            model, passes = shared[head]
            return cast(SharingProxy, job.proxy).score_shared(model, batch, passes)

        result = _guarded(compute, job.space.key(arch), batch, on_error)
        out.append((result, time.perf_counter() - start))
    return out


_Head = tuple[int, str]  # (number of outputs, layout): one shared network per head


def _shared_head(job: ScoringJob) -> _Head | None:
    """The shared network a job scores on in the engine; None: its own network or fast scorer."""
    if job.fast is not None or not shares_passes(job.proxy):
        return None
    return job.n_classes, job.layout


def _fast_result(fast: FastScorer, arch: Any, batch: Batch, weights: Any) -> ScoreResult:
    """NASWOT from a fast scorer, with the same statuses as the module path."""  # Any: per space
    inputs = batch.inputs
    if inputs.dim() != 4 or inputs.shape[0] < 2:
        raise InvalidParameterError(
            f"NASWOT needs a batch of at least 2 images (B, C, H, W); got shape "
            f"{tuple(inputs.shape)}."
        )
    with torch.no_grad():
        kernel, n_units, n_calls = fast.kernel(arch, inputs, weights)
    value = log_abs_det(kernel)
    status = Status.OK if math.isfinite(value) else Status.SINGULAR
    return ScoreResult(score=value, status=status, n_units=n_units, n_activations=n_calls)


def stored_variant(proxy: Proxy, fast: FastScorer | None) -> str:
    """The variant recorded for a score: the proxy's, plus ``+bf16`` for the bf16 fast mode."""
    if fast is not None and fast.precision != "fp32":
        return f"{proxy.variant}+{fast.precision}"
    return proxy.variant


def engine_name(
    fast: FastScorer | None, device: str | torch.device = "cpu", layout: LayoutChoice = "auto"
) -> str:
    """How scores are computed: ``module``, ``fast`` or ``fast-bf16``, plus ``-fused``.

    ``-fused`` where the fast scorer's fused C kernels run (CPU tensors only); ``module`` is
    ``module-channels_last`` for networks computing in channels_last (a fast scorer has a
    layout of its own; ``auto`` is resolved for ``device``). Part of the store key and of the
    provenance.
    """
    if fast is None:
        concrete = resolve_layout(layout, device)
        return "module" if concrete == "nchw" else f"module-{concrete}"
    name = "fast" if fast.precision == "fp32" else f"fast-{fast.precision}"
    return f"{name}-fused" if fast.fused and torch.device(device).type == "cpu" else name


def proxy_revision(proxy: Proxy) -> int:
    """The proxy's ``revision``: bumped whenever its arithmetic changes; 1 if it declares none."""
    return int(getattr(proxy, "revision", 1))


def space_revision(space: SearchSpace[Any], builder: NetworkBuilder) -> str:
    """What identifies the networks a space builds, beyond its name.

    A space's own ``revision`` attribute (custom spaces set it: the user's ``revision``, or a
    fingerprint of their source); empty for naswot's builders; otherwise a fingerprint of the
    builder's source, so that a changed builder never gets the rows of the old one.
    """
    declared = getattr(space, "revision", None)
    if declared is not None:
        return str(declared)
    module = getattr(builder, "__module__", None) or ""
    if module == "naswot" or module.startswith("naswot."):
        return ""
    return "src:" + source_fingerprint(builder)


@dataclass(frozen=True)
class ScoringJob:
    """One proxy scoring architectures of one space on one batch: what makes each score.

    The job knows the store key of an architecture's score (which includes the proxy's revision,
    the engine and the space's revision, so a changed computation never gets an old row) and
    turns stored rows and fresh results into records. It is picklable (objects, not names): the
    parallel backends send it to their workers.

    Attributes:
        space: the search space; ``builder`` builds a fresh network for one of its architectures.
        proxy: the proxy to score with.
        batch: the minibatch every architecture is scored on.
        seed: the run seed; each network is initialised from ``derive_seed(seed, space, key)``.
        device: where networks are built and scored.
        fast: a fast scorer for ``space`` implementing ``proxy`` (see ``naswot.fast``); its bf16
            precision is stored as its own variant (``default+bf16``) and engine.
        n_classes: outputs of the networks' heads (1 for NASWOT, as the paper; the dataset's
            classes for proxies with ``needs_classes``).
        layout: the memory layout of the built networks (:mod:`naswot.networks.layout`; part
            of the engine, so of the store key); a fast scorer ignores it. ``auto`` (the
            default) is resolved for ``device`` where the job is made: channels_last on the CPU.
    """

    space: SearchSpace[Any]
    builder: NetworkBuilder
    proxy: Proxy
    batch: Batch
    seed: int
    device: str = "cpu"
    fast: FastScorer | None = None
    n_classes: int = 1
    layout: LayoutChoice = "auto"
    space_revision: str = field(init=False, repr=False)
    batch_fingerprint: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "layout", resolve_layout(self.layout, self.device))
        # Computed once, where the job is made: workers key their rows exactly as the driver.
        object.__setattr__(self, "space_revision", space_revision(self.space, self.builder))
        object.__setattr__(self, "batch_fingerprint", self.batch.fingerprint)

    @property
    def variant(self) -> str:
        """The variant recorded for the scores (see :func:`stored_variant`)."""
        return stored_variant(self.proxy, self.fast)

    @property
    def engine(self) -> str:
        """How the scores are computed (see :func:`engine_name`)."""
        return engine_name(self.fast, self.device, self.layout)

    def key(self, arch: str) -> ScoreKey:
        """The store key of the score of the architecture with key ``arch``."""
        return ScoreKey(
            self.space.name,
            arch,
            self.proxy.name,
            self.variant,
            self.batch.dataset,
            self.batch_fingerprint,
            self.batch.size,
            self.seed,
            proxy_revision(self.proxy),
            self.engine,
            self.space_revision,
        )

    def cached(self, store: ResultStore | None, arch: str) -> ScoreRecord | None:
        """The final stored record of ``arch`` (not ``error``: those are re-scored), or None."""
        if store is None:
            return None
        row = store.get(self.key(arch))
        if row is None or row.status == Status.ERROR.value:
            return None
        return self.stored_record(row)

    def stored_record(self, row: StoredScore) -> ScoreRecord:
        """The record of a stored row (``cached``)."""
        return ScoreRecord(
            row.key.arch,
            self.proxy.name,
            self.variant,
            row.score,
            row.status,
            row.error,
            row.seconds,
            row.n_units,
            cached=True,
        )

    def record(self, arch: str, result: ScoreResult, seconds: float) -> ScoreRecord:
        """The record of a fresh result."""
        return ScoreRecord(
            arch,
            self.proxy.name,
            self.variant,
            result.score,
            result.status.value,
            result.error,
            seconds,
            result.n_units,
        )

    def write(self, store: ResultStore, record: ScoreRecord) -> None:
        """Writes ``record`` (computed by this job) into ``store``, with its provenance."""
        store.put(
            self.key(record.arch),
            score=record.score,
            status=record.status,
            error=record.error,
            seconds=record.seconds,
            n_units=record.n_units,
            batch_source=self.batch.source,
            device=self.device,
            naswot_version=__version__,
            torch_version=torch.__version__,
        )

    def run(
        self,
        keys: Sequence[str],
        *,
        store: ResultStore | None = None,
        progress: bool = False,
        on_record: Callable[[ScoreRecord], None] | None = None,
        stop: Callable[[], bool] | None = None,
        on_error: Literal["raise", "record"] = "record",
    ) -> list[ScoreRecord]:
        """Scores ``keys`` one by one in this process: :func:`run_jobs` with this one job.

        Returns:
            One record per key, in input order (duplicates included).
        """
        (records,) = run_jobs(
            [self],
            keys,
            store=store,
            progress=progress,
            on_record=on_record,
            stop=stop,
            on_error=on_error,
        )
        return records


def run_jobs(
    jobs: Sequence[ScoringJob],
    keys: Sequence[str],
    *,
    store: ResultStore | None = None,
    progress: bool = False,
    on_record: Callable[[ScoreRecord], None] | None = None,
    stop: Callable[[], bool] | None = None,
    on_error: Literal["raise", "record"] = "record",
) -> list[list[ScoreRecord]]:
    """Scores ``keys`` with several jobs in this process, architecture by architecture.

    Each architecture goes through :func:`score_jobs` (one network and one set of shared passes
    for the proxies that share), for the jobs whose row is not in ``store`` yet; each result is
    written through ``store`` as soon as it is known.

    Args:
        jobs: the jobs, all of one space, batch, seed and device (proxies differ).
        keys: architecture keys of the space; parsed (and canonicalised) before any scoring.
        store: where results are looked up and written; None keeps them in memory only.
        progress: show a progress bar on stderr.
        on_record: called with each record as soon as it is known.
        stop: asked before each architecture; when it returns True, scoring stops with
            :class:`~naswot.exceptions.Interrupted` (everything scored so far is stored).
        on_error: ``record`` failures as rows with status ``error``, or ``raise`` them.

    Returns:
        One list per job, in order: one record per key, in input order (duplicates included).
    """
    if on_error not in ("raise", "record"):
        raise InvalidParameterError(
            "The 'on_error' parameter of score_architectures must be 'raise' or 'record'. "
            f"Got {on_error!r} instead."
        )
    _check_compatible(jobs)
    space = jobs[0].space
    archs = [space.parse(k) for k in keys]
    device = torch.device(jobs[0].device)
    batch = jobs[0].batch.to(device)
    done: dict[str, list[ScoreRecord]] = {}
    out: list[list[ScoreRecord]] = [[] for _ in jobs]
    # No tqdm object at all without a bar: tqdm makes a multiprocessing lock, which a
    # worker killed by a signal leaves behind (a "leaked semaphore" warning at exit).
    what = jobs[0].proxy.name if len(jobs) == 1 else f"{len(jobs)} proxies"
    shown = (
        tqdm(archs, desc=f"scoring ({what})", unit="arch", dynamic_ncols=True)
        if progress
        else archs
    )
    for n, arch in enumerate(shown):
        if stop is not None and stop():
            raise Interrupted(n, len(archs))
        key = space.key(arch)
        known = done.get(key)
        if known is not None:
            records = [_as_cached(r) for r in known]
        else:
            cached = [job.cached(store, key) for job in jobs]
            missing = [i for i, r in enumerate(cached) if r is None]
            fresh = score_jobs(arch, [jobs[i] for i in missing], batch, on_error=on_error)
            for i, (result, seconds) in zip(missing, fresh, strict=True):
                record = jobs[i].record(key, result, seconds)
                if store is not None:
                    jobs[i].write(store, record)
                cached[i] = record
            records = [r for r in cached if r is not None]
            done[key] = records
        for i, record in enumerate(records):
            out[i].append(record)
            if on_record is not None:
                on_record(record)
    return out


def _check_compatible(jobs: Sequence[ScoringJob]) -> None:
    """Raises InvalidParameterError unless the jobs share space, batch, seed and device."""
    if not jobs:
        raise InvalidParameterError("run_jobs needs at least one job.")
    first = jobs[0]
    for job in jobs[1:]:
        if (job.space.name, job.batch_fingerprint, job.seed, job.device) != (
            first.space.name,
            first.batch_fingerprint,
            first.seed,
            first.device,
        ):
            raise InvalidParameterError(
                "The jobs scored together must share the space, batch, seed and device; "
                f"{proxy_label(job.proxy)} differs from {proxy_label(first.proxy)}."
            )
    labels = [(j.proxy.name, j.variant) for j in jobs]
    if len(set(labels)) != len(labels):
        raise InvalidParameterError("The jobs scored together name one proxy variant twice.")


def score_architectures(
    keys: Sequence[str],
    *,
    space: SearchSpace[Any],
    builder: NetworkBuilder,
    proxy: Proxy,
    batch: Batch,
    seed: int,
    store: ResultStore | None = None,
    device: torch.device | str = "cpu",
    on_error: Literal["raise", "record"] = "record",
    progress: bool = False,
    on_record: Callable[[ScoreRecord], None] | None = None,
    fast: FastScorer | None = None,
    stop: Callable[[], bool] | None = None,
    n_classes: int = 1,
    layout: LayoutChoice = "auto",
) -> list[ScoreRecord]:
    """Scores architectures (given by key) one by one, writing each result through the store.

    The same as ``ScoringJob(space, builder, proxy, batch, seed, device, fast,
    n_classes, layout).run(keys, ...)``: see :class:`ScoringJob` for the parameters.

    Returns:
        One record per key, in input order (duplicates included).
    """
    job = ScoringJob(
        space=space,
        builder=builder,
        proxy=proxy,
        batch=batch,
        seed=seed,
        device=str(torch.device(device)),
        fast=fast,
        n_classes=n_classes,
        layout=layout,
    )
    return job.run(
        keys, store=store, progress=progress, on_record=on_record, stop=stop, on_error=on_error
    )


def _as_cached(record: ScoreRecord) -> ScoreRecord:
    return ScoreRecord(
        record.arch,
        record.proxy,
        record.variant,
        record.score,
        record.status,
        record.error,
        record.seconds,
        record.n_units,
        cached=True,
    )


def proxy_label(proxy: Proxy) -> str:
    """``name`` for a proxy's default variant, else ``name:variant`` (as ``--proxy`` takes it)."""
    default = PROXIES.get(proxy.name).variants[0] if proxy.name in PROXIES else "default"
    return proxy.name if proxy.variant == default else f"{proxy.name}:{proxy.variant}"


def ensemble_records(
    spec: EnsembleSpec, by_label: dict[str, list[ScoreRecord]]
) -> list[ScoreRecord]:
    """One record per architecture: the ensemble of its members' records (same order).

    ``by_label`` holds each member's records under its :func:`proxy_label`. A member's failure
    ranks below all its scores; the row's status is ``ok``, its error names the members that
    failed (None when none did) and its seconds are the sum of the members'. An architecture
    that every member failed to score gets status ``error`` and no score, so a search never
    picks it.
    """
    members = [by_label[m] for m in spec.members]
    combined = spec.combine(
        {m: [math.nan if r.score is None else r.score for r in by_label[m]] for m in spec.members}
    )
    out = []
    for i, value in enumerate(combined):
        spent = [rs[i].seconds for rs in members]
        failed = [m for m, rs in zip(spec.members, members, strict=True) if rs[i].score is None]
        none = len(failed) == len(members)
        if none:
            error: str | None = "every member of the ensemble failed"
        elif failed:
            error = f"{', '.join(failed)} failed here, ranked below every score"
        else:
            error = None
        out.append(
            ScoreRecord(
                arch=members[0][i].arch,
                proxy=spec.method,
                variant="+".join(spec.members),
                score=None if none else float(value),
                status="error" if none else "ok",
                error=error,
                seconds=None if None in spent else sum(s for s in spent if s is not None),
                n_units=None,
                cached=all(rs[i].cached for rs in members),
            )
        )
    return out
