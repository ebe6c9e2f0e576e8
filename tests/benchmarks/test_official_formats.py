"""The converters against files written and read by the official benchmark code.

The files are built with the official classes (``ArchResults`` / ``ResultsCount`` of the
``nas-bench-201`` 2.1 and ``nats-bench`` 1.8 packages on PyPI, and their ``state_dict``), saved
the way the official files are (``torch.save`` of the NAS-Bench-201 dict; ``pickle_save`` of the
NATS-Bench ``.pickle.pbz2`` files), and read back by the official APIs
(``NASBench201API``, ``nats_bench.create``). ``naswot bench convert`` then has to give, for
every cell and every column of our CSV, what ``get_more_info(index, dataset, hp=...,
is_random=False)`` reports -- and an empty cell where the API reports nothing.

The packages are test-only (the ``dev`` extra); the tests skip where they are not installed.
"""

from __future__ import annotations

import csv
import math
import random
import tarfile
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from naswot.benchmarks.convert import COLUMNS, convert_nats_tss, convert_nb201_pth
from naswot.cli import main
from naswot.exceptions import BenchmarkError

try:
    import nas_201_api as nb201_api
    import nats_bench
    from nas_201_api import api_utils as nb201_utils
    from nats_bench import api_utils as nats_utils
except ImportError as e:  # the dev extra installs them
    MISSING: str | None = (
        f"the official readers are not installed ({e}); "
        "pip install nas-bench-201==2.1 nats-bench==1.8"
    )
else:
    MISSING = None
official_readers = pytest.mark.skipif(MISSING is not None, reason=str(MISSING))

DATASETS = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")
# The evaluation sets each dataset has in the official files.
SETS = {
    "cifar10-valid": ("x-valid", "ori-test"),
    "cifar10": ("ori-test",),
    "cifar100": ("x-valid", "x-test", "ori-test"),
    "ImageNet16-120": ("x-valid", "x-test", "ori-test"),
}
EPOCHS = {"01": 1, "12": 12, "90": 90, "200": 200}

# Our CSV column -> (schedule, dataset, key of get_more_info's dict).
API_OF_COLUMN: dict[str, tuple[str, str, str]] = {
    "test_acc_cifar10": ("200", "cifar10", "test-accuracy"),
    "test_acc_cifar100": ("200", "cifar100", "test-accuracy"),
    "test_acc_imagenet16_120": ("200", "ImageNet16-120", "test-accuracy"),
    "val_acc_cifar10_valid": ("200", "cifar10-valid", "valid-accuracy"),
    "val_acc_cifar100": ("200", "cifar100", "valid-accuracy"),
    "val_acc_imagenet16_120": ("200", "ImageNet16-120", "valid-accuracy"),
    "val_acc_12ep_cifar10_valid": ("12", "cifar10-valid", "valid-accuracy"),
    "train_time_12ep_cifar10_valid": ("12", "cifar10-valid", "train-all-time"),
}


@dataclass(frozen=True)
class Cell:
    """One architecture of the small benchmarks and how it was trained."""

    arch: str
    seeds: dict[str, tuple[int, ...]]  # dataset -> seeds (200 epochs)
    train_times: bool = True  # False: no train_times recorded (as in parts of v1_0)
    # (dataset, seed) trials evaluated on x-valid only: the API then reports no test accuracy.
    valid_only: frozenset[tuple[str, int]] = field(default_factory=frozenset)


CELLS = (
    Cell(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
        dict.fromkeys(DATASETS, (777, 888, 999)),
    ),
    Cell(
        "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
        dict.fromkeys(DATASETS, (777, 888)),
        train_times=False,
    ),
    Cell(
        "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        dict.fromkeys(DATASETS[:3], (777,)),  # no ImageNet16-120 trial
    ),
    Cell(
        "|nor_conv_1x1~0|+|skip_connect~0|nor_conv_3x3~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|",
        dict.fromkeys(DATASETS, (777, 888)),
        valid_only=frozenset({("cifar100", 888), ("ImageNet16-120", 777)}),
    ),
    Cell(
        "|skip_connect~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|avg_pool_3x3~1|none~2|",
        {
            "cifar10-valid": (777, 888),
            "cifar10": (888,),
            "cifar100": (888, 999),
            "ImageNet16-120": (777, 888, 999),
        },
    ),
)

SIZE_ARCHS = ("64:64:64:64:64", "8:16:32:48:64", "16:8:56:24:40")


# --------------------------------------------------------------------------------------------
# Building the files with the official classes


