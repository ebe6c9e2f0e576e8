"""ImageNette reader: class folders of JPEGs written by the tests (with Pillow), and real JPEGs."""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from naswot.data.imagenette import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    decode_image,
    find_imagenette_folder,
    list_imagenette,
    load_imagenette_batch,
    normalize_imagenet,
)
from naswot.exceptions import (
    DataError,
    DatasetNotFoundError,
    InvalidParameterError,
    MissingDependencyError,
)

Image = pytest.importorskip("PIL.Image", reason="Pillow (naswot[images]) is not installed")

CLASSES = ("n01440764", "n02102040", "n02979186")


def _save(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


@pytest.fixture
def imagenette(tmp_path: Path) -> Path:
    """``tmp/imagenette2/{train,val}/<class>/*.JPEG``: 4 train and 2 val images per class of
    random sizes; image j of class c has the constant colour (40c + 10j, 100, 200)."""
    rng = np.random.default_rng(0)
    for split, n in (("train", 4), ("val", 2)):
        for c, name in enumerate(CLASSES):
            for j in range(n):
                h, w = (int(v) for v in rng.integers(230, 400, size=2))
                pixel = np.array([40 * c + 10 * j, 100, 200], dtype=np.uint8)
                _save(
                    tmp_path / "imagenette2" / split / name / f"img_{j}.JPEG",
                    np.broadcast_to(pixel, (h, w, 3)).copy(),
                )
    (tmp_path / "imagenette2" / "train" / CLASSES[0] / "notes.txt").write_text("not an image")
    return tmp_path


def test_finds_the_folder_under_its_names_or_itself(imagenette: Path) -> None:
    assert find_imagenette_folder(imagenette) == imagenette / "imagenette2"
    assert find_imagenette_folder(imagenette / "imagenette2") == imagenette / "imagenette2"
    assert find_imagenette_folder(imagenette / "nowhere") is None


def test_lists_sorted_classes_and_files(imagenette: Path) -> None:
    files, labels, classes = list_imagenette(imagenette, split="train")
    assert classes == CLASSES
    assert len(files) == 12 and labels.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert [f.name for f in files[:4]] == [f"img_{j}.JPEG" for j in range(4)]
    assert len(list_imagenette(imagenette, split="val")[0]) == 6


def test_resize_shorter_side_and_centre_crop(tmp_path: Path) -> None:
    """A 512x256 (w x h) image, left half red, right half blue: no resize is needed, and the
    224 centre columns are 112 red then 112 blue."""
    array = np.zeros((256, 512, 3), dtype=np.uint8)
    array[:, :256, 0] = 255
    array[:, 256:, 2] = 255
    _save(tmp_path / "wide.png", array)
    out = decode_image(tmp_path / "wide.png")
    assert out.shape == (224, 224, 3) and out.dtype == np.uint8
    assert (out[:, :112, 0] == 255).all() and (out[:, 112:, 2] == 255).all()
    # a 100x300 (w x h) image is resized to 256x768, then cropped to its centre
    tall = np.zeros((300, 100, 3), dtype=np.uint8)
    tall[:150] = 50
    tall[150:] = 150
    _save(tmp_path / "tall.png", tall)
    out = decode_image(tmp_path / "tall.png")
    assert out.shape == (224, 224, 3)
    assert (out[:100] == 50).all() and (out[124:] == 150).all()


def test_normalisation_uses_the_imagenet_constants() -> None:
    images = np.full((2, 4, 4, 3), 255, dtype=np.uint8)
    x = normalize_imagenet(images)
    assert x.shape == (2, 3, 4, 4) and x.dtype == torch.float32 and x.is_contiguous()
    for c in range(3):
        assert x[0, c, 0, 0].item() == pytest.approx((1 - IMAGENET_MEAN[c]) / IMAGENET_STD[c])
    with pytest.raises(InvalidParameterError, match="uint8 array"):
        normalize_imagenet(np.zeros((2, 4, 4), dtype=np.uint8))


def test_batch_is_seeded_and_labelled(imagenette: Path) -> None:
    batch = load_imagenette_batch(imagenette, batch_size=5, seed=3)
    again = load_imagenette_batch(imagenette, batch_size=5, seed=3)
    other = load_imagenette_batch(imagenette, batch_size=5, seed=4)
    assert batch.inputs.shape == (5, 3, 224, 224) and batch.inputs.dtype == torch.float32
    assert torch.equal(batch.inputs, again.inputs) and batch.indices == again.indices
    assert batch.indices != other.indices
    expected = np.random.default_rng(3).choice(12, 5, replace=False)
    assert batch.indices == tuple(int(i) for i in expected)
    assert batch.targets is not None
    assert batch.targets.tolist() == [int(i) // 4 for i in expected]
    assert batch.dataset == "imagenette" and "seed 3" in batch.source
    # the red channel identifies the image: 40 * class + 10 * index, up to JPEG error
    red = batch.inputs[:, 0].mean(dim=(1, 2)) * IMAGENET_STD[0] + IMAGENET_MEAN[0]
    expected_red = [(40 * (int(i) // 4) + 10 * (int(i) % 4)) / 255 for i in expected]
    assert np.allclose(red.numpy(), expected_red, atol=4 / 255)


def test_val_split_and_errors(imagenette: Path, tmp_path: Path) -> None:
    assert load_imagenette_batch(imagenette, batch_size=6, split="test").size == 6
    with pytest.raises(InvalidParameterError, match="at most 6"):
        load_imagenette_batch(imagenette, batch_size=7, split="val")
    with pytest.raises(InvalidParameterError, match="'split'"):
        load_imagenette_batch(imagenette, split="valid")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'batch_size'"):
        load_imagenette_batch(imagenette, batch_size=1)
    with pytest.raises(DatasetNotFoundError, match=r"imagenette2\.tgz"):
        load_imagenette_batch(tmp_path / "missing")
    (tmp_path / "empty" / "train" / "a").mkdir(parents=True)
    with pytest.raises(DataError, match="no class folders of images"):
        list_imagenette(tmp_path / "empty")
    (tmp_path / "broken.JPEG").write_bytes(b"not a jpeg")
    with pytest.raises(DataError, match="Cannot decode"):
        decode_image(tmp_path / "broken.JPEG")


def test_missing_pillow_names_the_extra(imagenette: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "PIL", None)
    monkeypatch.setitem(sys.modules, "PIL.Image", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'naswot\[images\]'"):
        load_imagenette_batch(imagenette, batch_size=2)


def test_real_imagenet_jpegs(tmp_path: Path, foolbox_shared: Path) -> None:
    """The 20 ImageNet JPEGs of the shared foolbox samples, as a one-class train folder."""
    source = foolbox_shared
    jpegs = sorted(source.glob("imagenet_*.jpg"))
    if not jpegs:
        pytest.skip(f"no imagenet_*.jpg in {source} (set NASWOT_TEST_DATA)")
    folder = tmp_path / "imagenette2" / "train" / "samples"
    folder.mkdir(parents=True)
    for jpeg in jpegs:
        (folder / jpeg.name).symlink_to(jpeg)
    batch = load_imagenette_batch(tmp_path, batch_size=len(jpegs), seed=1)
    assert batch.inputs.shape == (len(jpegs), 3, 224, 224)
    assert torch.isfinite(batch.inputs).all()
    assert -2.2 < batch.inputs.mean().item() < 2.7 and batch.inputs.std().item() > 0.3
