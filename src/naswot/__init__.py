"""naswot: neural architecture search without training.

The names below load on first use, so ``import naswot.spaces`` (or ``naswot.evaluation``,
``naswot.ensembles``) does not import torch.

Example:
    >>> import torch, naswot
    >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 16), torch.nn.ReLU())
    >>> result = naswot.score(net, torch.randn(4, 3, 2, 2))
    >>> result.status.value
    'ok'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from naswot._malloc import tune_malloc
from naswot._version import __version__
from naswot.exceptions import NaswotError

if TYPE_CHECKING:
    from naswot.data.batch import Batch
    from naswot.proxies import ScoreResult, Status, score

__all__ = [
    "Batch",
    "NaswotError",
    "ScoreResult",
    "Status",
    "__version__",
    "score",
    "tune_malloc",
]

_LAZY = {
    "Batch": "naswot.data.batch",
    "ScoreResult": "naswot.proxies",
    "Status": "naswot.proxies",
    "score": "naswot.proxies",
}


def __getattr__(name: str) -> Any:  # Any: one of the lazily loaded names above
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'naswot' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
