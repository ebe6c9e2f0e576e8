"""The NAS-Bench-201 ``.pth`` reader: weights-only loading and the file's layout."""

from __future__ import annotations

import contextlib
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import numpy as np
import torch

from naswot.benchmarks._safe_load import (
    _LOAD_ERRORS,
    _first_line,
    _Refused,
    _torch_safe_globals,
    _weights_only_detail,
)
from naswot.exceptions import BenchmarkError, UnsafeFileError

# NAS-Bench-201 .pth names the schedules "less" and "full".
_NB201_HPS: Final[dict[str, str]] = {"less": "12", "full": "200"}
_NB201_KEYS: Final = ("meta_archs", "arch2infos", "evaluated_indexes")

_NB201_HOWTO: Final = (
    "Download NAS-Bench-201-v1_0-e61699.pth or NAS-Bench-201-v1_1-096897.pth from the "
    "links in the NAS-Bench-201 README (https://github.com/D-X-Y/NAS-Bench-201), then run "
    "`naswot bench convert nb201 NAS-Bench-201-v1_1-096897.pth nb201.csv`."
)


def _sorted_indexes(arch2infos: Mapping[Any, Any], n_archs: int, src: Path) -> list[int]:
    indexes = []
    for index in arch2infos:
        if isinstance(index, bool) or not isinstance(index, int | np.integer):
            raise BenchmarkError(f"{src}: arch2infos has the key {index!r}, not an integer index.")
        if not 0 <= int(index) < n_archs:
            raise BenchmarkError(
                f"{src}: arch2infos has index {index}, outside meta_archs (0..{n_archs - 1})."
            )
        indexes.append(int(index))
    return sorted(indexes)


def _torch_load_plain(src: Path) -> Any:
    """``torch.load(src, weights_only=True)``, allowing numpy scalars; nothing else is run."""
    safe_globals = getattr(torch.serialization, "safe_globals", None)
    context: contextlib.AbstractContextManager[Any] = (
        safe_globals(_torch_safe_globals())
        if safe_globals is not None
        else contextlib.nullcontext()
    )
    refused = (
        f"{src} is not a plain-data NAS-Bench-201 file: safe (weights-only) loading refused it "
        "({}). naswot does not load such files, because unpickling them could run code. "
        + _NB201_HOWTO
    )
    try:
        with context:
            return torch.load(src, map_location="cpu", weights_only=True)
    except _Refused as e:
        raise UnsafeFileError(refused.format(e)) from None
    except pickle.UnpicklingError as e:
        detail = _weights_only_detail(str(e))
        if detail is not None:
            raise UnsafeFileError(refused.format(detail)) from None
        raise BenchmarkError(f"{src} is not a readable torch file: {_first_line(e)}") from None
    except _LOAD_ERRORS as e:
        raise BenchmarkError(
            f"{src} is not a readable torch file ({type(e).__name__}: {_first_line(e)}). "
            f"{_NB201_HOWTO}"
        ) from None
