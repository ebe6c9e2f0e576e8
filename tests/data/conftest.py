"""Fixtures for the naswot.data tests: the shared real data, and tiny official-format files."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def shared_data_dir(shared_data: Path) -> Path:
    """The shared real-data folder (the root conftest's ``shared_data``: skips without it)."""
    return shared_data


@pytest.fixture(scope="session")
def cifar10_shared(shared_data_dir: Path) -> Path:
    """The folder holding the shared ``cifar-10-batches-py/`` (1,000 train + 1,000 test)."""
    root = shared_data_dir / "cifar10-jpeg-yoongikim"
    if not (root / "cifar-10-batches-py").is_dir():
        pytest.skip(f"{root}/cifar-10-batches-py not found in the shared test data")
    return root


@pytest.fixture(scope="session")
def foolbox_shared(shared_data_dir: Path) -> Path:
    """The shared foolbox-samples folder (``cifar-100-python/``, ``imagenet16/``, decoded npz)."""
    root = shared_data_dir / "image-samples-foolbox"
    if not root.is_dir():
        pytest.skip(f"{root} not found in the shared test data")
    return root


def write_pickle(path: Path, obj: object, protocol: int = 2) -> Path:
    """Writes ``obj`` as a pickle (protocol 2, like the official files written by Python 3)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        pickle.dump(obj, f, protocol=protocol)
    return path


def planar_batch(n: int, side: int, rng: np.random.Generator) -> np.ndarray:
    """Random uint8 images in the official layout: N x (3 * side * side), R then G then B."""
    return rng.integers(0, 256, size=(n, 3 * side * side), dtype=np.uint8)


FakeCifar = Callable[..., Path]


@pytest.fixture
def make_cifar10() -> FakeCifar:
    """Writes a tiny ``<root>/cifar-10-batches-py/`` (5 train batches, test_batch); -> root."""

    def make(root: Path, n_per_batch: int = 4, n_test: int = 6, seed: int = 0) -> Path:
        rng = np.random.default_rng(seed)
        folder = root / "cifar-10-batches-py"
        for i in range(1, 6):
            write_pickle(
                folder / f"data_batch_{i}",
                {
                    "batch_label": f"training batch {i} of 5",
                    "data": planar_batch(n_per_batch, 32, rng),
                    "labels": [int(v) for v in rng.integers(0, 10, n_per_batch)],
                    "filenames": [f"img_{i}_{k}.png" for k in range(n_per_batch)],
                },
            )
        write_pickle(
            folder / "test_batch",
            {
                "batch_label": "testing batch 1 of 1",
                "data": planar_batch(n_test, 32, rng),
                "labels": [int(v) for v in rng.integers(0, 10, n_test)],
                "filenames": [f"test_{k}.png" for k in range(n_test)],
            },
        )
        write_pickle(folder / "batches.meta", {"label_names": [str(c) for c in range(10)]})
        return root

    return make


@pytest.fixture
def make_imagenet16() -> FakeCifar:
    """Writes a tiny ``<root>/<folder>/`` of downsampled-ImageNet 16x16 pickles; returns root."""

    def make(
        root: Path,
        folder: str = "ImageNet16",
        train_batches: tuple[int, ...] = (1,),
        labels: tuple[int, ...] = (1, 120, 121, 5, 1000),
        val: bool = True,
        seed: int = 0,
    ) -> Path:
        rng = np.random.default_rng(seed)
        n = len(labels)
        for i in train_batches:
            write_pickle(
                root / folder / f"train_data_batch_{i}",
                {
                    "data": planar_batch(n, 16, rng),
                    "labels": list(labels),
                    "mean": np.zeros(768, dtype=np.float64),
                },
            )
        if val:
            write_pickle(
                root / folder / "val_data",
                {"data": planar_batch(n, 16, rng), "labels": list(labels)},
            )
        return root

    return make


@pytest.fixture
def pickle_file() -> Callable[..., Path]:
    """``pickle_file(path, obj, protocol=2)`` writes a pickle and returns its path."""
    return write_pickle
