from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from naswot.data import NORMALIZATION, normalize
from naswot.exceptions import InvalidParameterError, UnknownNameError


def _one_pixel(r: int, g: int, b: int) -> np.ndarray:
    images = np.zeros((2, 4, 5, 3), dtype=np.uint8)
    images[1, 2, 3] = (r, g, b)
    return images


@pytest.mark.parametrize(
    ("dataset", "expected"),
    [
        # Hand-computed: (v - mean*255) / (std*255) for the pixel (200, 0, 255).
        ("cifar10", ((200 - 125.3) / 63.0, (0 - 123.0) / 62.1, (255 - 113.9) / 66.7)),
        ("cifar100", ((200 - 129.3) / 68.2, (0 - 124.1) / 65.4, (255 - 112.4) / 70.4)),
        (
            "imagenet16-120",
            ((200 - 122.68) / 63.22, (0 - 116.66) / 61.26, (255 - 104.01) / 65.09),
        ),
    ],
)
def test_one_pixel_by_hand(dataset: str, expected: tuple[float, float, float]) -> None:
    x = normalize(_one_pixel(200, 0, 255), dataset)
    assert x.dtype == torch.float32
    assert tuple(x.shape) == (2, 3, 4, 5)
    assert x.is_contiguous()
    got = x[1, :, 2, 3].tolist()
    assert got == pytest.approx(expected, rel=1e-6)
    # 1.18571... for the CIFAR-10 red channel, by hand: 74.7 / 63.0.
    if dataset == "cifar10":
        assert got[0] == pytest.approx(1.1857143, abs=1e-6)


def test_constants_match_the_reference_code() -> None:
    mean, std = NORMALIZATION["cifar10"]
    assert [round(m * 255, 2) for m in mean] == [125.3, 123.0, 113.9]
    assert [round(s * 255, 2) for s in std] == [63.0, 62.1, 66.7]
    mean, std = NORMALIZATION["cifar100"]
    assert [round(m * 255, 2) for m in mean] == [129.3, 124.1, 112.4]
    assert [round(s * 255, 2) for s in std] == [68.2, 65.4, 70.4]
    mean, std = NORMALIZATION["imagenet16"]
    assert [round(m * 255, 2) for m in mean] == [122.68, 116.66, 104.01]
    assert [round(s * 255, 2) for s in std] == [63.22, 61.26, 65.09]


def test_matches_totensor_then_normalize_in_float32() -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(3, 8, 8, 3), dtype=np.uint8)
    mean, std = NORMALIZATION["cifar10"]
    # What torchvision's ToTensor + Normalize compute, step by step, in float32.
    t = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous().to(torch.float32).div(255)
    t = t.sub(torch.tensor(mean).view(1, 3, 1, 1)).div(torch.tensor(std).view(1, 3, 1, 1))
    assert torch.equal(normalize(images, "cifar10"), t)


def test_non_contiguous_and_read_only_inputs_are_fine() -> None:
    images = np.zeros((4, 8, 8, 3), dtype=np.uint8)[::2]
    x = normalize(images, "cifar100")
    assert tuple(x.shape) == (2, 3, 8, 8)
    assert x.is_contiguous()
    images = np.full((2, 4, 4, 3), 7, dtype=np.uint8)
    images.setflags(write=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = normalize(images, "cifar10")
    assert torch.equal(y, normalize(images.copy(), "cifar10"))


@pytest.mark.parametrize(
    "images",
    [
        np.zeros((2, 8, 8, 3), dtype=np.float32),
        np.zeros((2, 3, 8, 8), dtype=np.uint8),
        np.zeros((8, 8, 3), dtype=np.uint8),
        [[0]],
    ],
)
def test_bad_images_are_refused(images: object) -> None:
    with pytest.raises(InvalidParameterError, match="'images' parameter of normalize"):
        normalize(images, "cifar10")  # type: ignore[arg-type]


def test_unknown_dataset() -> None:
    with pytest.raises(UnknownNameError, match="Did you mean 'cifar10'"):
        normalize(np.zeros((1, 2, 2, 3), np.uint8), "cifar-10")
    # Any ImageNet16 variant uses the ImageNet16 constants.
    a = normalize(np.zeros((1, 2, 2, 3), np.uint8), "imagenet16-200")
    b = normalize(np.zeros((1, 2, 2, 3), np.uint8), "imagenet16-120")
    assert torch.equal(a, b)
