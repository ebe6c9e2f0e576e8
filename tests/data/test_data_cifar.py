from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from naswot.data import load_cifar
from naswot.exceptions import (
    DataError,
    DatasetNotFoundError,
    InvalidParameterError,
    UnsafeFileError,
)


def test_shared_cifar10_train_and_test(cifar10_shared: Path) -> None:
    images, labels = load_cifar("cifar10", cifar10_shared, split="train")
    assert images.shape == (1000, 32, 32, 3)
    assert images.dtype == np.uint8
    assert images.flags["C_CONTIGUOUS"]
    assert labels.shape == (1000,)
    assert labels.dtype == np.int64
    assert np.bincount(labels).tolist() == [100] * 10
    test_images, test_labels = load_cifar("cifar10", cifar10_shared, split="test")
    assert test_images.shape == (1000, 32, 32, 3)
    assert test_labels.dtype == np.int64
    # The shared test_batch holds the decoded JPEG test subset, in the npz's order.
    decoded = cifar10_shared / "cifar10_jpeg_subset_decoded.npz"
    if decoded.is_file():
        with np.load(decoded) as npz:
            np.testing.assert_array_equal(test_images, npz["x_test"])
            np.testing.assert_array_equal(test_labels, npz["y_test"])


def test_shared_cifar100(foolbox_shared: Path) -> None:
    for split in ("train", "test"):
        images, labels = load_cifar("cifar100", foolbox_shared, split=split)
        assert images.shape == (20, 32, 32, 3)
        assert labels.dtype == np.int64
        assert labels[:10].tolist() == [49, 33, 72, 51, 71, 92, 15, 14, 23, 0]
    decoded = foolbox_shared / "foolbox_samples_decoded.npz"
    if decoded.is_file():
        with np.load(decoded) as npz:
            np.testing.assert_array_equal(images, npz["x_cifar100"])


def test_channel_planar_layout_becomes_nhwc(
    tmp_path: Path, make_cifar10: Callable[..., Path], pickle_file: Callable[..., Path]
) -> None:
    root = make_cifar10(tmp_path)
    image = np.zeros((3, 32, 32), dtype=np.uint8)
    image[0, 0, 1] = 10  # red at row 0, column 1
    image[1, 2, 0] = 20  # green at row 2, column 0
    image[2, 31, 31] = 30  # blue at the last pixel
    pickle_file(
        root / "cifar-10-batches-py" / "test_batch",
        {"data": image.reshape(1, 3072), "labels": [7]},
    )
    images, labels = load_cifar("cifar10", root, split="test")
    assert images[0, 0, 1].tolist() == [10, 0, 0]
    assert images[0, 2, 0].tolist() == [0, 20, 0]
    assert images[0, 31, 31].tolist() == [0, 0, 30]
    assert labels.tolist() == [7]


def test_train_batches_are_concatenated_in_order(
    tmp_path: Path, make_cifar10: Callable[..., Path]
) -> None:
    root = make_cifar10(tmp_path, n_per_batch=3)
    images, labels = load_cifar("cifar10", root, split="train")
    assert images.shape == (15, 32, 32, 3)
    folder = root / "cifar-10-batches-py"
    for i in range(5):
        with (folder / f"data_batch_{i + 1}").open("rb") as f:
            batch = pickle.load(f)
        expected = batch["data"].reshape(3, 3, 32, 32).transpose(0, 2, 3, 1)
        np.testing.assert_array_equal(images[3 * i : 3 * i + 3], expected)
        assert labels[3 * i : 3 * i + 3].tolist() == batch["labels"]


def test_bytes_keys_are_accepted(tmp_path: Path, pickle_file: Callable[..., Path]) -> None:
    folder = tmp_path / "cifar-100-python"
    data = np.ones((2, 3072), np.uint8)
    pickle_file(folder / "test", {b"data": data, b"fine_labels": [3, 99]})
    images, labels = load_cifar("cifar100", tmp_path, split="test")
    assert images.shape == (2, 32, 32, 3)
    assert labels.tolist() == [3, 99]


