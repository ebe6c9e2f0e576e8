"""Images to train on: both splits of a dataset in memory, and the seeded augmentation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import torch

from naswot.data.cifar import CIFAR_LAYOUTS, load_cifar
from naswot.data.loading import normalize
from naswot.exceptions import InvalidParameterError

__all__ = ["TRAIN_DATASETS", "Augment", "ImageData", "load_image_data"]

#: The datasets ``naswot train`` reads (the official CIFAR python files).
TRAIN_DATASETS: tuple[str, ...] = tuple(CIFAR_LAYOUTS)


@dataclass(frozen=True)
class ImageData:
    """The training and test splits of one dataset as uint8 ``(N, H, W, 3)`` arrays.

    Attributes:
        dataset: the dataset name (sets the normalisation constants).
        train_images, train_labels: the training split (after ``limit``).
        test_images, test_labels: the whole test split.
        source: where the images came from, for logs and cards.
    """

    dataset: str
    train_images: npt.NDArray[np.uint8]
    train_labels: npt.NDArray[np.int64]
    test_images: npt.NDArray[np.uint8]
    test_labels: npt.NDArray[np.int64]
    source: str

    def inputs(self, images: npt.NDArray[np.uint8]) -> torch.Tensor:
        """Normalised float inputs ``(N, 3, H, W)`` of uint8 images, as scoring normalises."""
        return normalize(images, self.dataset)


def load_image_data(dataset: str, data_dir: Path | str, *, limit: int | None = None) -> ImageData:
    """Reads the training split (its first ``limit`` images) and the whole test split.

    Raises:
        InvalidParameterError: for a dataset ``naswot train`` does not read, or a bad ``limit``.
        DatasetNotFoundError, DataError: as :func:`naswot.data.load_cifar`.
    """
    if dataset not in CIFAR_LAYOUTS:
        raise InvalidParameterError(
            f"naswot train reads {', '.join(TRAIN_DATASETS)} (the official python files). "
            f"Got {dataset!r} instead."
        )
    if limit is not None and limit < 1:
        raise InvalidParameterError(f"--limit must be >= 1. Got {limit} instead.")
    name: Literal["cifar10", "cifar100"] = "cifar10" if dataset == "cifar10" else "cifar100"
    x_train, y_train = load_cifar(name, data_dir, split="train")
    x_test, y_test = load_cifar(name, data_dir, split="test")
    n_all = len(x_train)
    if limit is not None:
        x_train, y_train = x_train[:limit], y_train[:limit]
    folder = Path(data_dir).expanduser() / CIFAR_LAYOUTS[dataset].folder
    first = f"the first {len(x_train)} of " if len(x_train) < n_all else ""
    return ImageData(
        dataset=dataset,
        train_images=x_train,
        train_labels=y_train,
        test_images=x_test,
        test_labels=y_test,
        source=f"{first}{n_all} training images and all {len(x_test)} test images in {folder}",
    )


class Augment:
    """Random crop after zero padding, then a random horizontal flip (NAS-Bench-201's CIFAR).

    The draws come from one numpy generator seeded by ``seed``; :meth:`state` and
    :meth:`set_state` save and restore it, so a resumed run draws the same crops. Padding with
    zeros before normalisation is what ``RandomCrop(32, padding=4)`` on the raw image does.
    """

    def __init__(self, seed: int, *, padding: int = 4, flip: bool = True) -> None:
        self.rng = np.random.default_rng(seed)
        self.padding = padding
        self.flip = flip

    def permutation(self, n: int) -> npt.NDArray[np.int64]:
        """The order of one epoch's images."""
        return self.rng.permutation(n)

    def __call__(self, images: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        """Augmented copies of a batch of uint8 ``(B, H, W, 3)`` images."""
        p = self.padding
        b, h, w = int(images.shape[0]), int(images.shape[1]), int(images.shape[2])
        padded = np.pad(images, ((0, 0), (p, p), (p, p), (0, 0))) if p else images
        dy: list[int] = self.rng.integers(0, 2 * p + 1, size=(b,)).tolist()
        dx: list[int] = self.rng.integers(0, 2 * p + 1, size=(b,)).tolist()
        flips: list[bool] = (self.rng.random((b,)) < 0.5).tolist() if self.flip else [False] * b
        out = np.empty_like(images)
        for i in range(b):
            crop = padded[i, dy[i] : dy[i] + h, dx[i] : dx[i] + w]
            out[i] = crop[:, ::-1] if flips[i] else crop
        return out

    def state(self) -> dict[str, Any]:
        """The generator's state (picklable)."""
        return dict(self.rng.bit_generator.state)

    def set_state(self, state: dict[str, Any]) -> None:
        """Restores a state from :meth:`state`."""
        self.rng.bit_generator.state = state
