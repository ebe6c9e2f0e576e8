from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from naswot.data import (
    DATASETS,
    DEFAULT_BATCH_SIZE,
    Batch,
    default_data_dir,
    find_dataset,
    load_batch,
    load_bundled_cifar10,
    load_cifar,
    normalize,
)
from naswot.exceptions import (
    DatasetNotFoundError,
    InvalidParameterError,
    UnknownNameError,
)


def _check_tensors(batch: Batch, size: int, side: int = 32) -> None:
    assert batch.inputs.dtype == torch.float32
    assert tuple(batch.inputs.shape) == (size, 3, side, side)
    assert batch.inputs.is_contiguous()
    assert torch.isfinite(batch.inputs).all()
    if batch.targets is not None:
        assert batch.targets.dtype == torch.int64
        assert tuple(batch.targets.shape) == (size,)


def test_constants() -> None:
    assert DATASETS == ("cifar10", "cifar100", "imagenet16-120", "imagenette", "noise")
    assert DEFAULT_BATCH_SIZE == 128


# --- on-disk datasets -------------------------------------------------------------------------


def test_cifar10_from_disk(cifar10_shared: Path) -> None:
    batch = load_batch("cifar10", data_dir=cifar10_shared)
    _check_tensors(batch, 128)
    assert batch.dataset == "cifar10"
    assert batch.seed == 1
    assert batch.source == (
        f"cifar-10-batches-py train split (1000 images) in {cifar10_shared}, 128 drawn with seed 1"
    )
    # The indices are exactly the drawn ones, in drawn order (not sorted).
    expected = np.random.default_rng(1).choice(1000, 128, replace=False)
    assert batch.indices == tuple(int(i) for i in expected)
    assert list(batch.indices) != sorted(batch.indices)
    images, labels = load_cifar("cifar10", cifar10_shared, split="train")
    assert torch.equal(batch.inputs, normalize(images[expected], "cifar10"))
    assert batch.targets is not None
    assert batch.targets.tolist() == labels[expected].tolist()


def test_same_seed_same_batch_other_seed_other_batch(cifar10_shared: Path) -> None:
    a = load_batch("cifar10", data_dir=cifar10_shared, batch_size=16, seed=3)
    b = load_batch("cifar10", data_dir=cifar10_shared, batch_size=16, seed=3)
    c = load_batch("cifar10", data_dir=cifar10_shared, batch_size=16, seed=4)
    assert a.fingerprint == b.fingerprint
    assert a.indices == b.indices
    assert a.fingerprint != c.fingerprint
    assert len(set(a.indices or ())) == 16  # distinct images


def test_test_split(cifar10_shared: Path) -> None:
    batch = load_batch("cifar10", data_dir=str(cifar10_shared), batch_size=1000, split="test")
    assert sorted(batch.indices or ()) == list(range(1000))
    assert "test split (1000 images)" in batch.source


def test_cifar100_from_disk(foolbox_shared: Path) -> None:
    batch = load_batch("cifar100", data_dir=foolbox_shared, batch_size=20, seed=0)
    _check_tensors(batch, 20)
    images, _ = load_cifar("cifar100", foolbox_shared, split="train")
    idx = list(batch.indices or ())
    assert torch.equal(batch.inputs, normalize(images[idx], "cifar100"))
    assert batch.source.startswith("cifar-100-python train split (20 images)")
    with pytest.raises(InvalidParameterError, match=r"holds 20 images\. Got 128 instead"):
        load_batch("cifar100", data_dir=foolbox_shared)


def test_imagenet16_from_disk(foolbox_shared: Path) -> None:
    batch = load_batch("imagenet16-120", data_dir=foolbox_shared, batch_size=2)
    _check_tensors(batch, 2, side=16)
    assert batch.targets is not None
    assert sorted(batch.targets.tolist()) == [22, 99]
    assert "classes 1-120 (2 images)" in batch.source
    with pytest.raises(InvalidParameterError, match=r"holds 2 images\. Got 3 instead"):
        load_batch("imagenet16-120", data_dir=foolbox_shared, batch_size=3)


