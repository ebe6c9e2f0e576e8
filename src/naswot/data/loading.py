"""One minibatch to score: the entry point the CLI uses to turn a dataset name into a Batch.

``load_batch("cifar10")`` needs no files: it returns the 20 CIFAR-10 test images bundled with
naswot. With ``data_dir`` it reads the official dataset files there and draws ``batch_size``
distinct training images with ``np.random.default_rng(seed)``, as the reference code scores one
minibatch of 128 training images. ``noise`` gives N(0, 1) inputs instead of images.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch

from naswot._io import quote
from naswot.data.batch import Batch
from naswot.data.bundled import BUNDLED_DESCRIPTION, BUNDLED_SIZE, load_bundled_cifar10
from naswot.data.cifar import CIFAR_LAYOUTS, load_cifar
from naswot.data.imagenet16 import find_imagenet16_folder, load_imagenet16
from naswot.data.imagenette import find_imagenette_folder, load_imagenette_batch
from naswot.exceptions import DatasetNotFoundError, InvalidParameterError, UnknownNameError

__all__ = [
    "DATASETS",
    "DEFAULT_BATCH_SIZE",
    "NORMALIZATION",
    "default_data_dir",
    "find_dataset",
    "load_batch",
    "normalize",
]

#: The dataset names :func:`load_batch` knows.
DATASETS: tuple[str, ...] = ("cifar10", "cifar100", "imagenet16-120", "imagenette", "noise")
#: The minibatch size of the reference code (``--batch_size 128``).
DEFAULT_BATCH_SIZE = 128
#: Per-channel (RGB) mean and standard deviation on the 0..1 scale, as in the NASWOT / NAS-Bench-201
#: reference code (``ToTensor`` then ``Normalize(mean, std)``, no augmentation).
NORMALIZATION: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "cifar10": (
        (125.3 / 255, 123.0 / 255, 113.9 / 255),
        (63.0 / 255, 62.1 / 255, 66.7 / 255),
    ),
    "cifar100": (
        (129.3 / 255, 124.1 / 255, 112.4 / 255),
        (68.2 / 255, 65.4 / 255, 70.4 / 255),
    ),
    "imagenet16": (
        (122.68 / 255, 116.66 / 255, 104.01 / 255),
        (63.22 / 255, 61.26 / 255, 65.09 / 255),
    ),
}
_IMAGENET16_CLASSES = 120
_SEED_LIMIT = 2**63


def _unknown_dataset(name: object) -> UnknownNameError:
    close = difflib.get_close_matches(str(name).lower(), DATASETS, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return UnknownNameError(f"Unknown dataset {quote(name)}. Choices: {', '.join(DATASETS)}.{hint}")


def _normalization_key(dataset: str) -> str:
    if dataset.startswith("imagenet16"):
        return "imagenet16"
    if dataset in NORMALIZATION:
        return dataset
    choices = ", ".join(["cifar10", "cifar100", "imagenet16-120"])
    close = difflib.get_close_matches(dataset, ["cifar10", "cifar100", "imagenet16-120"], n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise UnknownNameError(
        f"No normalisation constants for dataset {dataset!r}. Choices: {choices}.{hint}"
    )


def normalize(images: npt.NDArray[np.uint8], dataset: str) -> torch.Tensor:
    """Turns uint8 RGB images into the normalised float inputs the reference code feeds a network.

    Computes ``(images / 255 - mean) / std`` per channel in float32 (the same operations, in the
    same order and precision, as torchvision's ``ToTensor`` followed by ``Normalize``) and moves
    the channels first.

    Args:
        images: uint8 array of shape ``(N, H, W, 3)`` (RGB, channels last).
        dataset: whose constants to use: ``cifar10``, ``cifar100`` or ``imagenet16-120``
            (any ``imagenet16-*`` name uses the ImageNet16 constants).

    Returns:
        A C-contiguous float32 tensor of shape ``(N, 3, H, W)``.

    Raises:
        InvalidParameterError: if ``images`` is not a uint8 array of that shape.
        UnknownNameError: if there are no constants for ``dataset``.

    Example:
        >>> x = normalize(np.zeros((2, 32, 32, 3), dtype=np.uint8), "cifar10")
        >>> tuple(x.shape), round(float(x[0, 0, 0, 0]), 4)
        ((2, 3, 32, 32), -1.9889)
    """
    if (
        not isinstance(images, np.ndarray)
        or images.dtype != np.uint8
        or images.ndim != 4
        or images.shape[-1] != 3
    ):
        got = (
            f"a {images.dtype} array of shape {images.shape}"
            if isinstance(images, np.ndarray)
            else f"a {type(images).__name__}"
        )
        raise InvalidParameterError(
            "The 'images' parameter of normalize must be a uint8 array of shape (N, H, W, 3). "
            f"Got {got} instead."
        )
    mean, std = NORMALIZATION[_normalization_key(dataset)]
    # np.require copies only when needed (torch warns about read-only arrays).
    x = torch.from_numpy(np.require(images, requirements=["C", "W"])).to(torch.float32).div(255)
    x = x.sub(torch.tensor(mean, dtype=torch.float32)).div(torch.tensor(std, dtype=torch.float32))
    return x.permute(0, 3, 1, 2).contiguous()


def default_data_dir() -> Path:
    """The folder ``naswot data download`` writes to when no ``--data-dir`` is given.

    ``$NASWOT_DATA_DIR`` if set, else ``$XDG_CACHE_HOME/naswot/data`` (when ``XDG_CACHE_HOME`` is
    an absolute path), else ``~/.cache/naswot/data``. The folder need not exist.
    """
    env = os.environ.get("NASWOT_DATA_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "naswot" / "data"
    return Path.home() / ".cache" / "naswot" / "data"


def find_dataset(dataset: str, data_dir: str | Path) -> bool:
    """Whether the official folder of ``dataset`` exists in ``data_dir``.

    ``cifar10`` looks for ``cifar-10-batches-py/``, ``cifar100`` for ``cifar-100-python/``,
    ``imagenet16-120`` for ``ImageNet16/`` (or ``imagenet16/``); ``noise`` needs no files and is
    always found. Only the folder is checked, not the files in it (:func:`load_batch` does that).

    Raises:
        UnknownNameError: if ``dataset`` is not one of :data:`DATASETS`.
    """
    if dataset not in DATASETS:
        raise _unknown_dataset(dataset)
    root = Path(data_dir).expanduser()
    if dataset in CIFAR_LAYOUTS:
        return (root / CIFAR_LAYOUTS[dataset].folder).is_dir()
    if dataset == "imagenet16-120":
        return find_imagenet16_folder(root) is not None
    if dataset == "imagenette":
        return find_imagenette_folder(root) is not None
    return True  # noise


def _check_int(value: object, name: str, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_):
        number = int(value)
        if number >= minimum and (maximum is None or number <= maximum):
            return number
    bound = f"an int >= {minimum}" if maximum is None else f"an int in [{minimum}, {maximum}]"
    raise InvalidParameterError(
        f"The {name!r} parameter of load_batch must be {bound}. Got {quote(value)} instead."
    )


def load_batch(
    dataset: str,
    *,
    data_dir: str | Path | None = None,
    batch_size: int | None = None,
    seed: int = 1,
    split: str = "train",
) -> Batch:
    """Loads one minibatch of ``dataset``, normalised and ready to score.

    * ``noise``: ``batch_size`` N(0, 1) inputs of shape ``(3, 32, 32)`` drawn from
      ``torch.Generator().manual_seed(seed)``; no targets. ``data_dir`` and ``split`` are ignored.
    * With ``data_dir``: reads the official files of ``split`` there (see
      :func:`~naswot.data.load_cifar`, :func:`~naswot.data.load_imagenet16`; ImageNet16-120
      keeps classes 1..120) and draws ``batch_size`` distinct images with
      ``np.random.default_rng(seed).choice(n, batch_size, replace=False)``, in drawn order.
    * ``cifar10`` without ``data_dir``: the 20 CIFAR-10 test images bundled with naswot. With
      ``batch_size=None`` all 20 in test-set order (``seed`` is not used and ``Batch.seed`` is
      None); with an explicit ``batch_size`` of at most 20, that many drawn with ``seed`` as above.
    * ``cifar100`` and ``imagenet16-120`` need ``data_dir``.

    Args:
        dataset: one of :data:`DATASETS`.
        data_dir: the folder holding the official dataset folder (``cifar-10-batches-py/``,
            ``cifar-100-python/`` or ``ImageNet16/``), or None.
        batch_size: the number of images, an int >= 2; None means :data:`DEFAULT_BATCH_SIZE`
            (or, for the bundled batch, all 20 images).
        seed: the seed of the draw, an int in ``[0, 2**63 - 1]``.
        split: ``train`` (as the reference code) or ``test`` (for ImageNet16, ``val_data``).

    Returns:
        A :class:`~naswot.data.Batch`: float32 C-contiguous inputs ``(B, 3, H, W)``, int64
        targets ``(B,)`` (None for noise), the indices of the images in their split, and a
        ``source`` sentence saying where they came from.

    Raises:
        UnknownNameError: if ``dataset`` is not one of :data:`DATASETS`.
        InvalidParameterError: if ``batch_size``, ``seed`` or ``split`` is invalid, or
            ``batch_size`` exceeds the images available.
        DatasetNotFoundError: if the dataset is not in ``data_dir`` (or no ``data_dir`` was
            given for a dataset that needs one); the message says how to get it.
        DataError: if the dataset files are incomplete or malformed.
        UnsafeFileError: if a dataset file is a pickle that could run code.

    Example:
        >>> batch = load_batch("cifar10")
        >>> batch.size, tuple(batch.inputs.shape[1:]), batch.seed
        (20, (3, 32, 32), None)
    """
    if dataset not in DATASETS:
        raise _unknown_dataset(dataset)
    size = DEFAULT_BATCH_SIZE if batch_size is None else _check_int(batch_size, "batch_size", 2)
    seed = _check_int(seed, "seed", 0, _SEED_LIMIT - 1)
    if split not in ("train", "test"):
        raise InvalidParameterError(
            f"The 'split' parameter of load_batch must be one of 'train', 'test'. "
            f"Got {split!r} instead."
        )
    if dataset == "noise":
        generator = torch.Generator().manual_seed(seed)
        inputs = torch.randn((size, 3, 32, 32), generator=generator, dtype=torch.float32)
        return Batch(
            inputs=inputs.contiguous(),
            targets=None,
            dataset=dataset,
            source=f"N(0,1) noise, seed {seed}",
            seed=seed,
            indices=None,
        )
    if dataset == "imagenette":
        if data_dir is None:
            raise _needs_data_dir(dataset)
        return load_imagenette_batch(
            data_dir, batch_size=size, seed=seed, split="train" if split == "train" else "test"
        )
    if data_dir is None:
        if dataset == "cifar10":
            return _bundled_batch(None if batch_size is None else size, seed)
        raise _needs_data_dir(dataset)

    root = Path(data_dir).expanduser()
    if dataset == "imagenet16-120":
        images, labels = load_imagenet16(
            root, split="train" if split == "train" else "test", n_classes=_IMAGENET16_CLASSES
        )
        folder = find_imagenet16_folder(root)
        name = folder.name if folder is not None else "ImageNet16"
        where = f"{name} {split} split, classes 1-{_IMAGENET16_CLASSES}"
    else:
        images, labels = load_cifar(
            "cifar10" if dataset == "cifar10" else "cifar100",
            root,
            split="train" if split == "train" else "test",
        )
        where = f"{CIFAR_LAYOUTS[dataset].folder} {split} split"
    n = int(images.shape[0])
    if size > n:
        raise InvalidParameterError(
            f"The 'batch_size' parameter of load_batch must be at most {n}: the {where} in "
            f"{root} holds {n} images. Got {size} instead."
        )
    indices = np.random.default_rng(seed).choice(n, size, replace=False)
    return Batch(
        inputs=normalize(images[indices], dataset),
        targets=torch.from_numpy(labels[indices].astype(np.int64)),
        dataset=dataset,
        source=f"{where} ({n} images) in {root}, {size} drawn with seed {seed}",
        seed=seed,
        indices=tuple(int(i) for i in indices),
    )


def _bundled_batch(batch_size: int | None, seed: int) -> Batch:
    """The bundled batch: all 20 images in order, or ``batch_size`` of them drawn with ``seed``."""
    images, labels = load_bundled_cifar10()
    hint = f"pass --data-dir for a batch of {DEFAULT_BATCH_SIZE} training images"
    if batch_size is None:
        return Batch(
            inputs=normalize(images, "cifar10"),
            targets=torch.from_numpy(labels),
            dataset="cifar10",
            source=f"{BUNDLED_DESCRIPTION}; {hint}",
            seed=None,
            indices=tuple(range(BUNDLED_SIZE)),
        )
    if batch_size > BUNDLED_SIZE:
        raise InvalidParameterError(
            f"The 'batch_size' parameter of load_batch must be at most {BUNDLED_SIZE} without a "
            f"data directory: the bundled batch holds {BUNDLED_SIZE} images; pass --data-dir "
            "(after `naswot data download cifar10 --data-dir DIR`) for a larger batch. "
            f"Got {batch_size} instead."
        )
    indices = np.random.default_rng(seed).choice(BUNDLED_SIZE, batch_size, replace=False)
    return Batch(
        inputs=normalize(images[indices], "cifar10"),
        targets=torch.from_numpy(labels[indices]),
        dataset="cifar10",
        source=f"{batch_size} of the {BUNDLED_DESCRIPTION}, drawn with seed {seed}; {hint}",
        seed=seed,
        indices=tuple(int(i) for i in indices),
    )


def _needs_data_dir(dataset: str) -> DatasetNotFoundError:
    if dataset == "cifar100":
        how = (
            "get it with `naswot data download cifar100 --data-dir DIR` and pass --data-dir DIR "
            "(the folder that holds cifar-100-python/)"
        )
    elif dataset == "imagenette":
        how = (
            "download imagenette2.tgz from fast.ai (github.com/fastai/imagenette), unpack it and "
            "pass --data-dir DIR, the folder that holds imagenette2/"
        )
    else:
        how = (
            "download the ImageNet16 folder (train_data_batch_1..10, val_data) from the "
            "NAS-Bench-201 authors and pass --data-dir DIR, the folder that holds ImageNet16/"
        )
    return DatasetNotFoundError(
        f"{dataset} needs its dataset files (only cifar10 has a bundled batch): {how}."
    )
