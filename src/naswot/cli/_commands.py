"""The commands of ``naswot``: name -> (module, one-line help), in ``naswot --help`` order.

Torch-free, so that ``naswot --help`` and the table commands (``replay``, ``evaluate``) start
without importing the scoring modules: :func:`naswot.cli.main.build_parser` imports only the
module of the command being run.
"""

from __future__ import annotations

COMMANDS: dict[str, tuple[str, str]] = {
    "score": ("naswot.cli._score", "score architectures"),
    "search": ("naswot.cli._search", "search a space with a training-free score"),
    "export": (
        "naswot.cli._export",
        "write an architecture's network as a torch.export program with its card",
    ),
    "train": (
        "naswot.cli._train",
        "train an architecture with the NAS-Bench-201 recipe (log, checkpoints, resume)",
    ),
    "evaluate": ("naswot.cli._evaluate", "rank correlation of scores with benchmark accuracy"),
    "leaderboard": (
        "naswot.cli._leaderboard",
        "score a seeded pool of cells with every proxy and rank the proxies",
    ),
    "replay": (
        "naswot.cli._replay",
        "simulate NASWOT search over scored cells (the paper's Table 2)",
    ),
    "evolve": (
        "naswot.cli._evolve",
        "simulate REA or AREA (score-assisted REA) on a benchmark",
    ),
    "plot": ("naswot.cli._plot", "draw the paper's figures (PNG or PDF)"),
    "bench": ("naswot.cli._bench", "convert benchmark files"),
    "data": ("naswot.cli._data", "download datasets"),
    "list": (
        "naswot.cli._list",
        "list registered spaces, proxies, variants, datasets or ensembles",
    ),
}


def command_help(name: str) -> str:
    """The one-line help of command ``name``."""
    return COMMANDS[name][1]