def test_imagenet16_normalisation_is_used(
    tmp_path: Path, make_imagenet16: Callable[..., Path]
) -> None:
    root = make_imagenet16(tmp_path, labels=(1, 2, 3))
    batch = load_batch("imagenet16-120", data_dir=root, batch_size=3, split="test")
    from naswot.data import load_imagenet16

    images, _ = load_imagenet16(root, split="test")
    idx = list(batch.indices or ())
    assert torch.equal(batch.inputs, normalize(images[idx], "imagenet16-120"))


def test_missing_dataset_in_data_dir(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="naswot data download cifar10"):
        load_batch("cifar10", data_dir=tmp_path)
    with pytest.raises(DatasetNotFoundError, match="NAS-Bench-201"):
        load_batch("imagenet16-120", data_dir=tmp_path)


def test_tiny_fake_cifar10(tmp_path: Path, make_cifar10: Callable[..., Path]) -> None:
    root = make_cifar10(tmp_path, n_per_batch=4)
    batch = load_batch("cifar10", data_dir=root, batch_size=20, seed=9)
    assert sorted(batch.indices or ()) == list(range(20))
    with pytest.raises(InvalidParameterError, match=r"holds 20 images\. Got 21 instead"):
        load_batch("cifar10", data_dir=root, batch_size=21)


# --- the bundled batch --------------------------------------------------------------------------


def test_bundled_default_is_all_20_in_order() -> None:
    batch = load_batch("cifar10")
    _check_tensors(batch, 20)
    images, labels = load_bundled_cifar10()
    assert torch.equal(batch.inputs, normalize(images, "cifar10"))
    assert batch.targets is not None
    assert batch.targets.tolist() == labels.tolist()
    assert batch.seed is None
    assert batch.indices == tuple(range(20))
    assert batch.source == (
        "20 bundled CIFAR-10 test images (foolbox 3.3.4, MIT); "
        "pass --data-dir for a batch of 128 training images"
    )
    # The seed is not used for the fixed batch.
    assert load_batch("cifar10", seed=5).fingerprint == batch.fingerprint


def test_bundled_explicit_size_is_drawn_with_the_seed() -> None:
    a = load_batch("cifar10", batch_size=8, seed=2)
    b = load_batch("cifar10", batch_size=8, seed=2)
    c = load_batch("cifar10", batch_size=8, seed=3)
    _check_tensors(a, 8)
    expected = np.random.default_rng(2).choice(20, 8, replace=False)
    assert a.indices == tuple(int(i) for i in expected)
    assert a.seed == 2
    assert a.fingerprint == b.fingerprint != c.fingerprint
    assert "8 of the 20 bundled CIFAR-10 test images" in a.source
    assert "seed 2" in a.source


def test_bundled_batch_too_large() -> None:
    with pytest.raises(InvalidParameterError) as info:
        load_batch("cifar10", batch_size=21)
    message = str(info.value)
    assert "the bundled batch holds 20 images" in message
    assert "--data-dir" in message
    assert "Got 21 instead." in message


def test_datasets_without_bundled_batch_need_data_dir() -> None:
    with pytest.raises(DatasetNotFoundError, match="naswot data download cifar100 --data-dir"):
        load_batch("cifar100")
    with pytest.raises(DatasetNotFoundError, match="NAS-Bench-201") as info:
        load_batch("imagenet16-120")
    assert "ImageNet16/" in str(info.value)


# --- noise ------------------------------------------------------------------------------------


