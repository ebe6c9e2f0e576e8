"""Readers for the official CIFAR-10 and CIFAR-100 "python version" files.

``naswot data download cifar10 --data-dir DIR`` (or unpacking ``cifar-10-python.tar.gz`` by hand)
gives ``DIR/cifar-10-batches-py/`` with ``data_batch_1`` .. ``data_batch_5`` and ``test_batch``;
CIFAR-100 gives ``DIR/cifar-100-python/`` with ``train`` and ``test``. Each file is a pickled dict
whose ``data`` is a uint8 array of N x 3072 (the 1,024 red, then green, then blue values of each
32x32 image, row-major); the labels are in ``labels`` (CIFAR-10) or ``fine_labels`` (CIFAR-100).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from naswot._io import quote
from naswot.data._pickle import read_image_batch
from naswot.exceptions import DataError, DatasetNotFoundError, InvalidParameterError

__all__ = ["CIFAR_LAYOUTS", "CifarLayout", "load_cifar"]


@dataclass(frozen=True)
class CifarLayout:
    """Where one CIFAR dataset's official files live and what they hold.

    Attributes:
        name: the dataset name (``cifar10`` or ``cifar100``).
        title: the human-readable name (``CIFAR-10``).
        folder: the folder the official archive unpacks to.
        archive: the file name of the official archive.
        train_files: the training-split files inside ``folder``.
        test_files: the test-split files inside ``folder``.
        label_key: the dict key holding the labels.
        n_classes: the number of classes (labels are ``0 .. n_classes - 1``).
    """

    name: str
    title: str
    folder: str
    archive: str
    train_files: tuple[str, ...]
    test_files: tuple[str, ...]
    label_key: str
    n_classes: int

    def files(self, split: str) -> tuple[str, ...]:
        """The files of ``split`` (``train`` or ``test``)."""
        return self.train_files if split == "train" else self.test_files


#: The official layouts, by dataset name.
CIFAR_LAYOUTS: dict[str, CifarLayout] = {
    "cifar10": CifarLayout(
        name="cifar10",
        title="CIFAR-10",
        folder="cifar-10-batches-py",
        archive="cifar-10-python.tar.gz",
        train_files=tuple(f"data_batch_{i}" for i in range(1, 6)),
        test_files=("test_batch",),
        label_key="labels",
        n_classes=10,
    ),
    "cifar100": CifarLayout(
        name="cifar100",
        title="CIFAR-100",
        folder="cifar-100-python",
        archive="cifar-100-python.tar.gz",
        train_files=("train",),
        test_files=("test",),
        label_key="fine_labels",
        n_classes=100,
    ),
}


def load_cifar(
    name: Literal["cifar10", "cifar100"],
    root: str | Path,
    *,
    split: Literal["train", "test"],
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Reads one split of CIFAR-10 or CIFAR-100 from the official "python version" files.

    Every file of the split must be present (all five ``data_batch_*`` for CIFAR-10 training).
    The files are read with :func:`~naswot.data.safe_load_pickle`, which refuses pickles that
    could run code.

    Args:
        name: ``cifar10`` or ``cifar100``.
        root: the folder that holds ``cifar-10-batches-py/`` or ``cifar-100-python/``.
        split: ``train`` or ``test``.

    Returns:
        ``(images, labels)``: uint8 ``(N, 32, 32, 3)`` RGB images in file order (training
        batches concatenated in order) and int64 ``(N,)`` labels (fine labels for CIFAR-100).

    Raises:
        InvalidParameterError: if ``name`` or ``split`` is not one of the choices.
        DatasetNotFoundError: if the dataset folder is not in ``root``; says how to get it.
        DataError: if files of the split are missing or do not hold CIFAR data.
        UnsafeFileError: if a file is a pickle that asks for anything but numpy arrays.

    Example:
        >>> images, labels = load_cifar("cifar10", "~/data", split="train")  # doctest: +SKIP
        >>> images.shape, labels.shape  # doctest: +SKIP
        ((50000, 32, 32, 3), (50000,))
    """
    if name not in CIFAR_LAYOUTS:
        raise InvalidParameterError(
            "The 'name' parameter of load_cifar must be one of 'cifar10', 'cifar100'. "
            f"Got {quote(name)} instead."
        )
    if split not in ("train", "test"):
        raise InvalidParameterError(
            "The 'split' parameter of load_cifar must be one of 'train', 'test'. "
            f"Got {split!r} instead."
        )
    layout = CIFAR_LAYOUTS[name]
    folder = Path(root).expanduser() / layout.folder
    if not folder.is_dir():
        raise DatasetNotFoundError(
            f"{layout.title} not found: {_what_is_wrong(folder.parent, layout)} "
            f"Get it with `naswot data download {name} --data-dir {folder.parent}`, or unpack "
            f"the official {layout.archive} there."
        )
    files = layout.files(split)
    missing = [f for f in files if not (folder / f).is_file()]
    if missing:
        raise DataError(
            f"{folder} is incomplete: the {split} split needs {', '.join(files)}, but "
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing. "
            f"Download it again with `naswot data download {name} --data-dir {folder.parent}`."
        )
    parts = [
        read_image_batch(
            folder / f,
            label_key=layout.label_key,
            side=32,
            label_range=(0, layout.n_classes - 1),
        )
        for f in files
    ]
    if len(parts) == 1:
        return parts[0]
    return (
        np.concatenate([images for images, _ in parts]),
        np.concatenate([labels for _, labels in parts]),
    )


_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


def _what_is_wrong(root: Path, layout: CifarLayout) -> str:
    """Why ``root`` does not hold ``layout.folder``: missing, a file, the wrong layout, images."""
    if not root.exists():
        return f"the data directory {root} does not exist."
    if not root.is_dir():
        return f"the data directory {root} is a file, not a folder."
    expected = f"(it should hold {', '.join(layout.train_files + layout.test_files)})."
    flat = [f for f in layout.train_files + layout.test_files if (root / f).is_file()]
    if flat:
        fix = (
            f"pass its parent, {root.parent}"
            if root.name == layout.folder
            else f"move them into {root / layout.folder}/"
        )
        return (
            f"{root} holds {', '.join(flat)} directly, but --data-dir must be the folder that "
            f"holds '{layout.folder}/': {fix}."
        )
    images = sorted(f.name for f in root.iterdir() if f.suffix.lower() in _IMAGE_SUFFIXES)
    if images:
        return (
            f"{root} holds image files ({images[0]}, ...), but naswot reads the official "
            f"{layout.title} python version: the pickled batches in '{layout.folder}/' "
            f"{expected}"
        )
    return f"there is no folder '{layout.folder}' in {root} {expected}"
