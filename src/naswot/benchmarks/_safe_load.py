"""Safe loading of plain-data files: a restricted unpickler and weights-only torch loading."""

from __future__ import annotations

import bz2
import importlib
import pickle
import struct
import tarfile
import zipfile
from collections import OrderedDict
from typing import IO, Any, Final

import numpy as np

from naswot.exceptions import BenchmarkError, UnsafeFileError

# Errors that malformed (not hostile) pickled or compressed data can raise while loading.
_LOAD_ERRORS: Final = (
    pickle.UnpicklingError,
    EOFError,
    OSError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    RuntimeError,
    struct.error,
    zipfile.BadZipFile,
    tarfile.TarError,
)


class _Refused(UnsafeFileError):
    """What a plain-data loader refused to build; re-raised with the file's name."""


def _numpy_scalar() -> Any:
    """The numpy scalar constructor (``numpy._core`` in numpy 2, ``numpy.core`` before)."""
    try:
        return importlib.import_module("numpy._core.multiarray").scalar
    except ImportError:  # numpy 1.x
        return importlib.import_module("numpy.core.multiarray").scalar


def _plain_numpy_scalar(dtype: Any, *args: Any) -> Any:
    """The numpy scalar constructor, for plain numbers only (bool, int, float, complex dtypes).

    Pickles name the constructor ``numpy._core.multiarray.scalar`` (numpy 2) or
    ``numpy.core.multiarray.scalar`` (numpy 1); both resolve here.
    """
    if (
        not isinstance(dtype, np.dtype)
        or dtype.kind not in "biufc"
        or dtype.hasobject
        or dtype.fields is not None
        or dtype.subdtype is not None
    ):
        raise _Refused(f"a numpy scalar of dtype {dtype!r}")
    return _numpy_scalar()(dtype, *args)


_SCALAR_NAMES: Final = ("numpy._core.multiarray.scalar", "numpy.core.multiarray.scalar")


def _torch_safe_globals() -> list[Any]:
    """What torch's weights-only loader must allow to rebuild numpy scalars (plain numbers).

    The dtype classes are needed because torch rebuilds a dtype with ``__setstate__``.
    """
    allowed: list[Any] = [(_plain_numpy_scalar, name) for name in _SCALAR_NAMES]
    allowed.append(np.dtype)
    dtypes = getattr(np, "dtypes", None)
    if dtypes is not None:
        allowed += [
            getattr(dtypes, name)
            for name in dir(dtypes)
            if name.endswith("DType") and name not in ("ObjectDType", "VoidDType")
        ]
    return allowed


def _weights_only_detail(message: str) -> str | None:
    """The reason in torch's weights-only refusal message, or None for other unpickling errors."""
    for line in message.splitlines():
        text = line.strip()
        if "Unsupported global" in text or "Can only build" in text or "Unsupported class" in text:
            text = text.removeprefix("WeightsUnpickler error:").strip()
            # Drop torch's advice on allow-listing the global: naswot will not.
            return text.split(" was not an allowed global", 1)[0].split(". Please", 1)[0]
    return None


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


class _PlainDataUnpickler(pickle.Unpickler):
    """Builds plain data only: any global outside a short allow-list is refused, unbuilt.

    Containers, strings and numbers need no global with the pickle protocols NATS-Bench uses;
    the allowed globals are ``collections.OrderedDict``, ``set``/``frozenset`` (protocols < 4
    write them as globals), ``numpy.dtype`` and numpy's scalar constructor restricted to
    number dtypes (numpy numbers such as ``params``).
    """

    def find_class(self, module: str, name: str) -> Any:
        """Returns an allowed global; raises for every other one."""
        allowed = _PICKLE_ALLOWED.get((module, name))
        if allowed is None:
            raise _Refused(f"{module}.{name}")
        return allowed


_PICKLE_ALLOWED: Final[dict[tuple[str, str], Any]] = {
    ("collections", "OrderedDict"): OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("numpy", "dtype"): np.dtype,
    ("numpy._core.multiarray", "scalar"): _plain_numpy_scalar,
    ("numpy.core.multiarray", "scalar"): _plain_numpy_scalar,
}


def _load_pbz2(file: IO[bytes], name: str) -> Any:
    """Decompresses and unpickles one ``.pickle.pbz2`` with the plain-data unpickler.

    Raises:
        UnsafeFileError: if the pickle asks for anything but plain data.
        BenchmarkError: if it is not a bz2-compressed pickle.
    """
    try:
        with bz2.open(file, "rb") as data:
            return _PlainDataUnpickler(data).load()
    except _Refused as e:
        raise UnsafeFileError(
            f"{name} asks to build {e}, which is not plain data; naswot refuses to load it "
            "(unpickling it could run code)."
        ) from None
    except _LOAD_ERRORS as e:
        raise BenchmarkError(
            f"{name} is not a readable bz2-compressed pickle ({type(e).__name__}: "
            f"{_first_line(e)})."
        ) from None
