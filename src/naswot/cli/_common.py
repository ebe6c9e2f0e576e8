"""Options and helpers shared by the commands: names -> objects, batches, store, outputs."""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from naswot._io import atomic_write, check_output, decode_text, quote
from naswot._version import __version__
from naswot.cli._options import (
    MAX_COUNT,
    add_ensemble_option,
    add_scoring_options,
    count_int,
    positive_int,
    positive_number,
    positive_seconds,
    seed_int,
)
from naswot.cli._proxies import (
    ensemble_records,
    n_classes_for,
    proxy_label,
    resolve_ensembles,
    resolve_proxies,
    resolve_proxy,
    resolve_scoring,
)
from naswot.cli._signals import stop_on_signals
from naswot.data import Batch, default_data_dir, find_dataset, load_batch
from naswot.data.shapes import DATASET_CLASSES
from naswot.ensembles import EnsembleSpec
from naswot.exceptions import Interrupted, InvalidParameterError, NaswotError
from naswot.export import resolve
from naswot.fast import FAST_SCORERS, FastScorer
from naswot.fast._native import native_kernels
from naswot.networks import NetworkBuilder
from naswot.parallel import ScoringJob
from naswot.parallel import score_pool as parallel_score_pool
from naswot.proxies import Naswot, Proxy
from naswot.scoring import ScoreRecord
from naswot.spaces import EnumerableSpace, SearchSpace
from naswot.store import ResultStore, default_store_path

# The option builders, proxy resolution and Ctrl-C handling live in _options, _proxies and
# _signals; they are re-exported here, where the commands look them up as ``_common.X``.
__all__ = [
    "DATASET_CLASSES",
    "IMAGENET_MIN_SIZE",
    "MAX_COUNT",
    "add_ensemble_option",
    "add_scoring_options",
    "batch_info",
    "check_outputs",
    "count_int",
    "distinct_samples",
    "ensemble_records",
    "format_score",
    "n_classes_for",
    "note",
    "note_batch",
    "open_store",
    "positive_int",
    "positive_number",
    "positive_seconds",
    "proxy_label",
    "read_arch_file",
    "resolve_batch",
    "resolve_device",
    "resolve_ensembles",
    "resolve_fast",
    "resolve_proxies",
    "resolve_proxy",
    "resolve_scoring",
    "resolve_space",
    "score_pool",
    "scoring_jobs",
    "seed_int",
    "stop_on_signals",
    "store_path",
    "write_meta",
]


def resolve_space(name: str) -> tuple[SearchSpace[Any], NetworkBuilder]:
    """The space and network builder of a registered name or of a ``module:attribute`` string.

    Args:
        name: a name of ``naswot.spaces.SPACES`` (e.g. ``nb201``) or a custom space spec
            (:func:`naswot.spaces.custom.load_custom_space`).

    Raises:
        UnknownNameError: for an unknown registered name (with the choices) or module.
    """
    return resolve(name)


def resolve_fast(
    args: argparse.Namespace, space: SearchSpace[Any], proxy: Proxy
) -> FastScorer | None:
    """The fast scorer the options ask for, or None for the module engine."""
    available = (
        isinstance(proxy, Naswot)
        and proxy.gate is None
        and proxy.variant in ("default", "official")
        and space.name in FAST_SCORERS
    )
    if args.engine == "fast" and not available:
        raise InvalidParameterError(
            f"No fast scorer for proxy {proxy.name!r} on space {space.name!r}; use --engine module."
        )
    if args.precision != "fp32" and (args.engine == "module" or not available):
        raise InvalidParameterError(
            f"--precision {args.precision} needs the fast engine, which {space.name!r} with "
            f"proxy {proxy.name!r} does not have."
        )
    kernels = getattr(args, "kernels", "auto")
    if kernels != "auto" and (args.engine == "module" or not available):
        raise InvalidParameterError(
            f"--kernels {kernels} needs the fast engine, which {space.name!r} with "
            f"proxy {proxy.name!r} does not have."
        )
    if args.engine == "module" or not available:
        return None
    fast = FAST_SCORERS.get(space.name)(proxy.variant, precision=args.precision, kernels=kernels)
    status = native_kernels()
    on_cpu = str(getattr(args, "device", "cpu")).startswith("cpu")
    silenced = getattr(args, "quiet", False) or status.disabled
    if kernels == "auto" and not fast.fused and on_cpu and not silenced:
        # not an error (the scores are the same up to rounding), but a user should know why
        print(
            f"note: fused kernels not available ({status.reason}); the fast engine uses "
            "PyTorch's elementwise ops (slower; NASWOT_NATIVE=0 silences this)",
            file=sys.stderr,
        )
    return fast


