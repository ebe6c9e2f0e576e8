"""naswot: neural architecture search without training.

Example:
    >>> import torch, naswot
    >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 16), torch.nn.ReLU())
    >>> result = naswot.score(net, torch.randn(4, 3, 2, 2))
    >>> result.status.value
    'ok'
"""

from __future__ import annotations

from naswot._malloc import tune_malloc
from naswot._version import __version__
from naswot.data.batch import Batch
from naswot.exceptions import NaswotError
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
