"""Converters of the official NAS-Bench-201 .pth and NATS-Bench tss "simple" archive.

The fixtures write small files in each official layout (ArchResults / ResultsCount state dicts
as the D-X-Y API sources describe them): 3 architectures, 2 seeds for most, decoy values at
other epochs and on other evaluation sets, so a wrong key or epoch gives a wrong number.
"""

import argparse
import bz2
import math
import pickle
import tarfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from naswot.benchmarks import load_table
from naswot.benchmarks.convert import (
    COLUMNS,
    CONVERTERS,
    convert_nats_tss,
    convert_nb201_pth,
)
from naswot.cli import main
from naswot.exceptions import BenchmarkError, UnsafeFileError
from naswot.spaces import NasBench201Space

SPACE = NasBench201Space()
ARCHS = [
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
]
SETS = {
    "cifar10-valid": ("x-valid", "ori-test"),
    "cifar10": ("ori-test",),
    "cifar100": ("x-valid", "x-test", "ori-test"),
    "ImageNet16-120": ("x-valid", "x-test", "ori-test"),
}
DS_CODE = {"cifar10-valid": 1, "cifar10": 2, "cifar100": 3, "ImageNet16-120": 4}
SET_CODE = {"x-valid": 0.1, "x-test": 0.2, "ori-test": 0.3}
EPOCHS = {"12": 12, "200": 200}


def seeds_of(index: int) -> list[int]:
    return [777] if index == 2 else [777, 888]


def datasets_of(index: int, hp: str) -> list[str]:
    if hp == "12":
        return ["cifar10-valid"]  # v1_0: the 12-epoch results cover cifar10-valid only
    if index == 2:
        return ["cifar10-valid", "cifar10", "cifar100"]  # no ImageNet16-120 trials
    return list(SETS)


def acc(index: int, hp: str, dataset: str, setname: str, seed: int) -> float:
    """The accuracy at the last epoch; every other epoch / set holds something else."""
    return (
        40.0
        + 10 * index
        + DS_CODE[dataset]
        + SET_CODE[setname]
        + (hp == "12") * 5.0
        + (1.25 if seed == 888 else 0.0)
    )


def epoch_time(index: int, seed: int) -> float:
    return 3.0 + index + (0.5 if seed == 888 else 0.0)


def results_count(index: int, hp: str, dataset: str, seed: int) -> dict[str, Any]:
    """A ResultsCount state dict (its __dict__), with decoys at epochs other than the last."""
    epochs = EPOCHS[hp]
    last = epochs - 1
    accs: dict[str, float] = {}
    for setname in SETS[dataset]:
        right = acc(index, hp, dataset, setname, seed)
        accs[f"{setname}@0"] = right - 30.0
        accs[f"{setname}@{last - 1}"] = right - 20.0
        accs[f"{setname}@{last}"] = right
    times = None if index == 1 else OrderedDict((i, epoch_time(index, seed)) for i in range(epochs))
    return {
        "name": dataset,
        "net_state_dict": None,
        "train_acc1es": {last: 99.0},
        "train_acc5es": None,
        "train_losses": {last: 0.01},
        "train_times": times,
        "arch_config": {"channel": 16, "num_cells": 5, "arch_str": ARCHS[index], "class_num": 10},
        "params": np.float64(0.37),  # numpy scalars occur in the official files
        "flop": 12.5,
        "seed": seed,
        "epochs": epochs,
        "latency": [0.01],
        "eval_names": list(SETS[dataset]),
        "eval_acc1es": accs,
        "eval_times": {},
        "eval_losses": {k: 1.0 for k in accs},
    }


