"""Which benchmark column holds which (dataset, split) accuracy."""

from __future__ import annotations

import difflib

from naswot.exceptions import InvalidParameterError

__all__ = [
    "DATASET_COLUMNS",
    "DATASET_TITLES",
    "EVAL_DATASETS",
    "SPLITS",
    "accuracy_column",
    "column_label",
]

SPLITS = ("val", "test")
EVAL_DATASETS = ("cifar10", "cifar100", "imagenet16-120")

# (dataset, split) -> column of the NB201 CSV tables (nb201_combined.csv and our converters).
# CIFAR-10 validation is the cifar10-valid model's x-valid accuracy, as in the paper's Table 2.
DATASET_COLUMNS: dict[tuple[str, str], str] = {
    ("cifar10", "val"): "val_acc_cifar10_valid",
    ("cifar10", "test"): "test_acc_cifar10",
    ("cifar100", "val"): "val_acc_cifar100",
    ("cifar100", "test"): "test_acc_cifar100",
    ("imagenet16-120", "val"): "val_acc_imagenet16_120",
    ("imagenet16-120", "test"): "test_acc_imagenet16_120",
}


def accuracy_column(dataset: str, split: str) -> str:
    """The benchmark column for ``dataset`` (cifar10, cifar100, imagenet16-120) and ``split``."""
    if dataset not in EVAL_DATASETS:
        close = difflib.get_close_matches(dataset, EVAL_DATASETS, n=1)
        raise InvalidParameterError(
            f"The 'dataset' parameter must be one of {', '.join(EVAL_DATASETS)}. "
            f"Got {dataset!r} instead." + (f" Did you mean {close[0]!r}?" if close else "")
        )
    if split not in SPLITS:
        raise InvalidParameterError(
            f"The 'split' parameter must be 'val' or 'test'. Got {split!r} instead."
        )
    return DATASET_COLUMNS[(dataset, split)]


#: How people write the dataset names.
DATASET_TITLES = {
    "cifar10": "CIFAR-10",
    "cifar100": "CIFAR-100",
    "imagenet16-120": "ImageNet16-120",
}


def column_label(column: str) -> str:
    """An axis label in words for a benchmark column, e.g. ``CIFAR-10 test accuracy (%)``."""
    for (dataset, split), name in DATASET_COLUMNS.items():
        if name == column:
            which = "validation" if split == "val" else "test"
            return f"{DATASET_TITLES[dataset]} {which} accuracy (%)"
    return column
