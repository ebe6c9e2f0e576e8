"""Minibatches to score: the bundled offline batch, official dataset readers, noise, downloads.

The one entry point is :func:`load_batch`::

    from naswot.data import load_batch

    batch = load_batch("cifar10")                           # 20 bundled test images, offline
    batch = load_batch("cifar10", data_dir="~/data")        # 128 training images, seed 1
    batch = load_batch("noise", batch_size=64, seed=3)      # N(0, 1) inputs

The official dataset files are read with a restricted unpickler (:func:`safe_load_pickle`) that
refuses pickles which could run code. :func:`download_dataset` fetches CIFAR-10/100.
"""

from __future__ import annotations

from naswot.data._pickle import safe_load_pickle
from naswot.data.batch import Batch
from naswot.data.bundled import load_bundled_cifar10
from naswot.data.cifar import load_cifar
from naswot.data.download import ARCHIVES, download_dataset
from naswot.data.imagenet16 import load_imagenet16
from naswot.data.loading import (
    DATASETS,
    DEFAULT_BATCH_SIZE,
    NORMALIZATION,
    default_data_dir,
    find_dataset,
    load_batch,
    normalize,
)

__all__ = [
    "ARCHIVES",
    "DATASETS",
    "DEFAULT_BATCH_SIZE",
    "NORMALIZATION",
    "Batch",
    "default_data_dir",
    "download_dataset",
    "find_dataset",
    "load_batch",
    "load_bundled_cifar10",
    "load_cifar",
    "load_imagenet16",
    "normalize",
    "safe_load_pickle",
]
