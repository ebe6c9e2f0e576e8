"""Training-free proxies: NASWOT and the zero-cost suite, each registered by name in ``PROXIES``.

Every entry of ``PROXIES`` is a proxy class that is its own factory (``PROXIES.get(name)(variant)``)
and says what scoring it needs: ``higher_is_better``, ``needs_labels`` (the batch must carry
targets) and ``needs_classes`` (build the network with the dataset's number of classes rather than
one output). Rank aggregation of several proxies lives in :mod:`naswot.ensembles`.
"""

from __future__ import annotations

from naswot.proxies._base import DEGENERATE, Proxy, ProxyFactory, ScoreResult, Status
from naswot.proxies._common import ProxyClass
from naswot.proxies._kernel import hamming_kernel, log_abs_det
from naswot.proxies.az_nas import AzComplexity, AzExpressivity, AzProgressivity, AzTrainability
from naswot.proxies.epe_nas import EpeNas
from naswot.proxies.epsinas import Epsinas
from naswot.proxies.fisher import Fisher
from naswot.proxies.flops import Flops
from naswot.proxies.grad_norm import GradNorm
from naswot.proxies.grasp import Grasp
from naswot.proxies.jacob_cov import JacobCov
from naswot.proxies.l2_norm import L2Norm
from naswot.proxies.linear_regions import LinearRegions
from naswot.proxies.meco import Meco
from naswot.proxies.naswot import Naswot, naswot_kernel, score
from naswot.proxies.ntk import Ntk
from naswot.proxies.params import Params
from naswot.proxies.plain import Plain
from naswot.proxies.snip import Snip
from naswot.proxies.swap import Swap
from naswot.proxies.synflow import Synflow
from naswot.proxies.vkdnw import Vkdnw
from naswot.proxies.zen import Zen
from naswot.proxies.zico import Zico
from naswot.registry import Registry

__all__ = [
    "DEGENERATE",
    "PROXIES",
    "AzComplexity",
    "AzExpressivity",
    "AzProgressivity",
    "AzTrainability",
    "EpeNas",
    "Epsinas",
    "Fisher",
    "Flops",
    "GradNorm",
    "Grasp",
    "JacobCov",
    "L2Norm",
    "LinearRegions",
    "Meco",
    "Naswot",
    "Ntk",
    "Params",
    "Plain",
    "Proxy",
    "ProxyClass",
    "ProxyFactory",
    "ScoreResult",
    "Snip",
    "Status",
    "Swap",
    "Synflow",
    "Vkdnw",
    "Zen",
    "Zico",
    "hamming_kernel",
    "log_abs_det",
    "naswot_kernel",
    "score",
]

PROXIES: Registry[ProxyClass] = Registry("proxy")
for _proxy in (
    Naswot,
    JacobCov,
    Params,
    Flops,
    Synflow,
    Snip,
    Grasp,
    Fisher,
    GradNorm,
    L2Norm,
    Plain,
    EpeNas,
    Zen,
    Zico,
    Meco,
    Swap,
    Epsinas,
    Ntk,
    LinearRegions,
    AzExpressivity,
    AzProgressivity,
    AzTrainability,
    AzComplexity,
    Vkdnw,
):
    PROXIES.add(_proxy.name, _proxy)
del _proxy
