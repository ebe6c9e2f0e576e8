from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from naswot.data import load_imagenet16
from naswot.exceptions import DataError, DatasetNotFoundError, InvalidParameterError


@pytest.mark.parametrize("split", ["train", "test"])
def test_shared_imagenet16_keeps_classes_up_to_120(foolbox_shared: Path, split: str) -> None:
    # The shared folder is the lowercase `imagenet16/`, with only train_data_batch_1 and val_data.
    images, labels = load_imagenet16(foolbox_shared, split=split)  # type: ignore[arg-type]
    assert images.shape == (2, 16, 16, 3)
    assert images.dtype == np.uint8
    assert labels.dtype == np.int64
    assert labels.tolist() == [99, 22]  # 1-based 100 and 23, made 0-based
    assert (labels < 120).all()
    decoded = foolbox_shared / "foolbox_samples_decoded.npz"
    if decoded.is_file():
        with np.load(decoded) as npz:
            keep = npz["y_imagenet"] < 120  # the npz holds 0-based ids
            np.testing.assert_array_equal(images, npz["x_imagenet_box16"][keep])


def test_shared_imagenet16_all_classes(foolbox_shared: Path) -> None:
    images, labels = load_imagenet16(foolbox_shared, split="train", n_classes=1000)
    assert images.shape == (20, 16, 16, 3)
    assert labels[:5].tolist() == [243, 559, 438, 990, 949]


def test_filters_and_shifts_labels(tmp_path: Path, make_imagenet16: Callable[..., Path]) -> None:
    root = make_imagenet16(tmp_path, labels=(1, 120, 121, 5, 1000))
    images, labels = load_imagenet16(root, split="test")
    assert labels.tolist() == [0, 119, 4]
    with (root / "ImageNet16" / "val_data").open("rb") as f:
        raw = pickle.load(f)
    expected = raw["data"].reshape(5, 3, 16, 16).transpose(0, 2, 3, 1)[[0, 1, 3]]
    np.testing.assert_array_equal(images, expected)
    _, labels200 = load_imagenet16(root, split="test", n_classes=200)
    assert labels200.tolist() == [0, 119, 120, 4]


def test_reads_the_training_batches_present(
    tmp_path: Path, make_imagenet16: Callable[..., Path]
) -> None:
    root = make_imagenet16(tmp_path, train_batches=(1, 3, 10), labels=(2, 3))
    images, labels = load_imagenet16(root, split="train")
    assert images.shape == (6, 16, 16, 3)
    assert labels.tolist() == [1, 2] * 3
    # Files are read in numeric order (1, 3, 10), not name order (1, 10, 3).
    folder = root / "ImageNet16"
    parts = []
    for name in ("train_data_batch_1", "train_data_batch_3", "train_data_batch_10"):
        with (folder / name).open("rb") as f:
            parts.append(pickle.load(f)["data"].reshape(2, 3, 16, 16).transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(images, np.concatenate(parts))


def test_uppercase_folder_is_preferred(
    tmp_path: Path, make_imagenet16: Callable[..., Path]
) -> None:
    make_imagenet16(tmp_path, folder="imagenet16", labels=(1,))
    make_imagenet16(tmp_path, folder="ImageNet16", labels=(1, 2))
    _, labels = load_imagenet16(tmp_path, split="test")
    assert len(labels) == 2


def test_missing_folder_says_how_to_get_it(
    tmp_path: Path, make_imagenet16: Callable[..., Path]
) -> None:
    with pytest.raises(DatasetNotFoundError, match="NAS-Bench-201") as info:
        load_imagenet16(tmp_path, split="train")
    assert "ImageNet16" in str(info.value)
    # Pointing at the ImageNet16 folder itself gets a hint to pass its parent.
    root = make_imagenet16(tmp_path)
    with pytest.raises(DatasetNotFoundError, match="pass its parent"):
        load_imagenet16(root / "ImageNet16", split="train")


def test_missing_files_are_data_errors(
    tmp_path: Path, make_imagenet16: Callable[..., Path]
) -> None:
    root = make_imagenet16(tmp_path, train_batches=(), val=True)
    with pytest.raises(DataError, match="train_data_batch_1"):
        load_imagenet16(root, split="train")
    root = make_imagenet16(tmp_path / "b", train_batches=(1,), val=False)
    with pytest.raises(DataError, match="val_data"):
        load_imagenet16(root, split="test")


def test_malformed_files_are_data_errors(
    tmp_path: Path, make_imagenet16: Callable[..., Path], pickle_file: Callable[..., Path]
) -> None:
    root = make_imagenet16(tmp_path)
    val = root / "ImageNet16" / "val_data"
    pickle_file(val, {"data": np.zeros((2, 3072), np.uint8), "labels": [1, 2]})
    with pytest.raises(DataError, match=r"\(N, 768\)"):
        load_imagenet16(root, split="test")
    pickle_file(val, {"data": np.zeros((2, 768), np.uint8), "labels": [0, 2]})
    with pytest.raises(DataError, match=r"1\.\.1000"):
        load_imagenet16(root, split="test")


def test_invalid_parameters(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="'n_classes' parameter"):
        load_imagenet16(tmp_path, split="train", n_classes=0)
    with pytest.raises(InvalidParameterError, match="'n_classes' parameter"):
        load_imagenet16(tmp_path, split="train", n_classes=True)
    with pytest.raises(InvalidParameterError, match="'split' parameter"):
        load_imagenet16(tmp_path, split="val")  # type: ignore[arg-type]
