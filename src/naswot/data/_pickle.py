"""Reading the official CIFAR-10/100 and downsampled-ImageNet pickles safely.

The official "python version" dataset files are pickles. ``pickle.load`` on an untrusted pickle can
run arbitrary code, so naswot reads them with an unpickler that resolves only the handful of globals
those files contain (numpy array reconstruction, plus ``_codecs.encode``, which protocol-2 pickles
written by Python 3 use to store bytes). Anything else is refused before it is imported or called.
"""

from __future__ import annotations

import importlib
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from naswot.exceptions import DataError, UnsafeFileError

__all__ = ["ALLOWED_GLOBALS", "read_image_batch", "safe_load_pickle"]

#: The (module, name) pairs a CIFAR/ImageNet16 pickle may ask for. ``numpy.core`` was renamed
#: ``numpy._core`` in numpy 2; files name either, depending on the numpy that wrote them.
ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }
)

# Errors that a truncated or garbled pickle stream raises from inside ``pickle.Unpickler.load``.
_CORRUPT_ERRORS: tuple[type[BaseException], ...] = (
    pickle.UnpicklingError,
    EOFError,
    AttributeError,
    IndexError,
    KeyError,
    TypeError,
    ValueError,
    OverflowError,
    UnicodeDecodeError,
    MemoryError,
)


def _numpy_multiarray() -> object:
    """The module holding ``_reconstruct``/``scalar`` in the installed numpy (1.x or 2.x)."""
    try:
        return importlib.import_module("numpy._core.multiarray")
    except ImportError:  # numpy < 2 has only numpy.core
        return importlib.import_module("numpy.core.multiarray")


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler whose ``find_class`` resolves only :data:`ALLOWED_GLOBALS`."""

    def __init__(self, file: BinaryIO, path: Path) -> None:
        super().__init__(file, encoding="latin1")
        self._path = path

    def find_class(self, module: str, name: str) -> Callable[..., object]:
        """Returns the allowed global ``module.name``; refuses every other one.

        Raises:
            UnsafeFileError: if ``module.name`` is not one of :data:`ALLOWED_GLOBALS`.
        """
        if (module, name) not in ALLOWED_GLOBALS:
            raise UnsafeFileError(
                f"refusing to load {self._path}: it asks for the global '{module}.{name}', "
                "which a CIFAR/ImageNet16 file never contains."
            )
        if module == "_codecs":
            return importlib.import_module("_codecs").encode  # type: ignore[no-any-return]
        if module == "numpy":
            return getattr(importlib.import_module("numpy"), name)  # type: ignore[no-any-return]
        # numpy.core.multiarray or numpy._core.multiarray: resolve to the installed numpy's module
        # so that numpy 2 does not warn about the deprecated numpy.core alias.
        return getattr(_numpy_multiarray(), name)  # type: ignore[no-any-return]


def safe_load_pickle(path: str | os.PathLike[str]) -> object:
    """Loads a CIFAR-10/100 or downsampled-ImageNet pickle without letting it run code.

    The file is read with ``encoding="latin1"`` (the official files are Python 2 pickles) by an
    unpickler that resolves only numpy array reconstruction and ``_codecs.encode``.

    Args:
        path: the pickle file.

    Returns:
        The unpickled object (for the official files, a dict).

    Raises:
        UnsafeFileError: if the pickle asks for any other global (it could run code); nothing
            that the pickle asks for is imported or called.
        DataError: if the file cannot be read or is not a complete pickle.

    Example:
        >>> batch = safe_load_pickle("cifar-10-batches-py/data_batch_1")  # doctest: +SKIP
        >>> batch["data"].shape  # doctest: +SKIP
        (10000, 3072)
    """
    path = Path(path)
    try:
        with path.open("rb") as f:
            try:
                return _RestrictedUnpickler(f, path).load()
            except UnsafeFileError:
                raise
            except _CORRUPT_ERRORS as exc:
                raise DataError(
                    f"{path} is not a readable CIFAR/ImageNet16 pickle (truncated or corrupt?): "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
    except OSError as exc:
        raise DataError(f"Cannot read {path}: {exc.strerror or exc}.") from exc


def read_image_batch(
    path: Path, *, label_key: str, side: int, label_range: tuple[int, int]
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Reads one official batch file: a pickled dict of channel-planar images and labels.

    Args:
        path: the batch file.
        label_key: the dict key that holds the labels (``labels`` or ``fine_labels``).
        side: the image side in pixels (32 for CIFAR, 16 for ImageNet16); ``data`` must have
            ``3 * side * side`` columns (the red, then green, then blue plane, row-major).
        label_range: the smallest and largest label allowed (inclusive).

    Returns:
        ``(images, labels)``: uint8 ``(N, side, side, 3)`` (C-contiguous) and int64 ``(N,)``.

    Raises:
        UnsafeFileError: see :func:`safe_load_pickle`.
        DataError: if the file does not hold such a dict.
    """
    obj = safe_load_pickle(path)
    if not isinstance(obj, dict):
        raise DataError(
            f"{path} holds a {type(obj).__name__}, not the dict with 'data' and "
            f"'{label_key}' of an official batch file."
        )
    # Python 2 pickles read with encoding="latin1" have str keys; files re-saved after a
    # ``pickle.load(..., encoding="bytes")`` have bytes keys. Accept both.
    entries = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}
    for key in ("data", label_key):
        if key not in entries:
            found = ", ".join(repr(k) for k in entries) or "none"
            raise DataError(f"{path} has no {key!r} entry (its keys: {found}).")
    data = entries["data"]
    columns = 3 * side * side
    if (
        not isinstance(data, np.ndarray)
        or data.dtype != np.uint8
        or data.ndim != 2
        or data.shape[1] != columns
        or data.shape[0] == 0
    ):
        got = (
            f"a {data.dtype} array of shape {data.shape}"
            if isinstance(data, np.ndarray)
            else f"a {type(data).__name__}"
        )
        raise DataError(
            f"{path}: 'data' must be a non-empty uint8 array of shape (N, {columns}); got {got}."
        )
    labels = np.asarray(entries[label_key])
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise DataError(
            f"{path}: {label_key!r} must be a list of ints; got {labels.dtype} values of "
            f"shape {labels.shape}."
        )
    n = data.shape[0]
    if labels.shape[0] != n:
        raise DataError(f"{path} holds {n} images but {labels.shape[0]} labels.")
    low, high = label_range
    if labels.min() < low or labels.max() > high:
        raise DataError(
            f"{path}: labels must lie in {low}..{high}; found {labels.min()}..{labels.max()}."
        )
    images = np.ascontiguousarray(data.reshape(n, 3, side, side).transpose(0, 2, 3, 1))
    return images, labels.astype(np.int64)
