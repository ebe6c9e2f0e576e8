"""Training-free proxies. NASWOT first; each proxy is registered by name in ``PROXIES``."""

from __future__ import annotations

from naswot.proxies._base import Proxy, ProxyFactory, ScoreResult, Status
from naswot.proxies._kernel import hamming_kernel, log_abs_det
from naswot.proxies.naswot import Naswot, naswot_kernel, score
from naswot.registry import Registry

__all__ = [
    "PROXIES",
    "Naswot",
    "Proxy",
    "ProxyFactory",
    "ScoreResult",
    "Status",
    "hamming_kernel",
    "log_abs_det",
    "naswot_kernel",
    "score",
]

PROXIES: Registry[ProxyFactory] = Registry("proxy")
PROXIES.add(Naswot.name, Naswot)
