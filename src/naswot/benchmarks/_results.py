"""The results of one architecture (ArchResults state dicts) as a row of the benchmark CSV."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from naswot.benchmarks._csv import write_csv
from naswot.exceptions import ArchParseError, BenchmarkError
from naswot.spaces import NasBench201Space


@dataclass(frozen=True)
class _Accuracy:
    """One accuracy column: ``eval_acc1es["<setname>@<last epoch>"]`` of ``dataset`` at ``hp``."""

    column: str
    hp: str
    dataset: str
    setname: str


# hp "200": the 200-epoch schedule ("full" in NAS-Bench-201); hp "12": 12 epochs ("less").
_ACCURACIES: Final[tuple[_Accuracy, ...]] = (
    _Accuracy("test_acc_cifar10", "200", "cifar10", "ori-test"),
    _Accuracy("test_acc_cifar100", "200", "cifar100", "x-test"),
    _Accuracy("test_acc_imagenet16_120", "200", "ImageNet16-120", "x-test"),
    _Accuracy("val_acc_cifar10_valid", "200", "cifar10-valid", "x-valid"),
    _Accuracy("val_acc_cifar100", "200", "cifar100", "x-valid"),
    _Accuracy("val_acc_imagenet16_120", "200", "ImageNet16-120", "x-valid"),
    _Accuracy("val_acc_12ep_cifar10_valid", "12", "cifar10-valid", "x-valid"),
)
_TRAIN_TIME_COLUMN: Final = "train_time_12ep_cifar10_valid"
_TRAIN_TIME_HP: Final = "12"
_TRAIN_TIME_DATASET: Final = "cifar10-valid"

COLUMNS: Final[tuple[str, ...]] = (
    "index",
    "arch_str",
    *(a.column for a in _ACCURACIES),
    _TRAIN_TIME_COLUMN,
)
"""The columns of a converted CSV, in order."""

# The number of epochs of each schedule, used when a trial does not record ``epochs``.
_NOMINAL_EPOCHS: Final[dict[str, int]] = {"12": 12, "200": 200}


# --------------------------------------------------------------------------------------------
# Reading the results


def _row(
    index: int,
    arch_str: str,
    hp2results: Mapping[str, Any],
    where: str,
    seen: dict[str, int],
) -> dict[str, str]:
    """The CSV row of one architecture from its ``{hp: ArchResults state dict}``."""
    key = _canonical(arch_str, where)
    if key in seen:
        raise BenchmarkError(f"{where}: {key} is also architecture {seen[key]}.")
    seen[key] = index
    row = {"index": str(index), "arch_str": key}
    for acc in _ACCURACIES:
        results = hp2results.get(acc.hp)
        values = [] if results is None else _eval_values(results, acc, where)
        row[acc.column] = _format_mean(values)
    results = hp2results.get(_TRAIN_TIME_HP)
    times = [] if results is None else _train_times(results, where)
    row[_TRAIN_TIME_COLUMN] = _format_mean(times)
    return row


def _trials(
    arch_results: Any, dataset: str, hp: str, where: str
) -> Iterator[Mapping[str, Any] | None]:
    """The ``ResultsCount`` state dict of each seed in ``dataset_seed[dataset]``.

    None for a seed that is listed but has no stored trial.
    """
    if not isinstance(arch_results, Mapping):
        raise BenchmarkError(
            f"{where}, hp {hp}: expected an ArchResults state dict, found "
            f"{_describe(arch_results)}."
        )
    seeds_of = arch_results.get("dataset_seed")
    all_results = arch_results.get("all_results")
    if not isinstance(seeds_of, Mapping) or not isinstance(all_results, Mapping):
        raise BenchmarkError(
            f"{where}, hp {hp}: an ArchResults state dict needs 'dataset_seed' and "
            f"'all_results' dicts, found {_describe(arch_results)}."
        )
    seeds = seeds_of.get(dataset) or ()
    if not isinstance(seeds, Sequence | set | frozenset):
        raise BenchmarkError(f"{where}, hp {hp}: the seeds of {dataset} are {_describe(seeds)}.")
    for seed in seeds:
        trial = all_results.get((dataset, seed))
        if trial is not None and not isinstance(trial, Mapping):
            raise BenchmarkError(
                f"{where}, hp {hp}, {dataset} seed {seed}: expected a ResultsCount state dict, "
                f"found {_describe(trial)}."
            )
        yield trial


def _last_epoch(trial: Mapping[str, Any], hp: str, where: str) -> int:
    """The trial's last epoch index (``epochs - 1``), as the official API's ``iepoch=None``."""
    epochs = trial.get("epochs")
    if epochs is None:
        return _NOMINAL_EPOCHS.get(hp, 1) - 1
    try:
        return int(epochs) - 1
    except (TypeError, ValueError):
        raise BenchmarkError(f"{where}, hp {hp}: 'epochs' is {_describe(epochs)}.") from None


def _eval_values(arch_results: Any, acc: _Accuracy, where: str) -> list[float]:
    """``eval_acc1es["<set>@<last epoch>"]`` of every seed, or [] if a seed lacks it.

    All or nothing, as the official API: its mean over the seeds (``is_random=False``) fails
    when one trial lacks the value, and ``get_more_info`` then reports nothing.
    """
    values = []
    for trial in _trials(arch_results, acc.dataset, acc.hp, where):
        accs = None if trial is None else trial.get("eval_acc1es")
        if trial is None or not isinstance(accs, Mapping):
            return []
        value = accs.get(f"{acc.setname}@{_last_epoch(trial, acc.hp, where)}")
        if value is None:
            return []
        values.append(_number(value, f"{where}, {acc.dataset} {acc.setname}"))
    return values


def _train_times(arch_results: Any, where: str) -> list[float]:
    """Seconds to train all epochs, per seed: ``sum(train_times[i] for i <= last epoch)``.

    This is the official API's ``train-all-time`` at the last epoch (per-epoch time x epochs).
    All or nothing, as :func:`_eval_values`: [] if a seed's ``train_times`` is missing or
    incomplete.
    """
    values = []
    hp = _TRAIN_TIME_HP
    for trial in _trials(arch_results, _TRAIN_TIME_DATASET, hp, where):
        times = None if trial is None else trial.get("train_times")
        if trial is None or not isinstance(times, Mapping | Sequence):
            return []
        last = _last_epoch(trial, hp, where)
        try:
            per_epoch = [times[i] for i in range(last + 1)]
        except (KeyError, IndexError):
            return []
        label = f"{where}, {_TRAIN_TIME_DATASET} train time"
        values.append(math.fsum(_number(t, label) for t in per_epoch))
    return values


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool | str | bytes):
        raise BenchmarkError(f"{where}: expected a number, found {_describe(value)}.")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise BenchmarkError(f"{where}: expected a number, found {_describe(value)}.") from None


def _format_mean(values: Sequence[float]) -> str:
    if not values:
        return ""
    mean = math.fsum(values) / len(values)
    return "" if math.isnan(mean) else repr(mean)


def _meta_archs(value: Any, src: Path) -> list[str]:
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        raise BenchmarkError(f"{src}: 'meta_archs' is {_describe(value)}, not a list of strings.")
    archs = list(value)
    for i, arch in enumerate(archs):
        if not isinstance(arch, str):
            raise BenchmarkError(f"{src}: meta_archs[{i}] is {_describe(arch)}, not a string.")
    return archs


_SPACE: Final = NasBench201Space()


def _canonical(arch_str: str, where: str) -> str:
    try:
        return _SPACE.key(_SPACE.parse(arch_str))
    except ArchParseError as e:
        raise BenchmarkError(
            f"{where} is {arch_str!r}, not a NAS-Bench-201 topology cell (is this the "
            f"topology benchmark?): {e}"
        ) from None


def _describe(value: Any) -> str:
    if isinstance(value, Mapping):
        keys = [str(k) for k in list(value)[:8]]
        return f"a {type(value).__name__} with keys {keys}"
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


# --------------------------------------------------------------------------------------------
# Writing


def _write_csv(rows: Sequence[Mapping[str, str]], dst: Path, src: Path) -> None:
    """Writes ``rows`` to ``dst`` atomically (see :func:`naswot.benchmarks._csv.write_csv`)."""
    if not rows:
        raise BenchmarkError(f"{src} holds no architectures; {dst} was not written.")
    write_csv(rows, COLUMNS, dst)
