"""Reader for ImageNette (fast.ai's 10-class ImageNet subset): a folder of class folders of JPEGs.

The NASWOT code scores the NDS ImageNet (``_in``) spaces on ImageNette2 images (PAPER.md §2.2):
torchvision's ``ImageFolder`` over ``train/`` (or ``val/``), then ``Resize(256)`` (shorter side
to 256, bilinear), ``CenterCrop(224)``, ``ToTensor`` and ``Normalize`` with the ImageNet
mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225). This module does the same without
torchvision: classes are the sorted folder names (labels 0, 1, ...), files are sorted within a
class, and JPEGs are decoded with Pillow, imported only when an image is read (the optional
extra ``naswot[images]``). Only the drawn images are decoded.

Layout (any of the folder names below inside ``data_dir``, or ``data_dir`` itself)::

    imagenette2/train/n01440764/ILSVRC2012_val_00000293.JPEG
    imagenette2/val/...
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Literal

import numpy as np
import numpy.typing as npt
import torch

from naswot.data.batch import Batch
from naswot.exceptions import (
    DataError,
    DatasetNotFoundError,
    InvalidParameterError,
    MissingDependencyError,
)

__all__ = [
    "IMAGENETTE_FOLDERS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "decode_image",
    "find_imagenette_folder",
    "list_imagenette",
    "load_imagenette_batch",
    "normalize_imagenet",
]

#: Folder names looked for inside the data directory, in this order.
IMAGENETTE_FOLDERS: tuple[str, ...] = (
    "imagenette2",
    "imagenette2-320",
    "imagenette2-160",
    "imagenette",
)
#: ImageNet per-channel (RGB) mean and std on the 0..1 scale (torchvision's ImageNet constants).
IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)
#: Extensions of the image files listed (case-insensitive), as torchvision's ImageFolder.
EXTENSIONS: tuple[str, ...] = (
    ".jpg",
    ".jpeg",
    ".png",
    ".ppm",
    ".bmp",
    ".pgm",
    ".tif",
    ".tiff",
    ".webp",
)

_HOW_TO_GET = (
    "download imagenette2 (https://s3.amazonaws.com/fast-ai-imageclas/imagenette2.tgz, from the "
    "fastai/imagenette README), unpack it and pass the folder that holds imagenette2/ as --data-dir"
)


def _pil_image() -> ModuleType:
    try:
        return importlib.import_module("PIL.Image")
    except ImportError as e:
        raise MissingDependencyError(
            "Reading ImageNette JPEGs needs Pillow: pip install 'naswot[images]'."
        ) from e


def find_imagenette_folder(root: str | Path) -> Path | None:
    """The ImageNette folder in ``root``, or None.

    That is ``root`` itself if it holds ``train/`` or ``val/``, else the first of
    :data:`IMAGENETTE_FOLDERS` inside it that does.
    """
    root = Path(root).expanduser()
    for folder in (root, *(root / name for name in IMAGENETTE_FOLDERS)):
        if (folder / "train").is_dir() or (folder / "val").is_dir():
            return folder
    return None


def list_imagenette(
    root: str | Path, *, split: Literal["train", "val"] = "train"
) -> tuple[list[Path], npt.NDArray[np.int64], tuple[str, ...]]:
    """The image files of one split, their labels, and the class names (sorted folder names).

    Raises:
        DatasetNotFoundError: if ``root`` holds no ImageNette folder or no ``split`` folder.
        DataError: if the split holds no class folder with images.
    """
    folder = find_imagenette_folder(root)
    if folder is None or not (folder / split).is_dir():
        raise DatasetNotFoundError(
            f"No ImageNette {split}/ folder in {Path(root).expanduser()}: {_HOW_TO_GET}."
        )
    classes = tuple(sorted(p.name for p in (folder / split).iterdir() if p.is_dir()))
    files: list[Path] = []
    labels: list[int] = []
    for label, name in enumerate(classes):
        found = sorted(
            p for p in (folder / split / name).iterdir() if p.suffix.lower() in EXTENSIONS
        )
        files.extend(found)
        labels.extend([label] * len(found))
    if not files:
        raise DataError(f"{folder / split} holds no class folders of images.")
    return files, np.asarray(labels, dtype=np.int64), classes


def decode_image(path: str | Path, *, resize: int = 256, crop: int = 224) -> npt.NDArray[np.uint8]:
    """Decodes one image as RGB, resized and centre-cropped as the reference transforms.

    The shorter side becomes ``resize`` (bilinear), then the ``crop x crop`` centre is kept, as
    torchvision's ``Resize(resize)`` and ``CenterCrop(crop)``.

    Returns:
        A uint8 array of shape ``(crop, crop, 3)``.

    Raises:
        MissingDependencyError: if Pillow is not installed.
        DataError: if the file cannot be decoded or is smaller than the crop after resizing.
    """
    image_module = _pil_image()
    try:
        with image_module.open(path) as img:
            rgb = img.convert("RGB")
    except (OSError, ValueError) as e:
        raise DataError(f"Cannot decode {path} as an image: {e}.") from None
    w, h = rgb.size
    # torchvision: the shorter side becomes `resize`, the longer int(resize * long / short).
    size = (resize, int(resize * h / w)) if w <= h else (int(resize * w / h), resize)
    if size != (w, h):
        rgb = rgb.resize(size, image_module.Resampling.BILINEAR)
    w, h = rgb.size
    if w < crop or h < crop:
        raise DataError(f"{path} is {w}x{h} after resizing, smaller than the {crop}x{crop} crop.")
    top, left = round((h - crop) / 2.0), round((w - crop) / 2.0)
    array = np.asarray(rgb.crop((left, top, left + crop, top + crop)), dtype=np.uint8)
    return np.ascontiguousarray(array)


def normalize_imagenet(images: npt.NDArray[np.uint8]) -> torch.Tensor:
    """``(images / 255 - mean) / std`` in float32 with the ImageNet constants, channels first.

    Args:
        images: uint8 array of shape ``(N, H, W, 3)`` (RGB).

    Returns:
        A C-contiguous float32 tensor of shape ``(N, 3, H, W)``.
    """
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise InvalidParameterError(
            "The 'images' parameter of normalize_imagenet must be a uint8 array of shape "
            f"(N, H, W, 3). Got a {images.dtype} array of shape {images.shape} instead."
        )
    x = torch.from_numpy(np.require(images, requirements=["C", "W"])).to(torch.float32).div(255)
    x = x.sub(torch.tensor(IMAGENET_MEAN)).div(torch.tensor(IMAGENET_STD))
    return x.permute(0, 3, 1, 2).contiguous()


def load_imagenette_batch(
    data_dir: str | Path,
    *,
    batch_size: int = 128,
    seed: int = 1,
    split: Literal["train", "test", "val"] = "train",
) -> Batch:
    """Draws ``batch_size`` distinct images of one split and returns them ready to score.

    The draw is ``np.random.default_rng(seed).choice(n, batch_size, replace=False)`` over the
    split's files in :func:`list_imagenette` order, as :func:`~naswot.data.load_batch` draws;
    only the drawn images are decoded.

    Args:
        data_dir: the folder holding ``imagenette2/`` (or the ImageNette folder itself).
        batch_size: the number of images, an int >= 2.
        seed: the seed of the draw, an int >= 0.
        split: ``train``, or ``test``/``val`` (ImageNette's ``val/`` folder).

    Returns:
        A :class:`~naswot.data.Batch` of float32 inputs ``(B, 3, 224, 224)`` and int64 labels.

    Raises:
        InvalidParameterError: if an argument is invalid or the split has fewer images.
        DatasetNotFoundError, DataError, MissingDependencyError: see :func:`list_imagenette`
            and :func:`decode_image`.

    Example:
        >>> batch = load_imagenette_batch("~/data", batch_size=128, seed=1)  # doctest: +SKIP
    """
    for name, value, low in (("batch_size", batch_size, 2), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InvalidParameterError(
                f"The '{name}' parameter of load_imagenette_batch must be an int >= {low}. "
                f"Got {value!r} instead."
            )
    if split not in ("train", "test", "val"):
        raise InvalidParameterError(
            "The 'split' parameter of load_imagenette_batch must be one of 'train', 'test', "
            f"'val'. Got {split!r} instead."
        )
    folder_split: Literal["train", "val"] = "train" if split == "train" else "val"
    files, labels, _ = list_imagenette(data_dir, split=folder_split)
    n = len(files)
    if batch_size > n:
        raise InvalidParameterError(
            f"The 'batch_size' parameter of load_imagenette_batch must be at most {n}: the "
            f"ImageNette {folder_split} split in {data_dir} holds {n} images. Got {batch_size} "
            "instead."
        )
    indices = np.random.default_rng(seed).choice(n, batch_size, replace=False)
    images = np.stack([decode_image(files[int(i)]) for i in indices])
    return Batch(
        inputs=normalize_imagenet(images),
        targets=torch.from_numpy(labels[indices]),
        dataset="imagenette",
        source=f"ImageNette {folder_split} split ({n} images) in {data_dir}, {batch_size} drawn "
        f"with seed {seed}",
        seed=seed,
        indices=tuple(int(i) for i in indices),
    )