def scoring_jobs(
    args: argparse.Namespace,
    space: SearchSpace[Any],
    builder: NetworkBuilder,
    proxies: Sequence[Proxy],
    batch: Batch,
    *,
    seed: int,
    device: torch.device,
) -> list[ScoringJob]:
    """One job per proxy: the engine the options ask for, the dataset's classes where needed."""
    return [
        ScoringJob(
            space=space,
            builder=builder,
            proxy=proxy,
            batch=batch,
            seed=seed,
            device=str(device),
            fast=resolve_fast(args, space, proxy),
            n_classes=n_classes_for(proxy, batch.dataset),
            layout=getattr(args, "layout", "auto"),
        )
        for proxy in proxies
    ]


def score_pool(
    args: argparse.Namespace,
    keys: list[str],
    jobs: Sequence[ScoringJob],
    store: ResultStore | None,
    *,
    ensembles: Sequence[EnsembleSpec] = (),
    progress: bool,
    on_record: Callable[[ScoreRecord], None] | None = None,
) -> dict[str, list[ScoreRecord]]:
    """:func:`naswot.parallel.score_pool` with the options' workers, backend and threads.

    SIGINT and SIGTERM stop it cleanly (:class:`~naswot.exceptions.Interrupted` carries the
    signal).
    """
    with stop_on_signals(quiet=args.quiet) as stop:
        try:
            return parallel_score_pool(
                keys,
                jobs,
                ensembles=ensembles,
                store=store,
                workers=args.workers,
                backend=args.backend,
                threads=args.threads,
                address=args.address,
                progress=progress,
                on_record=on_record,
                stop=stop,
            )
        except Interrupted as e:
            if stop.signum is None or e.signum == stop.signum:
                raise
            raise Interrupted(e.done, e.total, signum=stop.signum) from None