def test_missing_folder_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError) as info:
        load_cifar("cifar10", tmp_path, split="train")
    message = str(info.value)
    assert "cifar-10-batches-py" in message
    assert f"naswot data download cifar10 --data-dir {tmp_path}" in message
    with pytest.raises(DatasetNotFoundError, match="naswot data download cifar100"):
        load_cifar("cifar100", tmp_path, split="test")


def test_missing_batches_are_named(tmp_path: Path, make_cifar10: Callable[..., Path]) -> None:
    root = make_cifar10(tmp_path)
    (root / "cifar-10-batches-py" / "data_batch_3").unlink()
    (root / "cifar-10-batches-py" / "data_batch_5").unlink()
    with pytest.raises(DataError, match=r"data_batch_3, data_batch_5 are missing"):
        load_cifar("cifar10", root, split="train")
    # The test split does not need the training batches.
    images, _ = load_cifar("cifar10", root, split="test")
    assert len(images) == 6
    (root / "cifar-10-batches-py" / "test_batch").unlink()
    with pytest.raises(DataError, match="test_batch is missing"):
        load_cifar("cifar10", root, split="test")


@pytest.mark.parametrize(
    ("batch", "pattern"),
    [
        ({"data": np.zeros((2, 3072), np.float32), "labels": [0, 1]}, "uint8 array"),
        ({"data": np.zeros((2, 3000), np.uint8), "labels": [0, 1]}, r"\(N, 3072\)"),
        ({"data": np.zeros((2, 32, 32, 3), np.uint8), "labels": [0, 1]}, r"\(N, 3072\)"),
        ({"data": np.zeros((0, 3072), np.uint8), "labels": []}, "non-empty"),
        ({"data": [[0] * 3072], "labels": [0]}, "got a list"),
        ({"data": np.zeros((2, 3072), np.uint8), "labels": [0]}, "2 images but 1 labels"),
        ({"data": np.zeros((2, 3072), np.uint8), "labels": [0, 10]}, r"0\.\.9"),
        ({"data": np.zeros((2, 3072), np.uint8), "labels": ["a", "b"]}, "list of ints"),
        ({"data": np.zeros((2, 3072), np.uint8)}, "no 'labels' entry"),
        ({"labels": [0, 1]}, "no 'data' entry"),
        ([1, 2, 3], "holds a list"),
    ],
)
def test_malformed_batches_are_data_errors(
    tmp_path: Path,
    make_cifar10: Callable[..., Path],
    pickle_file: Callable[..., Path],
    batch: object,
    pattern: str,
) -> None:
    root = make_cifar10(tmp_path)
    # Protocol 4: protocol 2 would pickle the empty array's b"" through `__builtin__.bytes`,
    # a global that the official files never contain and the safe loader refuses.
    path = pickle_file(root / "cifar-10-batches-py" / "test_batch", batch, protocol=4)
    with pytest.raises(DataError, match=pattern) as info:
        load_cifar("cifar10", root, split="test")
    assert str(path) in str(info.value)


def test_cifar100_reads_fine_labels(tmp_path: Path, pickle_file: Callable[..., Path]) -> None:
    folder = tmp_path / "cifar-100-python"
    data = np.zeros((2, 3072), np.uint8)
    pickle_file(folder / "train", {"data": data, "fine_labels": [5, 6], "coarse_labels": [0, 1]})
    _, labels = load_cifar("cifar100", tmp_path, split="train")
    assert labels.tolist() == [5, 6]
    pickle_file(folder / "train", {"data": data, "labels": [5, 6]})
    with pytest.raises(DataError, match="no 'fine_labels' entry"):
        load_cifar("cifar100", tmp_path, split="train")


def test_hostile_batch_file_is_refused(tmp_path: Path, make_cifar10: Callable[..., Path]) -> None:
    root = make_cifar10(tmp_path)
    path = root / "cifar-10-batches-py" / "data_batch_2"
    path.write_bytes(b"cos\nsystem\n(S'true'\ntR.")
    with pytest.raises(UnsafeFileError, match=r"'os\.system'"):
        load_cifar("cifar10", root, split="train")


def test_invalid_name_and_split(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="'name' parameter of load_cifar"):
        load_cifar("cifar1000", tmp_path, split="train")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'split' parameter of load_cifar"):
        load_cifar("cifar10", tmp_path, split="valid")  # type: ignore[arg-type]
