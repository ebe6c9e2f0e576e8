"""The argparse options shared by the commands: scoring options, ``--ensemble``, int types.

Torch-free at import (``replay`` and ``evaluate`` run without loading torch): the choices of the
scoring options come from torch modules, imported when a scoring command's parser is built.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from naswot._io import quote
from naswot.ensembles import NAMED_ENSEMBLES, resolve_ensemble
from naswot.evaluation.scores import (
    SHIPPED_TABLES,
    MissingRowsError,
    ScoreTable,
    ensemble_table,
    load_score_tables,
    load_scores,
    scores_location,
)
from naswot.exceptions import InvalidParameterError
from naswot.spaces import SPACES, SearchSpace

MAX_COUNT = 1_000_000
"""The largest count an option takes (samples, cells, runs, budgets): more would fill memory
before the first result, and take years to score."""

MAX_SEED = 2**63 - 1


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {quote(text)}") from None


SCORES_HELP = (
    "a score CSV from `naswot score --out`, or shipped:NAME for a table shipped with naswot "
    f"(all 15,625 NB201 cells: {', '.join('shipped:' + n for n in SHIPPED_TABLES)}; "
    "default: shipped:naswot)"
)


def scores_file(text: str) -> Path:
    """A ``--scores`` value: a score CSV, or ``shipped:NAME`` (:func:`scores_location`)."""
    try:
        return scores_location(text)
    except InvalidParameterError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def positive_int(text: str) -> int:
    """Argparse type: an int from 1 to :data:`MAX_COUNT`."""
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    if value > MAX_COUNT:
        raise argparse.ArgumentTypeError(
            f"expected a number at most {MAX_COUNT:,}, got {quote(value, 40)}"
        )
    return value


def count_int(text: str) -> int:
    """Argparse type: an int from 0 to :data:`MAX_COUNT` (e.g. bootstrap resamples)."""
    value = _whole(text)
    if value < 0 or value > MAX_COUNT:
        raise argparse.ArgumentTypeError(
            f"expected a number from 0 to {MAX_COUNT:,}, got {quote(value, 40)}"
        )
    return value


def seed_int(text: str) -> int:
    """Argparse type: a seed, an int from 0 to 2**63 - 1 (NumPy refuses negative seeds)."""
    value = _whole(text)
    if value < 0 or value > MAX_SEED:
        raise argparse.ArgumentTypeError(
            f"expected a seed >= 0 and < 2**63, got {quote(value, 40)}"
        )
    return value


MAX_SECONDS = 1e8
"""The largest time budget an option takes (about three years)."""


def _finite_positive(text: str, number: str, noun: str, limit: float = math.inf) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {number}, got {quote(text)}") from None
    if not (0 < value <= limit and math.isfinite(value)):  # refuses NaN and inf too
        bound = f" and at most {limit:g}" if math.isfinite(limit) else ""
        raise argparse.ArgumentTypeError(f"expected {noun} > 0{bound}, got {quote(text, 40)}")
    return value


def positive_seconds(text: str) -> float:
    """Argparse type: a finite number of seconds > 0 and at most :data:`MAX_SECONDS`."""
    return _finite_positive(text, "a number of seconds", "seconds", MAX_SECONDS)


def positive_number(text: str) -> float:
    """Argparse type: a finite number > 0 (a budget: millions of parameters, ms)."""
    return _finite_positive(text, "a number", "a finite number")


def add_scoring_options(
    p: argparse.ArgumentParser, *, proxy: str | None = None, batch_size: int | None = None
) -> None:
    """Options every scoring command takes; ``proxy`` and ``batch_size`` are the defaults.

    ``proxy=None``: ``naswot``, or the members of ``--ensemble`` when one is given.
    """
    from naswot.data import DATASETS
    from naswot.fast import KERNELS, PRECISIONS
    from naswot.networks.layout import LAYOUT_CHOICES
    from naswot.parallel import BACKENDS

    p.add_argument(
        "--space",
        default="nb201",
        help="search space: a name from `naswot list spaces` (default: nb201) or "
        "module:attribute for your own space (docs/spaces.md)",
    )
    p.add_argument(
        "--proxy",
        default=proxy,
        help="proxy, or a comma-separated list for `score` (default: "
        + ("naswot, or the members of --ensemble" if proxy is None else proxy)
        + "; see `naswot list proxies`)",
    )
    p.add_argument(
        "--variant",
        default="default",
        help="variant of every --proxy that has it (naswot: default = Eq. 1, each ReLU once; "
        "official = the official code's double counting; see `naswot list variants`); "
        "or write --proxy name:variant (default: default)",
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
        default=batch_size,
        help=(
            "minibatch size (default: 128, or 256 for jacob_cov alone as in the v1 paper; "
            "20 with the bundled images)"
            if batch_size is None
            else f"minibatch size (default: {batch_size}; at most 20 with the bundled images)"
        ),
    )
    p.add_argument(
        "--seed", type=seed_int, default=1, help="seed of the batch, samples and inits (default: 1)"
    )
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
        "--kernels",
        choices=list(KERNELS),
        default="auto",
        help="elementwise passes of the fast engine: auto (default: fused C kernels where a C "
        "compiler is there, else PyTorch ops), fused (require them) or eager (PyTorch ops); "
        "recorded in the engine name (fast-fused)",
    )
    p.add_argument(
        "--layout",
        choices=list(LAYOUT_CHOICES),
        default="auto",
        help="memory layout of the built networks: auto (default: channels_last on the CPU, "
        "about 1.3-1.5x faster for the module proxies, nchw on a GPU), nchw (PyTorch's) or "
        "channels_last; scores differ by rounding between layouts and are stored under their "
        "own engine (module, module-channels_last); the fast NASWOT scorer has its own",
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
        default=1,
        help="torch threads per process (default: 1; on a shared machine more threads per "
        "process stall in OpenMP, see docs/performance.md; use --workers for more cores)",
    )
    p.add_argument(
        "--backend",
        choices=list(BACKENDS),
        default="local",
        help="local (default): processes on this machine; ray: a Ray cluster",
    )
    p.add_argument(
        "--address",
        default=None,
        help="Ray cluster address (--backend ray); default: start a local one",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar or notes on stderr")


ENSEMBLE_NAMES = ", ".join(NAMED_ENSEMBLES.names())


def add_rows_options(p: argparse.ArgumentParser) -> None:
    """``--proxy`` / ``--ensemble``: which rows of a score file a command reads."""
    p.add_argument(
        "--proxy",
        default=None,
        help="the rows to use when the score file holds several proxies: a label such as "
        "zico, naswot:official or log_rank:naswot+zico+flops",
    )
    p.add_argument(
        "--ensemble",
        default=None,
        metavar="NAME|METHOD:A+B+...",
        help="combine proxies of the score file: a name from `naswot list ensembles` "
        f"({ENSEMBLE_NAMES}) or METHOD:A+B (methods rank_sum, vote, log_rank), "
        "e.g. log_rank:naswot+zico+flops; ranks within the file's cells",
    )


def resolve_space_only(name: str) -> SearchSpace[Any]:
    """The space of a registered name or a ``module:attribute`` spec, without its builder.

    For the commands that read tables and build no network (``replay``, ``evaluate``): the
    registered spaces are torch-free, so these commands do not load torch.
    """
    from naswot.spaces.custom import is_custom_spec, load_custom_space

    if is_custom_spec(name):
        return load_custom_space(name)[0]
    return SPACES.get(name)


def rows_table(args: argparse.Namespace, space: SearchSpace[Any]) -> ScoreTable:
    """The score table :func:`add_rows_options` name: one proxy's rows, or an ensemble's."""
    if args.ensemble is None:
        return load_scores(args.scores, space, proxy=args.proxy)
    if args.proxy is not None:
        raise InvalidParameterError("--proxy and --ensemble exclude each other.")
    spec = resolve_ensemble(args.ensemble)
    try:
        tables = load_score_tables(args.scores, space, spec.members)
    except MissingRowsError as e:
        raise InvalidParameterError(
            f"The ensemble {spec.label!r} ({spec.spec}) needs {', '.join(e.missing)}, which "
            f"the score file lacks (it holds: {', '.join(e.held) or 'nothing'}); score "
            f"them with `naswot score --ensemble {spec.label} ...`."
        ) from None
    return ensemble_table(tables, spec)


def add_ensemble_option(p: argparse.ArgumentParser) -> None:
    """The ``--ensemble`` option of ``score`` and ``search``."""
    p.add_argument(
        "--ensemble",
        action="append",
        default=None,
        metavar="NAME|METHOD:A+B+...",
        help="combine proxies by rank: a named ensemble (`naswot list ensembles`: "
        f"{ENSEMBLE_NAMES}) or METHOD:A+B (methods rank_sum, vote, log_rank), e.g. "
        "log_rank:naswot+zico+flops; its members are scored too, --proxy is not needed "
        "(repeatable). Ensemble scores are ranks within the architectures scored together.",
    )