def test_noise_batch() -> None:
    batch = load_batch("noise", batch_size=6, seed=7)
    _check_tensors(batch, 6)
    assert batch.targets is None
    assert batch.indices is None
    assert batch.seed == 7
    assert batch.source == "N(0,1) noise, seed 7"
    expected = torch.randn((6, 3, 32, 32), generator=torch.Generator().manual_seed(7))
    assert torch.equal(batch.inputs, expected)
    assert load_batch("noise", batch_size=6, seed=7).fingerprint == batch.fingerprint
    assert load_batch("noise", batch_size=6, seed=8).fingerprint != batch.fingerprint
    assert load_batch("noise").size == 128


def test_noise_does_not_touch_the_global_rng() -> None:
    torch.manual_seed(0)
    before = torch.rand(1)
    torch.manual_seed(0)
    load_batch("noise", batch_size=2)
    assert torch.equal(torch.rand(1), before)


# --- parameter validation ---------------------------------------------------------------------


@pytest.mark.parametrize("bad", [0, 1, -5, True, 2.0, "8"])
def test_bad_batch_size(bad: object) -> None:
    with pytest.raises(InvalidParameterError) as info:
        load_batch("noise", batch_size=bad)  # type: ignore[arg-type]
    assert str(info.value) == (
        f"The 'batch_size' parameter of load_batch must be an int >= 2. Got {bad!r} instead."
    )


def test_batch_size_one_sentence() -> None:
    with pytest.raises(InvalidParameterError) as info:
        load_batch("cifar10", batch_size=1)
    assert str(info.value) == (
        "The 'batch_size' parameter of load_batch must be an int >= 2. Got 1 instead."
    )


def test_numpy_ints_are_accepted() -> None:
    batch = load_batch("noise", batch_size=np.int64(4), seed=np.int32(2))  # type: ignore[arg-type]
    assert batch.size == 4
    assert batch.seed == 2
    assert type(batch.seed) is int


@pytest.mark.parametrize("bad", [-1, 2**63, 1.5, None])
def test_bad_seed(bad: object) -> None:
    with pytest.raises(InvalidParameterError, match="'seed' parameter of load_batch"):
        load_batch("noise", seed=bad)  # type: ignore[arg-type]


def test_bad_split() -> None:
    with pytest.raises(InvalidParameterError, match="'split' parameter of load_batch"):
        load_batch("cifar10", split="valid")


def test_unknown_dataset_lists_choices_and_closest() -> None:
    with pytest.raises(UnknownNameError) as info:
        load_batch("cifar-10")
    message = str(info.value)
    assert "cifar10, cifar100, imagenet16-120, imagenette, noise" in message
    assert "Did you mean 'cifar10'?" in message
    with pytest.raises(UnknownNameError, match="Did you mean 'imagenet16-120'"):
        load_batch("ImageNet16-120")


# --- find_dataset / default_data_dir -------------------------------------------------------------


def test_find_dataset(
    tmp_path: Path, make_cifar10: Callable[..., Path], make_imagenet16: Callable[..., Path]
) -> None:
    assert not find_dataset("cifar10", tmp_path)
    assert not find_dataset("cifar100", tmp_path)
    assert not find_dataset("imagenet16-120", tmp_path)
    assert find_dataset("noise", tmp_path)
    make_cifar10(tmp_path)
    assert find_dataset("cifar10", tmp_path)
    (tmp_path / "cifar-100-python").mkdir()
    assert find_dataset("cifar100", str(tmp_path))
    make_imagenet16(tmp_path, folder="imagenet16")
    assert find_dataset("imagenet16-120", tmp_path)
    with pytest.raises(UnknownNameError, match="Choices"):
        find_dataset("mnist", tmp_path)


def test_default_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NASWOT_DATA_DIR", str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_data_dir() == tmp_path / "mine"
    monkeypatch.delenv("NASWOT_DATA_DIR")
    assert default_data_dir() == tmp_path / "xdg" / "naswot" / "data"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_data_dir() == tmp_path / "home" / ".cache" / "naswot" / "data"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_data_dir() == tmp_path / "home" / ".cache" / "naswot" / "data"
    assert not (tmp_path / "home").exists()  # nothing is created