def trial(
    utils: Any,
    arch: str,
    dataset: str,
    seed: int,
    hp: str,
    rng: random.Random,
    *,
    sets: tuple[str, ...],
    train_times: bool,
    number: Callable[[float], Any],
) -> Any:
    """A ResultsCount of one training run, every epoch and set holding a different value."""
    epochs = EPOCHS[hp]
    n_classes = {"cifar100": 100, "ImageNet16-120": 120}.get(dataset, 10)
    result = utils.ResultsCount(
        dataset,
        None,  # net_state_dict: the benchmark files (not the "full" archives) hold no weights
        None,
        None,
        number(rng.uniform(0.1, 1.5)),  # params (MB)
        number(rng.uniform(5.0, 200.0)),  # flop (M)
        {"channel": 16, "num_cells": 5, "arch_str": arch, "class_num": n_classes},
        seed,
        epochs,
        [rng.uniform(0.005, 0.03)],
    )

    def per_epoch() -> OrderedDict[int, Any]:
        return OrderedDict((e, rng.uniform(1, 99)) for e in range(epochs))

    result.update_train_info(
        per_epoch(),
        per_epoch(),
        OrderedDict((e, rng.uniform(0.01, 2.0)) for e in range(epochs)),
        OrderedDict((e, number(rng.uniform(2.0, 30.0))) for e in range(epochs))
        if train_times
        else None,
    )
    keys = [f"{s}@{e}" for s in sets for e in range(epochs)]
    result.update_eval(
        {k: number(rng.uniform(1.0, 99.0)) for k in keys},
        {k: rng.uniform(0.01, 3.0) for k in keys},
        {k: rng.uniform(0.5, 3.0) for k in keys},
    )
    return result


def arch_results(
    utils: Any,
    index: int,
    arch: str,
    hp: str,
    seeds: dict[str, tuple[int, ...]],
    *,
    train_times: bool = True,
    valid_only: frozenset[tuple[str, int]] = frozenset(),
    number: Callable[[float], Any] = float,
) -> dict[str, Any]:
    """The state dict of an official ArchResults: ``seeds`` trials of ``arch`` under ``hp``."""
    rng = random.Random(f"{index}-{hp}-{arch}")
    results = utils.ArchResults(index, arch)
    for dataset, dataset_seeds in seeds.items():
        for seed in dataset_seeds:
            sets = ("x-valid",) if (dataset, seed) in valid_only else SETS[dataset]
            results.update(
                dataset,
                seed,
                trial(
                    utils,
                    arch,
                    dataset,
                    seed,
                    hp,
                    rng,
                    sets=sets,
                    train_times=train_times,
                    number=number,
                ),
            )
    results.clear_params()
    state: dict[str, Any] = results.state_dict()
    return state


def hp2results(utils: Any, index: int, cell: Cell, *, less_datasets: tuple[str, ...]) -> Any:
    """``{"12": ..., "200": ...}`` of one topology cell (NATS keys)."""
    less_seeds = {d: cell.seeds[d][:2] for d in less_datasets if d in cell.seeds}
    return OrderedDict(
        [
            (
                "12",
                arch_results(
                    utils,
                    index,
                    cell.arch,
                    "12",
                    less_seeds,
                    train_times=cell.train_times,
                    number=np.float64,
                ),
            ),
            (
                "200",
                arch_results(
                    utils,
                    index,
                    cell.arch,
                    "200",
                    cell.seeds,
                    valid_only=cell.valid_only,
                    number=np.float64,
                ),
            ),
        ]
    )


def nb201_dict(version: str) -> dict[str, Any]:
    """The dict a NAS-Bench-201 ``.pth`` holds (v1_0: 12-epoch results on cifar10-valid only)."""
    # v1_0 holds Python floats, v1_1 numpy float64 numbers: both occur in pickled results.
    number: Callable[[float], Any] = float if version == "v1_0" else np.float64
    less_datasets = ("cifar10-valid",) if version == "v1_0" else DATASETS
    arch2infos = {}
    for index, cell in enumerate(CELLS):
        less_seeds = {d: cell.seeds[d][:2] for d in less_datasets if d in cell.seeds}
        arch2infos[index] = {
            "less": arch_results(
                nb201_utils,
                index,
                cell.arch,
                "12",
                less_seeds,
                train_times=cell.train_times,
                number=number,
            ),
            "full": arch_results(
                nb201_utils,
                index,
                cell.arch,
                "200",
                cell.seeds,
                valid_only=cell.valid_only,
                number=number,
            ),
        }
    return {
        "meta_archs": [c.arch for c in CELLS],
        "total_archs": len(CELLS),
        "arch2infos": arch2infos,
        "evaluated_indexes": set(range(len(CELLS))),
    }