def arch_results(index: int, hp: str) -> dict[str, Any]:
    """An ArchResults state dict."""
    all_results: dict[tuple[str, int], Any] = {}
    dataset_seed: dict[str, list[int]] = {}
    for dataset in datasets_of(index, hp):
        dataset_seed[dataset] = seeds_of(index)
        for seed in seeds_of(index):
            all_results[(dataset, seed)] = results_count(index, hp, dataset, seed)
    return {
        "arch_index": index,
        "arch_str": ARCHS[index],
        "all_results": all_results,
        "dataset_seed": dataset_seed,
        "clear_net_done": True,
    }


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def expected(index: int) -> dict[str, float]:
    seeds = seeds_of(index)
    out = {
        "test_acc_cifar10": mean([acc(index, "200", "cifar10", "ori-test", s) for s in seeds]),
        "test_acc_cifar100": mean([acc(index, "200", "cifar100", "x-test", s) for s in seeds]),
        "val_acc_cifar10_valid": mean(
            [acc(index, "200", "cifar10-valid", "x-valid", s) for s in seeds]
        ),
        "val_acc_cifar100": mean([acc(index, "200", "cifar100", "x-valid", s) for s in seeds]),
        "val_acc_12ep_cifar10_valid": mean(
            [acc(index, "12", "cifar10-valid", "x-valid", s) for s in seeds]
        ),
    }
    if index != 2:
        out["test_acc_imagenet16_120"] = mean(
            [acc(index, "200", "ImageNet16-120", "x-test", s) for s in seeds]
        )
        out["val_acc_imagenet16_120"] = mean(
            [acc(index, "200", "ImageNet16-120", "x-valid", s) for s in seeds]
        )
    if index != 1:
        out["train_time_12ep_cifar10_valid"] = mean([12 * epoch_time(index, s) for s in seeds])
    return out


def check_table(csv_path: Path) -> None:
    table = load_table(csv_path, SPACE)
    assert table.metrics == COLUMNS[2:]
    assert list(table.keys()) == ARCHS
    for index, arch in enumerate(ARCHS):
        assert table.index[arch] == index
        got = table.lookup(arch)
        want = expected(index)
        assert set(got) == set(want), arch
        for column, value in want.items():
            assert math.isclose(got[column], value, rel_tol=1e-12), (arch, column)


# --------------------------------------------------------------------------------------------
# NAS-Bench-201 .pth


def nb201_dict(evaluated: Any = None) -> dict[str, Any]:
    return {
        "meta_archs": list(ARCHS),
        "total_archs": len(ARCHS),
        "arch2infos": {
            i: {"less": arch_results(i, "12"), "full": arch_results(i, "200")}
            for i in range(len(ARCHS))
        },
        "evaluated_indexes": evaluated if evaluated is not None else list(range(len(ARCHS))),
    }


@pytest.mark.parametrize(
    ("zipfile_format", "evaluated"), [(True, None), (False, {0, 1, 2})], ids=["zip", "legacy"]
)
def test_nb201_pth_converts(tmp_path: Path, zipfile_format: bool, evaluated: Any) -> None:
    src = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    torch.save(nb201_dict(evaluated), src, _use_new_zipfile_serialization=zipfile_format)
    dst = tmp_path / "out" / "nb201.csv"
    assert convert_nb201_pth(src, dst) == 3
    check_table(dst)
    assert dst.read_text().splitlines()[0] == ",".join(COLUMNS)
    assert sorted(p.name for p in dst.parent.iterdir()) == ["nb201.csv"]  # no temp file left


def test_nb201_numpy1_scalar_name_is_accepted(tmp_path: Path) -> None:
    # Files written under numpy 1.x name the scalar constructor numpy.core.multiarray.scalar.
    src = tmp_path / "old.pth"
    torch.save(nb201_dict(), src, _use_new_zipfile_serialization=False)
    data = src.read_bytes()
    assert b"numpy._core.multiarray\nscalar" in data
    src.write_bytes(
        data.replace(b"numpy._core.multiarray\nscalar", b"numpy.core.multiarray\nscalar")
    )
    assert convert_nb201_pth(src, tmp_path / "t.csv") == 3


