"""Search spaces as pure descriptions (no torch): sample, parse, format, mutate, enumerate."""

from __future__ import annotations

from typing import Any

from naswot.registry import Registry
from naswot.spaces._base import EnumerableSpace, MutableSpace, SearchSpace
from naswot.spaces.nasbench101 import NasBench101Space, Spec101
from naswot.spaces.nasbench201 import Cell201, NasBench201Space, parse_arch
from naswot.spaces.natsbench_sss import NatsSizeSpace, SizeArch
from naswot.spaces.nds import CELL_SPACES
from naswot.spaces.nds_anynet import NdsResNetSpace, NdsResNeXtASpace, NdsResNeXtBSpace

__all__ = [
    "SPACES",
    "Cell201",
    "EnumerableSpace",
    "MutableSpace",
    "NasBench101Space",
    "NasBench201Space",
    "NatsSizeSpace",
    "SearchSpace",
    "SizeArch",
    "Spec101",
    "parse_arch",
]

# Any: the registry holds spaces over different architecture types.
SPACES: Registry[SearchSpace[Any]] = Registry("space")
SPACES.add(NasBench201Space.name, NasBench201Space())
SPACES.add(NasBench101Space.name, NasBench101Space())
SPACES.add(NatsSizeSpace.name, NatsSizeSpace())
for _cls in (*CELL_SPACES, NdsResNetSpace, NdsResNeXtASpace, NdsResNeXtBSpace):
    for _imagenet in (False, True):
        _space = _cls(imagenet=_imagenet)
        SPACES.add(_space.name, _space)