def pickle_save(obj: Any, path: Path) -> None:
    """The official writer: ``pickle_save(obj, "x.pickle")`` writes ``x.pickle.pbz2``."""
    assert path.name.endswith(".pickle.pbz2")
    nats_utils.pickle_save(obj, str(path)[: -len(".pbz2")])
    assert path.is_file()


def nats_simple_archive(folder: Path, archs: list[str], per_arch: Callable[[int], Any]) -> Path:
    """The "simple" (fast-mode) archive: ``meta.pickle.pbz2`` and ``{index:06d}.pickle.pbz2``."""
    folder.mkdir()
    meta = {
        "meta_archs": archs,
        "total_archs": len(archs),
        "arch2infos": None,
        "evaluated_indexes": set(),
    }
    pickle_save(meta, folder / "meta.pickle.pbz2")
    for index in range(len(archs)):
        pickle_save(per_arch(index), folder / f"{index:06d}.pickle.pbz2")
    return folder


def tss_hp2results(index: int) -> Any:
    return hp2results(nats_utils, index, CELLS[index], less_datasets=DATASETS)


def sss_hp2results(index: int) -> Any:
    seeds = dict.fromkeys(DATASETS, (777, 888))
    return OrderedDict(
        (hp, arch_results(nats_utils, index, SIZE_ARCHS[index], hp, seeds, number=np.float64))
        for hp in ("01", "12", "90")
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("official")
    out = {}
    for version in ("v1_0", "v1_1"):
        out[f"nb201-{version}"] = root / f"NAS-Bench-201-{version}-test.pth"
        torch.save(nb201_dict(version), out[f"nb201-{version}"])
    archs = [c.arch for c in CELLS]
    out["tss"] = nats_simple_archive(root / "NATS-tss-v1_0-3ffb9-simple", archs, tss_hp2results)
    out["tss-tar"] = root / "NATS-tss-v1_0-3ffb9-simple.tar"
    with tarfile.open(out["tss-tar"], "w") as tar:
        tar.add(out["tss"], arcname=out["tss"].name)
    out["tss-single"] = root / "NATS-tss-v1_0-3ffb9.pickle.pbz2"
    pickle_save(
        {
            "meta_archs": archs,
            "total_archs": len(archs),
            "arch2infos": {i: tss_hp2results(i) for i in range(len(archs))},
            "evaluated_indexes": set(range(len(archs))),
        },
        out["tss-single"],
    )
    out["sss"] = nats_simple_archive(
        root / "NATS-sss-v1_0-50262-simple", list(SIZE_ARCHS), sss_hp2results
    )
    return out


# --------------------------------------------------------------------------------------------
# Reading them with the official APIs


def official(kind: str, path: Path) -> Any:
    if kind == "nb201-v1_0":
        return nb201_api.NASBench201API(str(path), verbose=False)
    if kind == "nb201-v1_1":
        # The API's own torch.load(path) is weights-only under torch >= 2.6 and refuses the
        # numpy numbers of this file; the API also takes the dict (this file is our own).
        return nb201_api.NASBench201API(torch.load(path, weights_only=False), verbose=False)
    if kind == "tss":
        return nats_bench.create(str(path), "tss", fast_mode=True, verbose=False)
    if kind == "tss-single":
        return nats_bench.create(str(path), "tss", fast_mode=False, verbose=False)
    if kind == "sss":
        return nats_bench.create(str(path), "sss", fast_mode=True, verbose=False)
    raise AssertionError(kind)


def api_value(api: Any, index: int, column: str) -> float | None:
    """What the official API reports for one CSV cell (None: it reports nothing)."""
    hp, dataset, key = API_OF_COLUMN[column]
    try:
        info = api.get_more_info(index, dataset, hp=hp, is_random=False)
    except KeyError:  # the cell has no trial of this dataset
        return None
    value = info.get(key)
    return None if value is None else float(value)


def api_cells(api: Any) -> Iterator[tuple[int, str, float | None]]:
    for index in range(len(api)):
        for column in API_OF_COLUMN:
            yield index, column, api_value(api, index, column)


def read_csv(path: Path) -> dict[int, dict[str, str]]:
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == COLUMNS
        return {int(row["index"]): row for row in reader}


def convert(fmt: str, src: Path, dst: Path) -> dict[int, dict[str, str]]:
    assert main(["bench", "convert", fmt, str(src), str(dst), "--quiet"]) == 0
    return read_csv(dst)


def assert_same(api: Any, rows: dict[int, dict[str, str]]) -> int:
    """Every CSV cell is what the API reports. Returns the number of non-empty cells."""
    assert sorted(rows) == list(range(len(api)))
    for index, row in rows.items():
        assert row["arch_str"] == api.meta_archs[index]
    filled = 0
    for index, column, want in api_cells(api):
        got = rows[index][column]
        where = f"architecture {index}, {column}: API {want}, CSV {got!r}"
        if want is None:
            assert got == "", where
            continue
        # The API's mean is np.mean (NAS-Bench-201) or sum()/len (NATS-Bench; compensated
        # from Python 3.12), ours math.fsum: equal up to the last bits.
        assert got != "", where
        assert math.isclose(float(got), want, rel_tol=1e-13, abs_tol=0.0), where
        filled += 1
    return filled


# --------------------------------------------------------------------------------------------
# Tests


@official_readers
def test_the_small_benchmarks_cover_what_they_should(files: dict[str, Path]) -> None:
    """The official API reads the files, and they hold empty cells of each kind."""
    for kind in ("nb201-v1_0", "nb201-v1_1", "tss", "tss-single"):
        api = official(kind, files[kind])
        assert len(api) == len(CELLS)
        reported = {(i, c): v for i, c, v in api_cells(api)}
        assert reported[(2, "test_acc_imagenet16_120")] is None  # no trial
        assert reported[(1, "train_time_12ep_cifar10_valid")] is None  # no train times
        assert reported[(3, "test_acc_cifar100")] is None  # one seed lacks x-test
        assert reported[(3, "val_acc_cifar100")] is not None
        assert sum(v is not None for v in reported.values()) >= 30
    sss = official("sss", files["sss"])
    assert sss.get_more_info(1, "cifar100", hp="90", is_random=False)["test-accuracy"] > 0


@official_readers
@pytest.mark.parametrize("version", ["v1_0", "v1_1"])
def test_nb201_pth_matches_the_official_api(
    files: dict[str, Path], tmp_path: Path, version: str
) -> None:
    kind = f"nb201-{version}"
    rows = convert("nb201", files[kind], tmp_path / "nb201.csv")
    assert assert_same(official(kind, files[kind]), rows) >= 30


@official_readers
@pytest.mark.parametrize("kind", ["tss", "tss-tar"])
def test_nats_tss_archive_matches_the_official_api(
    files: dict[str, Path], tmp_path: Path, kind: str
) -> None:
    rows = convert("nats-tss", files[kind], tmp_path / "tss.csv")
    assert assert_same(official("tss", files["tss"]), rows) >= 30


@official_readers
def test_nats_tss_single_file_is_refused_with_the_way_out(files: dict[str, Path]) -> None:
    # The official API reads it (non-fast mode); naswot reads the "simple" archive only.
    assert len(official("tss-single", files["tss-single"])) == len(CELLS)
    with pytest.raises(BenchmarkError, match=r"single NATS-Bench file.*'simple' archive"):
        convert_nats_tss(files["tss-single"], files["tss-single"].with_suffix(".csv"))


@official_readers
def test_nats_size_archive_is_refused_as_not_topology(
    files: dict[str, Path], tmp_path: Path
) -> None:
    assert official("sss", files["sss"]).meta_archs == list(SIZE_ARCHS)
    with pytest.raises(BenchmarkError, match="not a NAS-Bench-201 topology cell"):
        convert_nats_tss(files["sss"], tmp_path / "sss.csv")
    assert not (tmp_path / "sss.csv").exists()


def test_a_seed_without_the_value_empties_the_cell(tmp_path: Path) -> None:
    """All seeds or nothing, as the API's mean (runs without the official packages)."""

    def trial(sets: tuple[str, ...], value: float, times: bool) -> dict[str, Any]:
        return {
            "epochs": 200,
            "eval_acc1es": {f"{s}@199": value for s in sets},
            "train_times": {i: 1.0 for i in range(200)} if times else None,
        }

    full = {
        "dataset_seed": {"cifar100": [777, 888], "cifar10-valid": [777, 888, 999]},
        "all_results": {
            ("cifar100", 777): trial(("x-valid", "x-test"), 60.0, True),
            ("cifar100", 888): trial(("x-valid",), 62.0, True),  # no x-test
            ("cifar10-valid", 777): trial(("x-valid",), 80.0, True),
            ("cifar10-valid", 888): trial(("x-valid",), 82.0, True),
            # 999 is listed but has no trial
        },
    }
    arch = CELLS[0].arch
    src = tmp_path / "nb201.pth"
    data = {"meta_archs": [arch], "arch2infos": {0: {"full": full}}, "evaluated_indexes": [0]}
    torch.save(data, src)
    convert_nb201_pth(src, tmp_path / "out.csv")
    row = read_csv(tmp_path / "out.csv")[0]
    assert float(row["val_acc_cifar100"]) == 61.0
    assert row["test_acc_cifar100"] == ""  # seed 888 lacks it: no mean of seed 777 alone
    assert row["val_acc_cifar10_valid"] == ""  # seed 999 has no trial
