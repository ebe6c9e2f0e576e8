"""Seed helpers: every random draw in naswot starts from an explicit seed."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

__all__ = ["as_generator", "derive_seed", "torch_seeded"]


def as_generator(seed: int | np.random.Generator) -> np.random.Generator:
    """Returns ``seed`` if it is a Generator, else a new PCG64 Generator seeded with it."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def derive_seed(seed: int, *keys: str | int) -> int:
    """A 63-bit seed derived from ``seed`` and ``keys`` by a stable hash.

    Used for per-architecture initialisation so that a score depends only on (seed, architecture),
    never on the order in which architectures are scored or how the work is split.
    """
    h = hashlib.sha256(str(seed).encode())
    for key in keys:
        h.update(b"\x00")
        h.update(str(key).encode())
    return int.from_bytes(h.digest()[:8], "little") >> 1


@contextmanager
def torch_seeded(seed: int, *, devices: list[torch.device] | None = None) -> Iterator[None]:
    """Seeds torch's global generators inside the block and restores their state afterwards."""
    cuda_devices = [d.index or 0 for d in devices or [] if d.type == "cuda"]
    with torch.random.fork_rng(devices=cuda_devices):
        torch.manual_seed(seed)
        yield
