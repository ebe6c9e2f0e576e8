"""Options and helpers shared by the commands: names -> objects, batches, store, outputs."""

from __future__ import annotations

import argparse
import json
import math
import platform
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from naswot._malloc import tune_malloc
from naswot._version import __version__
from naswot.data import DATASETS, Batch, default_data_dir, find_dataset, load_batch
from naswot.exceptions import InvalidParameterError, NaswotError
from naswot.fast import FAST_SCORERS, PRECISIONS, FastScorer
from naswot.networks import NetworkBuilder
from naswot.parallel import BACKENDS, ScoringJob, score_parallel
from naswot.proxies import PROXIES, Naswot, Proxy
from naswot.proxies.ensemble import EnsembleSpec
from naswot.scoring import ScoreRecord
from naswot.spaces import EnumerableSpace, SearchSpace
from naswot.spaces.custom import resolve_space as custom_resolve_space
from naswot.store import ResultStore, default_store_path


def positive_int(text: str) -> int:
    """Argparse type: an int >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def add_scoring_options(p: argparse.ArgumentParser) -> None:
    """Options every scoring command takes."""
    p.add_argument(
        "--space",
        default="nb201",
        help="search space: a name from `naswot list spaces` (default: nb201) or "
        "module:attribute for your own space (docs/spaces.md)",
    )
    p.add_argument(
        "--proxy",
        default="naswot",
        help="proxy, or a comma-separated list for `score` (default: naswot; see "
        "`naswot list proxies`)",
    )
    p.add_argument(
        "--variant",
        default="default",
        help="proxy variant: default (Eq. 1, each ReLU once) or official (the "
        "official code's double counting)",
    )
    p.add_argument(
        "--dataset", default="cifar10", help=f"one of {', '.join(DATASETS)} (default: cifar10)"
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder holding the dataset's official folder (cifar-10-batches-py, "
        "cifar-100-python, ImageNet16); default: $NASWOT_DATA_DIR or "
        "~/.cache/naswot/data, else the 20 bundled CIFAR-10 images",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="minibatch size (default: 128; 20 with the bundled images)",
    )
    p.add_argument("--seed", type=int, default=1, help="seed of the batch, samples and inits")
    p.add_argument(
        "--store",
        type=Path,
        default=None,
        help="result store (default: $NASWOT_STORE or ~/.cache/naswot/store.sqlite)",
    )
    p.add_argument("--no-store", action="store_true", help="keep results in memory only")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    p.add_argument(
        "--engine",
        choices=["auto", "module", "fast"],
        default="auto",
        help="auto (default): the space's fast NASWOT scorer where there is one; "
        "module: build each network and hook it; fast: require the fast scorer",
    )
    p.add_argument(
        "--precision",
        choices=list(PRECISIONS),
        default="fp32",
        help="fp32 (default, exact) or bf16 (fast engine only; faster, scores differ "
        "slightly and are stored as their own variant)",
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="processes (or Ray tasks) scoring in parallel (default: 1)",
    )
    p.add_argument(
        "--threads",
        type=positive_int,
        default=None,
        help="torch threads per process (default: the cores divided by --workers)",
    )
    p.add_argument(
        "--backend",
        choices=list(BACKENDS),
        default="local",
        help="local processes (default) or a Ray cluster",
    )
    p.add_argument(
        "--address",
        default=None,
        help="Ray cluster address (--backend ray); default: start a local one",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar or notes on stderr")


def resolve_space(name: str) -> tuple[SearchSpace[Any], NetworkBuilder]:
    """The space and builder registered under ``name``, or of a ``module:attribute`` spec."""
    return custom_resolve_space(name)


DATASET_CLASSES = {
    "cifar10": 10,
    "cifar100": 100,
    "imagenet16-120": 120,
    "imagenette": 10,
    "noise": 10,
}


def resolve_proxies(names: str, variant: str) -> list[Proxy]:
    """The proxies of a comma-separated list of ``name`` or ``name:variant``.

    ``variant`` applies to a bare ``naswot``; other bare names take their first (default)
    variant. ``all`` stands for every registered proxy in its default variant plus the other
    NASWOT variants (the leaderboard's set).
    """
    out: list[Proxy] = []
    for item in [n.strip() for n in names.split(",") if n.strip()]:
        if item == "all":
            out += [resolve_proxy(n, PROXIES.get(n).variants[0]) for n in PROXIES.names()]
            out += [resolve_proxy("naswot", v) for v in Naswot.variants[1:]]
            continue
        name, _, given = item.partition(":")
        factory = PROXIES.get(name)
        default = variant if name == "naswot" else factory.variants[0]
        out.append(resolve_proxy(name, given or default))
    if not out:
        raise InvalidParameterError("--proxy names no proxy.")
    labels = [proxy_label(p) for p in out]
    repeated = sorted({lab for lab in labels if labels.count(lab) > 1})
    if repeated:
        raise InvalidParameterError(f"--proxy names {', '.join(repeated)} more than once.")
    return out


def proxy_label(proxy: Proxy) -> str:
    """``name`` for a proxy's default variant, else ``name:variant`` (as ``--proxy`` takes it)."""
    default = PROXIES.get(proxy.name).variants[0] if proxy.name in PROXIES else "default"
    return proxy.name if proxy.variant == default else f"{proxy.name}:{proxy.variant}"


def add_ensemble_option(p: argparse.ArgumentParser) -> None:
    """The ``--ensemble`` option of ``score`` and ``search``."""
    p.add_argument(
        "--ensemble",
        action="append",
        default=None,
        metavar="METHOD:A+B+...",
        help="combine proxies by rank (methods rank_sum, vote, log_rank), e.g. "
        "log_rank:naswot+zico+flops; the members must be in --proxy (repeatable). Ensemble "
        "scores are ranks within the architectures scored together.",
    )


def resolve_ensembles(specs: Sequence[str] | None, proxies: Sequence[Proxy]) -> list[EnsembleSpec]:
    """The ``--ensemble`` specs, each checked against the ``--proxy`` labels."""
    labels = [proxy_label(p) for p in proxies]
    out = [EnsembleSpec.parse(s) for s in specs or ()]
    for spec in out:
        absent = [m for m in spec.members if m not in labels]
        if absent:
            raise InvalidParameterError(
                f"Ensemble {spec.label!r} needs {', '.join(absent)} in --proxy "
                f"(given: {', '.join(labels)})."
            )
    return out


def ensemble_records(
    spec: EnsembleSpec, by_label: dict[str, list[ScoreRecord]]
) -> list[ScoreRecord]:
    """One record per architecture: the ensemble of its members' records (same order).

    A member's failure ranks below all its scores; the row's status is ``ok`` and its seconds
    the sum of the members'.
    """
    members = [by_label[m] for m in spec.members]
    combined = spec.combine(
        {m: [math.nan if r.score is None else r.score for r in by_label[m]] for m in spec.members}
    )
    out = []
    for i, value in enumerate(combined):
        spent = [rs[i].seconds for rs in members]
        out.append(
            ScoreRecord(
                arch=members[0][i].arch,
                proxy=spec.method,
                variant="+".join(spec.members),
                score=float(value),
                status="ok",
                error=None,
                seconds=None if None in spent else sum(s for s in spent if s is not None),
                n_units=None,
                cached=all(rs[i].cached for rs in members),
            )
        )
    return out


def n_classes_for(proxy: Proxy, dataset: str) -> int:
    """Network outputs for ``proxy``: 1 (as NASWOT), or the dataset's classes if it needs them."""
    return DATASET_CLASSES.get(dataset, 10) if getattr(proxy, "needs_classes", False) else 1


def resolve_proxy(name: str, variant: str) -> Proxy:
    """The proxy ``name`` in ``variant``."""
    factory = PROXIES.get(name)
    if variant not in factory.variants:
        raise InvalidParameterError(
            f"Unknown variant {variant!r} of proxy {name!r}. Choices: "
            f"{', '.join(factory.variants)}."
        )
    return factory(variant)


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
    if args.engine == "module" or not available:
        return None
    return FAST_SCORERS.get(space.name)(proxy.variant, precision=args.precision)


def score_keys(
    args: argparse.Namespace,
    keys: list[str],
    job: ScoringJob,
    store: ResultStore | None,
    *,
    progress: bool,
    on_record: Any = None,
) -> list[ScoreRecord]:  # Any: Callable[[ScoreRecord], None]
    """Scores ``keys`` serially or in parallel, as the options say."""
    if args.workers > 1 or args.backend != "local":
        records = score_parallel(
            keys,
            job,
            workers=args.workers,
            backend=args.backend,
            store=store,
            threads=args.threads,
            address=args.address,
            progress=progress,
        )
        if on_record is not None:
            for r in records:
                on_record(r)
        return records
    tune_malloc()
    if args.threads:
        torch.set_num_threads(args.threads)
    with stop_on_sigint(quiet=args.quiet) as stop:
        return job.run(keys, store=store, progress=progress, on_record=on_record, stop=stop)


@contextmanager
def stop_on_sigint(*, quiet: bool) -> Iterator[Callable[[], bool]]:
    """While active, a first Ctrl-C asks scoring to stop after the current architecture.

    Yields the ``stop`` callable for :func:`naswot.scoring.score_architectures`; a second Ctrl-C
    interrupts at once. Outside the main thread it changes nothing.
    """
    requested = [False]
    if threading.current_thread() is not threading.main_thread():
        yield lambda: requested[0]
        return

    def handler(signum: int, frame: object) -> None:
        if requested[0]:
            raise KeyboardInterrupt
        requested[0] = True
        if not quiet:
            print(
                "\nnaswot: stopping after the current architecture (Ctrl-C again to stop now)",
                file=sys.stderr,
            )

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: requested[0]
    finally:
        signal.signal(signal.SIGINT, previous)


def resolve_device(name: str) -> torch.device:
    """A torch device that exists here."""
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InvalidParameterError(f"Unknown device {name!r}; use cpu, cuda or cuda:N.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InvalidParameterError(f"Device {name!r} asked for, but CUDA is not available here.")
    if device.type not in ("cpu", "cuda"):
        raise InvalidParameterError(f"Device {name!r} is not supported; use cpu or cuda.")
    return device


def resolve_batch(args: argparse.Namespace, *, seed: int) -> Batch:
    """The minibatch the options describe; a dataset in the default data folder is used if found."""
    data_dir = args.data_dir
    if data_dir is None and find_dataset(args.dataset, default_data_dir()):
        data_dir = default_data_dir()
    return load_batch(args.dataset, data_dir=data_dir, batch_size=args.batch_size, seed=seed)


def open_store(args: argparse.Namespace) -> ResultStore | None:
    """The result store named by the options, or None with ``--no-store``."""
    if args.no_store:
        return None
    return ResultStore(args.store or default_store_path())


def note(args: argparse.Namespace, message: str) -> None:
    """A line on stderr, unless ``--quiet``."""
    if not args.quiet:
        print(message, file=sys.stderr)


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
    path = out.with_name(out.name + ".meta.json")
    path.write_text(json.dumps(meta, indent=2, default=str) + "\n")
    return path


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
    while len(seen) < k:
        seen.setdefault(space.key(space.sample(rng)), None)
    return list(seen)


def read_arch_file(path: Path) -> list[str]:
    """Architecture keys from a file: one per line; blank lines and ``#`` comments skipped."""
    try:
        lines = path.read_text().splitlines()
    except OSError as e:
        raise NaswotError(f"Cannot read architecture file {path}: {e.strerror}.") from None
    keys = [s.strip() for s in lines if s.strip() and not s.strip().startswith("#")]
    if not keys:
        raise InvalidParameterError(f"The architecture file {path} holds no architectures.")
    return keys
