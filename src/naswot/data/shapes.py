"""What a network for each dataset name looks like from outside: classes and input shape."""

from __future__ import annotations

from naswot.data.loading import _unknown_dataset

__all__ = ["DATASET_CLASSES", "INPUT_SHAPES", "input_shape", "n_classes_of"]

#: The number of classes of each dataset name (``noise`` gets CIFAR-10's head).
DATASET_CLASSES: dict[str, int] = {
    "cifar10": 10,
    "cifar100": 100,
    "imagenet16-120": 120,
    "imagenette": 10,
    "noise": 10,
}

#: The (C, H, W) shape of one input image of each dataset name.
INPUT_SHAPES: dict[str, tuple[int, int, int]] = {
    "cifar10": (3, 32, 32),
    "cifar100": (3, 32, 32),
    "imagenet16-120": (3, 16, 16),
    "imagenette": (3, 224, 224),
    "noise": (3, 32, 32),
}


def _check(dataset: str) -> None:
    if dataset not in DATASET_CLASSES:
        raise _unknown_dataset(dataset)


def n_classes_of(dataset: str) -> int:
    """The class count of ``dataset``; raises UnknownNameError (with the closest name)."""
    _check(dataset)
    return DATASET_CLASSES[dataset]


def input_shape(dataset: str) -> tuple[int, int, int]:
    """The (C, H, W) input shape of ``dataset``; raises UnknownNameError."""
    _check(dataset)
    return INPUT_SHAPES[dataset]
