"""The argparse options shared by the commands: scoring options, ``--ensemble``, int types."""

from __future__ import annotations

import argparse
from pathlib import Path

from naswot.data import DATASETS
from naswot.fast import PRECISIONS
from naswot.parallel import BACKENDS


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
        default=None,
        help="proxy, or a comma-separated list for `score` (default: naswot, or the members "
        "of --ensemble; see `naswot list proxies`)",
    )
    p.add_argument(
        "--variant",
        default="default",
        help="variant of every --proxy that has it (naswot: default = Eq. 1, each ReLU once; "
        "official = the official code's double counting; see `naswot list variants`); "
        "or write --proxy name:variant",
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
        help="minibatch size (default: 128, or 256 for jacob_cov alone as in the v1 paper; "
        "20 with the bundled images)",
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


def add_ensemble_option(p: argparse.ArgumentParser) -> None:
    """The ``--ensemble`` option of ``score`` and ``search``."""
    p.add_argument(
        "--ensemble",
        action="append",
        default=None,
        metavar="NAME|METHOD:A+B+...",
        help="combine proxies by rank: a named ensemble (`naswot list ensembles`: az_nas, "
        "vkdnw_agg, recommended) or METHOD:A+B (methods rank_sum, vote, log_rank), e.g. "
        "log_rank:naswot+zico+flops; its members are scored too, --proxy is not needed "
        "(repeatable). Ensemble scores are ranks within the architectures scored together.",
    )
