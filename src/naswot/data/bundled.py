"""The offline default batch: 20 CIFAR-10 test images that ship inside naswot.

They are the first 20 images of the CIFAR-10 test set, taken losslessly from the MIT-licensed
``foolbox==3.3.4`` wheel by ``scripts/make_bundled_batch.py``; see ``_bundled/ATTRIBUTION.md``.
"""

from __future__ import annotations

import zipfile
from importlib import resources

import numpy as np
import numpy.typing as npt

from naswot.exceptions import DataError

__all__ = [
    "BUNDLED_DESCRIPTION",
    "BUNDLED_FILE",
    "BUNDLED_SIZE",
    "load_bundled_cifar10",
]

#: The file inside ``naswot/data/_bundled/``.
BUNDLED_FILE = "cifar10_foolbox_test20.npz"
#: How many images the bundled batch holds.
BUNDLED_SIZE = 20
#: A one-line description of where the bundled images come from.
BUNDLED_DESCRIPTION = "20 bundled CIFAR-10 test images (foolbox 3.3.4, MIT)"


def load_bundled_cifar10() -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Reads the 20 bundled CIFAR-10 test images (test-set indices 0-19, in order).

    Returns:
        ``(images, labels)``: uint8 ``(20, 32, 32, 3)`` RGB images and int64 ``(20,)`` labels
        (``3, 8, 8, 0, 6, 6, 1, 6, 3, 1, 0, 9, 5, 7, 9, 8, 5, 7, 8, 6``).

    Raises:
        DataError: if the packaged file is missing or damaged (a broken installation).

    Example:
        >>> images, labels = load_bundled_cifar10()
        >>> images.shape, labels[:4].tolist()
        ((20, 32, 32, 3), [3, 8, 8, 0])
    """
    resource = resources.files("naswot.data") / "_bundled" / BUNDLED_FILE
    try:
        with resource.open("rb") as f, np.load(f, allow_pickle=False) as npz:
            images = np.ascontiguousarray(npz["images"])
            labels = np.ascontiguousarray(npz["labels"])
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise DataError(
            f"The bundled batch {BUNDLED_FILE} of naswot is missing or damaged ({exc}); "
            "reinstall naswot, or pass --data-dir to read CIFAR-10 from disk."
        ) from exc
    if (
        images.dtype != np.uint8
        or images.shape != (BUNDLED_SIZE, 32, 32, 3)
        or labels.dtype != np.int64
        or labels.shape != (BUNDLED_SIZE,)
    ):
        raise DataError(
            f"The bundled batch {BUNDLED_FILE} of naswot holds images {images.dtype} "
            f"{images.shape} and labels {labels.dtype} {labels.shape}, not uint8 "
            f"({BUNDLED_SIZE}, 32, 32, 3) and int64 ({BUNDLED_SIZE},); reinstall naswot."
        )
    return images, labels
