"""Reader for ImageNet16-120 (and -150, -200, ...): the downsampled-ImageNet 16x16 pickles.

NAS-Bench-201 builds ImageNet16-120 from the downsampled-ImageNet 16x16 files by keeping the
classes 1..120. Its authors distribute them as a folder ``ImageNet16/`` holding
``train_data_batch_1`` .. ``train_data_batch_10`` and ``val_data``: pickled dicts whose ``data``
is a uint8 array of N x 768 (the 256 red, then green, then blue values of each 16x16 image) and
whose ``labels`` are 1-based class ids (1..1000). naswot cannot download them; get the folder from
the NAS-Bench-201 authors and pass the folder that holds it as ``--data-dir``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from naswot.data._pickle import read_image_batch
from naswot.exceptions import DataError, DatasetNotFoundError, InvalidParameterError

__all__ = [
    "IMAGENET16_FOLDERS",
    "IMAGENET16_TEST_FILE",
    "IMAGENET16_TRAIN_FILES",
    "find_imagenet16_folder",
    "load_imagenet16",
]

#: The folder names accepted inside the data directory, in the order they are looked for.
IMAGENET16_FOLDERS: tuple[str, ...] = ("ImageNet16", "imagenet16")
#: The training-split files; any non-empty subset of them is read.
IMAGENET16_TRAIN_FILES: tuple[str, ...] = tuple(f"train_data_batch_{i}" for i in range(1, 11))
#: The file NAS-Bench-201 uses as the ImageNet16 test (and validation) split.
IMAGENET16_TEST_FILE = "val_data"

_HOW_TO_GET = (
    "naswot cannot download ImageNet16: get the ImageNet16 folder (train_data_batch_1..10, "
    "val_data) from the NAS-Bench-201 authors' data drive and pass the folder that holds it "
    "as --data-dir."
)


def find_imagenet16_folder(root: str | Path) -> Path | None:
    """The ``ImageNet16`` (or ``imagenet16``) folder inside ``root``, or None if there is none."""
    root = Path(root).expanduser()
    for name in IMAGENET16_FOLDERS:
        if (root / name).is_dir():
            return root / name
    return None


def load_imagenet16(
    root: str | Path,
    *,
    split: Literal["train", "test"],
    n_classes: int = 120,
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Reads one split of ImageNet16-``n_classes`` from the downsampled-ImageNet 16x16 pickles.

    The training split is read from whichever of ``train_data_batch_1`` .. ``train_data_batch_10``
    are present (at least one must be): the full set has all ten, but a subset is enough to draw
    a minibatch from. The test split is ``val_data`` (NAS-Bench-201's test and validation images
    both come from it). Only images whose 1-based label is at most ``n_classes`` are kept, and
    their labels are shifted to be 0-based. The result may hold few images (or none) when the
    files hold few images of those classes.

    Args:
        root: the folder that holds ``ImageNet16/`` (or ``imagenet16/``).
        split: ``train`` or ``test``.
        n_classes: keep the classes ``1 .. n_classes`` (120 for ImageNet16-120).

    Returns:
        ``(images, labels)``: uint8 ``(N, 16, 16, 3)`` RGB images in file order and int64
        ``(N,)`` labels in ``0 .. n_classes - 1``.

    Raises:
        InvalidParameterError: if ``split`` or ``n_classes`` is invalid.
        DatasetNotFoundError: if ``root`` holds no ImageNet16 folder; says how to get it.
        DataError: if the files of the split are missing or do not hold such data.
        UnsafeFileError: if a file is a pickle that asks for anything but numpy arrays.

    Example:
        >>> images, labels = load_imagenet16("~/data", split="train")  # doctest: +SKIP
        >>> images.shape  # doctest: +SKIP
        (151700, 16, 16, 3)
    """
    if split not in ("train", "test"):
        raise InvalidParameterError(
            "The 'split' parameter of load_imagenet16 must be one of 'train', 'test'. "
            f"Got {split!r} instead."
        )
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or not 1 <= n_classes <= 1000:
        raise InvalidParameterError(
            "The 'n_classes' parameter of load_imagenet16 must be an int in 1..1000. "
            f"Got {n_classes!r} instead."
        )
    root = Path(root).expanduser()
    folder = find_imagenet16_folder(root)
    if folder is None:
        hint = ""
        if (root / IMAGENET16_TEST_FILE).is_file() or (root / IMAGENET16_TRAIN_FILES[0]).is_file():
            hint = f" {root} itself looks like that folder: pass its parent, {root.parent}."
        raise DatasetNotFoundError(
            f"ImageNet16 not found: there is no folder 'ImageNet16' (or 'imagenet16') in "
            f"{root}.{hint} {_HOW_TO_GET}"
        )
    if split == "train":
        files = [name for name in IMAGENET16_TRAIN_FILES if (folder / name).is_file()]
        if not files:
            raise DataError(
                f"{folder} holds none of the training files train_data_batch_1 .. "
                f"train_data_batch_10. {_HOW_TO_GET}"
            )
    else:
        if not (folder / IMAGENET16_TEST_FILE).is_file():
            raise DataError(
                f"{folder} is incomplete: the test split needs {IMAGENET16_TEST_FILE}, which is "
                f"missing. {_HOW_TO_GET}"
            )
        files = [IMAGENET16_TEST_FILE]
    images_parts: list[npt.NDArray[np.uint8]] = []
    labels_parts: list[npt.NDArray[np.int64]] = []
    for name in files:
        images, labels = read_image_batch(
            folder / name, label_key="labels", side=16, label_range=(1, 1000)
        )
        keep = labels <= n_classes
        images_parts.append(images[keep])
        labels_parts.append(labels[keep] - 1)
    return np.concatenate(images_parts), np.concatenate(labels_parts)