def resolve_device(name: str) -> torch.device:
    """A torch device that exists here."""
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InvalidParameterError(
            f"Unknown device {quote(name)}; use cpu, cuda or cuda:N."
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InvalidParameterError(
            f"Device {quote(name)} asked for, but CUDA is not available here."
        )
    if device.type not in ("cpu", "cuda"):
        raise InvalidParameterError(f"Device {quote(name)} is not supported; use cpu or cuda.")
    return device


def resolve_batch(args: argparse.Namespace, *, seed: int, proxies: Sequence[Proxy] = ()) -> Batch:
    """The minibatch the options describe; a dataset in the default data folder is used if found.

    Without ``--batch-size``, a batch of 128 (NASWOT's), or the proxies' own
    ``default_batch_size`` when they all declare the same one (``jacob_cov``: 256, the v1
    paper's); the bundled offline batch holds 20 images whatever is asked.
    """
    data_dir = args.data_dir
    if data_dir is None and find_dataset(args.dataset, default_data_dir()):
        data_dir = default_data_dir()
    size = args.batch_size
    own = {getattr(p, "default_batch_size", None) for p in proxies}
    if size is None and data_dir is not None and len(own) == 1 and None not in own:
        size = own.pop()
    return load_batch(args.dataset, data_dir=data_dir, batch_size=size, seed=seed)


def store_path(args: argparse.Namespace) -> Path | None:
    """The path of the result store the options name, or None with ``--no-store``."""
    if getattr(args, "no_store", True):
        return None
    path: Path = args.store or default_store_path()
    return path


def open_store(args: argparse.Namespace) -> ResultStore | None:
    """The result store named by the options, or None with ``--no-store``."""
    path = store_path(args)
    return None if path is None else ResultStore(path)


def check_outputs(
    args: argparse.Namespace, out: Path | None, *inputs: Path | None, option: str = "--out"
) -> None:
    """Refuses, before any work, an unwritable ``--out`` (or ``.meta.json``).

    Also refused: an output that names the store (or its -wal/-shm files) or one of ``inputs``.
    """
    if out is None:
        return
    store = store_path(args)
    check_output(out, option, inputs=inputs, store=store)
    check_output(_meta_path(out), f"{option}'s meta file", inputs=inputs, store=store)


IMAGENET_MIN_SIZE = 64
"""The smallest images an ImageNet space's networks are scored on without a note (at 64 pixels
their last cells still see 2x2 maps)."""


def note(args: argparse.Namespace, message: str) -> None:
    """A line on stderr, unless ``--quiet``."""
    if not args.quiet:
        print(message, file=sys.stderr)


def note_batch(
    args: argparse.Namespace, space: SearchSpace[Any], batch: Batch, detail: str = ""
) -> None:
    """Notes the batch's source (with ``detail``); once per command.

    Also a note when an ImageNet space gets images too small for its stems.
    """
    note(args, f"batch: {batch.source}{detail}")
    if not getattr(space, "imagenet", False) or batch.inputs.dim() != 4:
        return
    h, w = batch.inputs.shape[-2:]
    if min(h, w) < IMAGENET_MIN_SIZE:
        note(
            args,
            f"note: {space.name} builds ImageNet networks, whose stems divide the resolution by "
            f"4 to 8 before the cells' own reductions: {h}x{w} images leave 1x1 maps in the "
            "last cells, where proxies see little (and one-image ones fail); score them on "
            f"ImageNet-sized images, or use {space.name.removesuffix('-in')} for CIFAR-sized ones.",
        )


def format_score(value: float | None) -> str:
    """A score for people: 4 decimals, ``-inf``, or ``-`` when there is none."""
    if value is None:
        return "-"
    return "-inf" if value == -math.inf else f"{value:.4f}"


def write_meta(
    out: Path, args: argparse.Namespace, argv: Sequence[str] | None, info: dict[str, Any]
) -> Path:
    """Writes ``<out>.meta.json``: how the output was made."""
    meta = {
        "naswot_version": __version__,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "argv": list(argv) if argv is not None else sys.argv[1:],
        "options": {
            k: str(v) if isinstance(v, Path) else v
            for k, v in vars(args).items()
            if k not in ("run",)
        },
        **info,
    }
    path = _meta_path(out)
    with atomic_write(path) as f:
        f.write(json.dumps(meta, indent=2, default=str) + "\n")
    return path


def _meta_path(out: Path) -> Path:
    return out.with_name(out.name + ".meta.json")


def batch_info(batch: Batch) -> dict[str, Any]:
    """Provenance of a batch for the meta files."""
    return {
        "dataset": batch.dataset,
        "batch_source": batch.source,
        "batch_size": batch.size,
        "batch_seed": batch.seed,
        "batch_fingerprint": batch.fingerprint,
    }


def distinct_samples(space: SearchSpace[Any], k: int, seed: int) -> list[str]:
    """The keys of ``k`` distinct architectures drawn from ``space`` with ``seed``, in draw order.

    ``score --sample K`` and ``leaderboard --n-cells K`` draw the same cells for the same seed.
    """
    if isinstance(space, EnumerableSpace) and k > len(space):
        raise InvalidParameterError(
            f"--sample {k} asks for more distinct architectures than the space holds "
            f"({len(space)})."
        )
    rng = np.random.default_rng(seed)
    seen: dict[str, None] = {}
    draws = stale = 0
    patience = max(1000, 10 * k)  # draws without a new architecture before giving up
    while len(seen) < k:
        key = space.key(space.sample(rng))
        draws += 1
        stale = 0 if key not in seen else stale + 1
        seen.setdefault(key, None)
        if stale >= patience:
            found = len(seen)
            raise InvalidParameterError(
                f"Asked for {k} distinct architectures of the space {space.name!r}, but found "
                f"{found} distinct architecture{'s' if found != 1 else ''} in {draws} draws "
                f"(none new in the last {patience}); ask for fewer, or check its sample()."
            )
    return list(seen)


def read_arch_file(path: Path) -> list[str]:
    """Architecture keys from a file: one per line; blank lines and ``#`` comments skipped.

    UTF-8 with or without a byte-order mark, any line ends; each line is stripped.
    """
    try:
        lines = decode_text(path.read_bytes()).splitlines()
    except OSError as e:
        raise NaswotError(f"Cannot read architecture file {path}: {e.strerror}.") from None
    except UnicodeDecodeError as e:
        raise NaswotError(
            f"Cannot read architecture file {path}: it is not UTF-8 text ({e.reason} at byte "
            f"{e.start}); expected one architecture string per line."
        ) from None
    keys = [s.strip() for s in lines if s.strip() and not s.strip().startswith("#")]
    if not keys:
        raise InvalidParameterError(f"The architecture file {path} holds no architectures.")
    return keys
