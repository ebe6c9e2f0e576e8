from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from naswot.data import load_bundled_cifar10

FIRST_20_TEST_LABELS = [3, 8, 8, 0, 6, 6, 1, 6, 3, 1, 0, 9, 5, 7, 9, 8, 5, 7, 8, 6]


def test_bundled_images_and_labels() -> None:
    images, labels = load_bundled_cifar10()
    assert images.shape == (20, 32, 32, 3)
    assert images.dtype == np.uint8
    assert labels.dtype == np.int64
    assert labels.tolist() == FIRST_20_TEST_LABELS
    assert images.std() > 30  # real photos, not a blank placeholder


def test_bundled_pixels_equal_the_shared_decoded_pngs(shared_data_dir: Path) -> None:
    decoded = shared_data_dir / "image-samples-foolbox" / "foolbox_samples_decoded.npz"
    if not decoded.is_file():
        pytest.skip(f"{decoded} not found: cannot cross-check the bundled pixels")
    images, labels = load_bundled_cifar10()
    with np.load(decoded) as npz:
        np.testing.assert_array_equal(images, npz["x_cifar10"])
        np.testing.assert_array_equal(labels, npz["y_cifar10"])


def test_bundled_file_needs_no_pickle_and_has_attribution() -> None:
    folder = resources.files("naswot.data") / "_bundled"
    with (
        (folder / "cifar10_foolbox_test20.npz").open("rb") as f,
        np.load(f, allow_pickle=False) as npz,
    ):
        assert sorted(npz.files) == ["images", "labels"]
    text = (folder / "ATTRIBUTION.md").read_text(encoding="utf-8")
    for needle in ("foolbox==3.3.4", "MIT", "Jonas Rauber", "Krizhevsky", "cifar10_19_6.png"):
        assert needle in text