class Evil:
    """Unpickling this would create the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("kind", ["reduce", "custom-class", "numpy-string"])
def test_nb201_pth_with_objects_is_refused(tmp_path: Path, kind: str) -> None:
    marker = tmp_path / "marker"
    data = nb201_dict()
    extra = {"reduce": Evil(marker), "custom-class": argparse.Namespace(x=1)}
    data["arch2infos"][0]["full"]["extra"] = extra.get(kind, np.str_("not a number"))
    src = tmp_path / "b.pth"
    torch.save(data, src)
    dst = tmp_path / "t.csv"
    with pytest.raises(UnsafeFileError, match="not a plain-data NAS-Bench-201 file"):
        convert_nb201_pth(src, dst)
    assert not marker.exists()
    assert not dst.exists()


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ({"meta_archs": ARCHS, "arch2infos": {}}, r"lacks the keys \['evaluated_indexes'\]"),
        ({"state_dict": {}}, "lacks the keys"),
        ([1, 2, 3], "holds a list"),
        ({"meta_archs": "x", "arch2infos": {}, "evaluated_indexes": []}, "not a list of strings"),
        ({"meta_archs": ARCHS, "arch2infos": {5: {}}, "evaluated_indexes": []}, "outside"),
        ({"meta_archs": ARCHS, "arch2infos": {0: {"x": 1}}, "evaluated_indexes": []}, "'less'"),
        (
            {"meta_archs": ["64:64:64"], "arch2infos": {0: {"full": {}}}, "evaluated_indexes": []},
            "not a NAS-Bench-201 topology cell",
        ),
        (
            {"meta_archs": ARCHS, "arch2infos": {0: {"full": {"a": 1}}}, "evaluated_indexes": []},
            "'dataset_seed'",
        ),
    ],
)
def test_nb201_wrong_layout_is_refused(tmp_path: Path, content: Any, match: str) -> None:
    src = tmp_path / "x.pth"
    torch.save(content, src)
    with pytest.raises(BenchmarkError, match=match):
        convert_nb201_pth(src, tmp_path / "t.csv")


def test_nb201_not_a_torch_file(tmp_path: Path) -> None:
    src = tmp_path / "x.pth"
    src.write_text("hello, I am a CSV\n")
    with pytest.raises(BenchmarkError, match="not a readable torch file"):
        convert_nb201_pth(src, tmp_path / "t.csv")


def test_nb201_missing_file_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkError) as info:
        convert_nb201_pth(tmp_path / "NAS-Bench-201-v1_0-e61699.pth", tmp_path / "t.csv")
    message = str(info.value)
    assert "not found" in message
    assert "D-X-Y/NAS-Bench-201" in message
    assert "naswot bench convert nb201" in message


# --------------------------------------------------------------------------------------------
# NATS-Bench topology "simple" archive


def write_pbz2(path: Path, obj: Any, protocol: int = 4) -> None:
    path.write_bytes(bz2.compress(pickle.dumps(obj, protocol=protocol)))


def nats_folder(root: Path) -> Path:
    folder = root / "NATS-tss-v1_0-3ffb9-simple"
    folder.mkdir()
    meta = {
        "meta_archs": list(ARCHS),
        "total_archs": len(ARCHS),
        "arch2infos": None,
        "evaluated_indexes": set(),
    }
    write_pbz2(folder / "meta.pickle.pbz2", meta)
    for i in range(len(ARCHS)):
        hp2info = OrderedDict([("12", arch_results(i, "12")), ("200", arch_results(i, "200"))])
        write_pbz2(folder / f"{i:06d}.pickle.pbz2", hp2info)
    return folder


def test_nats_folder_converts(tmp_path: Path) -> None:
    dst = tmp_path / "nats.csv"
    assert convert_nats_tss(nats_folder(tmp_path), dst, progress=True) == 3
    check_table(dst)


def test_nats_tar_converts(tmp_path: Path) -> None:
    folder = nats_folder(tmp_path)
    tar_path = tmp_path / "NATS-tss-v1_0-3ffb9-simple.tar"
    with tarfile.open(tar_path, "w") as tar:
        tar.add(folder, arcname=folder.name)
    dst = tmp_path / "nats.csv"
    assert convert_nats_tss(tar_path, dst) == 3
    check_table(dst)


def test_nats_protocol3_and_numpy1_scalar_names(tmp_path: Path) -> None:
    # Protocol 3 writes sets and globals differently; numpy 1.x names the scalar numpy.core.
    folder = nats_folder(tmp_path)
    path = folder / "000001.pickle.pbz2"
    data = pickle.dumps(
        OrderedDict([("12", arch_results(1, "12")), ("200", arch_results(1, "200"))]), protocol=3
    )
    assert b"numpy._core.multiarray\nscalar" in data
    data = data.replace(b"numpy._core.multiarray\nscalar", b"numpy.core.multiarray\nscalar")
    path.write_bytes(bz2.compress(data))
    write_pbz2(folder / "meta.pickle.pbz2", {"meta_archs": ARCHS, "x": {1, 2}}, protocol=3)
    dst = tmp_path / "nats.csv"
    assert convert_nats_tss(folder, dst) == 3
    check_table(dst)


@pytest.mark.parametrize("where", ["meta", "arch", "numpy-string"])
def test_hostile_pickle_is_refused_without_running(tmp_path: Path, where: str) -> None:
    folder = nats_folder(tmp_path)
    marker = tmp_path / "marker"
    if where == "meta":
        write_pbz2(folder / "meta.pickle.pbz2", {"meta_archs": ARCHS, "x": Evil(marker)})
    elif where == "numpy-string":  # numpy scalars are allowed for numbers only
        write_pbz2(folder / "meta.pickle.pbz2", {"meta_archs": ARCHS, "x": np.str_("a")})
    else:
        hp2info = OrderedDict([("12", arch_results(1, "12")), ("200", arch_results(1, "200"))])
        hp2info["200"]["all_results"][("cifar10", 777)]["flop"] = Evil(marker)
        write_pbz2(folder / "000001.pickle.pbz2", hp2info)
    dst = tmp_path / "nats.csv"
    dst.write_text("previous\n")
    with pytest.raises(UnsafeFileError, match="not plain data"):
        convert_nats_tss(folder, dst)
    assert not marker.exists()
    assert dst.read_text() == "previous\n"  # the old table is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [folder.name, "nats.csv"]
    )  # no temp file


def test_nats_incomplete_archive(tmp_path: Path) -> None:
    folder = nats_folder(tmp_path)
    (folder / "000002.pickle.pbz2").unlink()
    with pytest.raises(BenchmarkError, match="incomplete"):
        convert_nats_tss(folder, tmp_path / "t.csv")


@pytest.mark.parametrize(
    ("meta", "match"),
    [
        ({"archs": ARCHS}, "no 'meta_archs' key"),
        ({"meta_archs": ["64:64:64:64:64"]}, "not a NAS-Bench-201 topology cell"),
    ],
)
def test_nats_wrong_meta(tmp_path: Path, meta: Any, match: str) -> None:
    folder = nats_folder(tmp_path)
    write_pbz2(folder / "meta.pickle.pbz2", meta)
    with pytest.raises(BenchmarkError, match=match):
        convert_nats_tss(folder, tmp_path / "t.csv")


def test_nats_not_an_archive(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BenchmarkError, match=r"no meta\.pickle\.pbz2"):
        convert_nats_tss(empty, tmp_path / "t.csv")
    text = tmp_path / "x.txt"
    text.write_text("hello")
    with pytest.raises(BenchmarkError, match="neither a folder nor a tar"):
        convert_nats_tss(text, tmp_path / "t.csv")
    corrupt = tmp_path / "c"
    corrupt.mkdir()
    (corrupt / "meta.pickle.pbz2").write_bytes(b"not bz2 at all")
    with pytest.raises(BenchmarkError, match="not a readable bz2-compressed pickle"):
        convert_nats_tss(corrupt, tmp_path / "t.csv")


def test_nats_missing_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkError) as info:
        convert_nats_tss(tmp_path / "NATS-tss-v1_0-3ffb9-simple", tmp_path / "t.csv")
    message = str(info.value)
    assert "not found" in message
    assert "D-X-Y/NATS-Bench" in message
    assert "naswot bench convert nats-tss" in message


# --------------------------------------------------------------------------------------------
# CLI


def test_cli_convert(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dst = tmp_path / "nats.csv"
    code = main(["bench", "convert", "nats-tss", str(nats_folder(tmp_path)), str(dst), "--quiet"])
    assert code == 0
    assert "wrote 3 architectures" in capsys.readouterr().err
    check_table(dst)
    assert set(CONVERTERS) == {"nb201", "nats-tss", "nb101"}
    with pytest.raises(SystemExit):
        main(["bench", "convert", "nb999", "a", "b"])
    assert main(["bench", "convert", "nb201", str(tmp_path / "missing.pth"), str(dst)]) == 1
    assert "naswot bench convert nb201" in capsys.readouterr().err
