"""Fault injection for tests: a network builder whose process dies on one architecture."""

from __future__ import annotations

import os
import signal
from typing import Any

from torch import nn

from naswot.networks import NetworkBuilder
from naswot.spaces import SearchSpace

__all__ = ["KillingBuilder"]


class KillingBuilder:
    """Builds as ``builder`` does, but kills its own process (``signum``) on the key ``victim``.

    Picklable, so a parallel worker can be made to die in the middle of a job (as the kernel's
    out-of-memory killer would do).
    """

    def __init__(
        self,
        builder: NetworkBuilder,
        space: SearchSpace[Any],
        victim: str,
        signum: int = signal.SIGKILL,
    ) -> None:
        self.builder = builder
        self.space = space
        self.victim = victim
        self.signum = signum

    def __call__(self, arch: Any, /, *, n_classes: int) -> nn.Module:  # Any: per space
        """The network of ``arch``; never returns for the victim."""
        if self.space.key(arch) == self.victim:
            os.kill(os.getpid(), self.signum)
        return self.builder(arch, n_classes=n_classes)
