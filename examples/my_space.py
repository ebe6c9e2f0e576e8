"""A worked example of a user-defined search space: the widths of a tiny CNN.

Score five random architectures of it with NASWOT (run from the repository root)::

    naswot score --space examples.my_space:space --sample 5 --dataset noise

An architecture is three stages of 3x3 conv-BN-ReLU followed by 2x2 max-pooling, then global
average pooling and a linear head; its key is the three stage widths, e.g. ``16-32-64``. With 4
widths per stage the space holds 4^3 = 64 architectures, listed by ``keys`` (so ``--all`` works).
"""

from __future__ import annotations

import itertools

import numpy as np
from torch import nn

WIDTHS = (8, 16, 32, 64)
N_STAGES = 3


class WidthSpace:
    """The space naswot loads: ``sample`` and ``build`` are required, the rest optional."""

    name = "my-widths"  # the space's name in the result store

    def sample(self, rng: np.random.Generator) -> str:
        """A key with every stage width drawn uniformly (use only ``rng`` for randomness)."""
        return "-".join(str(WIDTHS[int(k)]) for k in rng.integers(len(WIDTHS), size=N_STAGES))

    def validate(self, key: str) -> None:
        """Raises ValueError for keys that are not in the space (naswot reports it)."""
        parts = key.split("-")
        if len(parts) != N_STAGES or any(p not in {str(w) for w in WIDTHS} for p in parts):
            raise ValueError(f"expected {N_STAGES} widths from {WIDTHS} joined by '-'")

    def keys(self) -> list[str]:
        """Every key (optional: makes the space enumerable)."""
        return ["-".join(map(str, ws)) for ws in itertools.product(WIDTHS, repeat=N_STAGES)]

    def build(self, key: str, *, n_classes: int) -> nn.Module:
        """A fresh network for ``key``; naswot seeds torch before calling this."""
        layers: list[nn.Module] = []
        c_in = 3
        for width in map(int, key.split("-")):
            layers += [
                nn.Conv2d(c_in, width, 3, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(),  # NASWOT hooks nn.ReLU modules, not F.relu calls
                nn.MaxPool2d(2),
            ]
            c_in = width
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, n_classes)]
        return nn.Sequential(*layers)


space = WidthSpace()
