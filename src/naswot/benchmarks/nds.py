"""Reader and converter for the NDS benchmark json files (Radosavovic et al., ICCV 2019).

The NDS data (``data.zip`` from the ``facebookresearch/nds`` README,
https://dl.fbaipublicfiles.com/nds/data.zip) holds one json file per design space and dataset:
``DARTS.json``, ``DARTS_in.json`` (ImageNet), ``ResNeXt-A.json``, ... Each is a list of
trained-model records, or a dict whose ``top`` and ``mid`` lists are read one after the other
(as the NASWOT code does). A record's ``net`` describes the network:

* cell spaces: ``net.genotype`` (``normal``/``reduce`` lists of ``[op, input]``,
  ``normal_concat``/``reduce_concat``), ``net.width``, ``net.depth`` (and ``aux``,
  ``drop_prob``, which the key leaves out);
* residual spaces: ``net.block_type`` (``res_basic_block``, ``res_bottleneck_block``,
  ``double_plain_block``), per-stage lists ``ds`` (depths), ``ws`` (widths), ``ss`` (strides),
  ``bot_muls`` (bottleneck multipliers, inner width = ``w * bot_mul``) and ``num_gs`` (groups).

``test_ep_top1`` lists the test top-1 *error* (%) after each epoch; the final test accuracy is
``100 - test_ep_top1[-1]``, the number the NASWOT paper correlates with. Files are read with
:func:`json.load` only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from naswot.benchmarks._csv import write_csv
from naswot.exceptions import BenchmarkError, InvalidParameterError
from naswot.spaces.nds import Genotype, NdsCellArch, format_arch
from naswot.spaces.nds_anynet import AnyNetArch, Block, Stage, default_stride, format_anynet

__all__ = ["NdsRow", "accuracy_column", "convert_nds", "read_nds"]

_HOWTO = (
    "Download data.zip from https://dl.fbaipublicfiles.com/nds/data.zip (see the "
    "facebookresearch/nds README) and pass one of its json files, e.g. DARTS.json."
)
_BLOCKS: dict[str, Block] = {
    "res_basic_block": "basic",
    "res_bottleneck_block": "bottleneck",
    "double_plain_block": "plain",
    "vanilla_block": "plain",
}


@dataclass(frozen=True, slots=True)
class NdsRow:
    """One trained model of an NDS file.

    Attributes:
        index: its position in the file (``top`` records first, then ``mid``).
        arch_str: the key of its architecture in the matching naswot space
            (``Genotype(...)@w<width>d<depth>`` or ``basic:...``/``bottleneck:...``).
        test_acc: the final test accuracy in %, ``100 - test_ep_top1[-1]``.
    """

    index: int
    arch_str: str
    test_acc: float


def accuracy_column(src: Path | str) -> str:
    """The accuracy column of ``src``: ``test_acc_imagenet`` for ``*_in.json``, else CIFAR-10's."""
    return "test_acc_imagenet" if Path(src).stem.endswith("_in") else "test_acc_cifar10"


def read_nds(src: Path | str) -> list[NdsRow]:
    """Reads an NDS json file into one row per record, in file order.

    Args:
        src: an NDS json file, e.g. ``nds_data/DARTS.json``.

    Returns:
        One :class:`NdsRow` per record (duplicated architectures included).

    Raises:
        BenchmarkError: if the file is missing, is not json, or a record lacks the fields
            above or describes an invalid network (the message gives the record's index).
    """
    path = Path(src)
    if not path.is_file():
        raise BenchmarkError(f"NDS file {path} not found. {_HOWTO}")
    try:
        with path.open(encoding="utf-8") as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BenchmarkError(f"{path} is not a json file: {e}.") from None
    if isinstance(data, Mapping) and "top" in data and "mid" in data:
        data = [*data["top"], *data["mid"]]
    if not isinstance(data, list):
        raise BenchmarkError(
            f"{path} is not an NDS file: expected a list of records (or a dict with 'top' and "
            f"'mid' lists), found a {type(data).__name__}."
        )
    return [_row(i, record, path) for i, record in enumerate(data)]


def _row(index: int, record: object, path: Path) -> NdsRow:
    where = f"{path}: record {index}"
    if not isinstance(record, Mapping):
        raise BenchmarkError(f"{where} is a {type(record).__name__}, not a dict.")
    net, errors = record.get("net"), record.get("test_ep_top1")
    if not isinstance(net, Mapping):
        raise BenchmarkError(f"{where} has no 'net' dict describing the network.")
    if not isinstance(errors, list) or not errors or not _is_number(errors[-1]):
        raise BenchmarkError(f"{where} has no 'test_ep_top1' list of per-epoch test errors.")
    try:
        key = _cell_key(net) if "genotype" in net else _anynet_key(net)
    except (InvalidParameterError, KeyError, TypeError, ValueError) as e:
        detail = f"missing field {e}" if isinstance(e, KeyError) else str(e)
        raise BenchmarkError(f"{where}: invalid 'net': {detail}") from None
    return NdsRow(index=index, arch_str=key, test_acc=100.0 - float(errors[-1]))


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ValueError(f"{name} is {value!r}, not an integer")
    return int(value)


def _cell_key(net: Mapping[str, Any]) -> str:
    g = net["genotype"]

    def pairs(name: str) -> tuple[tuple[str, int], ...]:
        return tuple((str(op), _int(inp, f"an input of {name}")) for op, inp in g[name])

    def concat(name: str) -> tuple[int, ...]:
        # The concatenation order only permutes channels; the key keeps them sorted.
        return tuple(sorted(_int(v, name) for v in g[name]))

    genotype = Genotype(
        pairs("normal"), concat("normal_concat"), pairs("reduce"), concat("reduce_concat")
    )
    return format_arch(
        NdsCellArch(genotype, _int(net["width"], "width"), _int(net["depth"], "depth"))
    )


def _anynet_key(net: Mapping[str, Any]) -> str:
    block_type = net["block_type"]
    if block_type not in _BLOCKS:
        raise ValueError(f"block_type {block_type!r} is not one of {sorted(_BLOCKS)}")
    block = _BLOCKS[block_type]
    depths = [_int(d, "ds") for d in net["ds"]]
    n = len(depths)

    def per_stage(name: str, default: float) -> list[Any]:
        values = net.get(name)
        if values is None or (isinstance(values, list) and not values):
            return [default] * n
        if not isinstance(values, list) or len(values) != n:
            raise ValueError(f"'{name}' must be a list of {n} values (one per stage)")
        return values

    widths = [_int(w, "ws") for w in net["ws"]]
    if len(widths) != n:
        raise ValueError(f"'ws' must be a list of {n} widths (one per stage, as 'ds')")
    strides = [_int(s, "ss") for s in per_stage("ss", 0)]
    if strides and strides[0] == 8:
        strides[0] = 1  # as the official NASWOT code reads these files
    muls = per_stage("bot_muls" if "bot_muls" in net else "bms", 1.0)
    groups = [_int(g, "num_gs") for g in per_stage("num_gs", 1)]
    stages = []
    for i in range(n):
        stride = strides[i] or default_stride(i)
        ratio, g = (_ratio(muls[i]), groups[i]) if block == "bottleneck" else (1, 1)
        stages.append(Stage(depths[i], widths[i], ratio, g, stride))
    return format_anynet(AnyNetArch(block, tuple(stages)))


def _ratio(bot_mul: object) -> int:
    """The bottleneck ratio ``b = 1 / bot_mul``; 0 is read as 1, as the NASWOT code does."""
    if isinstance(bot_mul, bool) or not isinstance(bot_mul, int | float) or bot_mul < 0:
        raise ValueError(f"bot_mul {bot_mul!r} is not a number in (0, 1]")
    mul = float(bot_mul) or 1.0
    ratio = round(1.0 / mul)
    if ratio < 1 or abs(1.0 / mul - ratio) > 1e-6:
        raise ValueError(f"bot_mul {bot_mul!r} is not 1 / an integer")
    return ratio


def convert_nds(
    src: Path | str,
    dst: Path | str,
    *,
    column: str | None = None,
    duplicates: Literal["mean", "first", "error"] = "mean",
) -> int:
    """Converts an NDS json file to our benchmark CSV (``index``, ``arch_str``, accuracy).

    Args:
        src: the NDS json file, e.g. ``DARTS.json``.
        dst: the CSV to write (replaced atomically; its folder is created).
        column: the accuracy column; None picks :func:`accuracy_column` of ``src``.
        duplicates: what to do when several records have the same key: average their
            accuracies (``mean``, keeping the first index), keep the ``first``, or ``error``.

    Returns:
        The number of rows written (distinct keys).

    Raises:
        BenchmarkError: as :func:`read_nds`, or on a duplicate key with ``duplicates="error"``.
        InvalidParameterError: if ``duplicates`` is not one of the three choices.

    Example:
        >>> convert_nds("nds_data/DARTS.json", "nds-darts.csv")  # doctest: +SKIP
        5000
    """
    if duplicates not in ("mean", "first", "error"):
        raise InvalidParameterError(
            "The 'duplicates' parameter of convert_nds must be one of 'mean', 'first', 'error'. "
            f"Got {duplicates!r} instead."
        )
    src, dst = Path(src), Path(dst)
    column = column or accuracy_column(src)
    groups: dict[str, list[NdsRow]] = {}
    for row in read_nds(src):
        same = groups.setdefault(row.arch_str, [])
        if same and duplicates == "error":
            raise BenchmarkError(
                f"{src}: records {same[0].index} and {row.index} have the same architecture "
                f"{row.arch_str}."
            )
        same.append(row)
    if not groups:
        raise BenchmarkError(f"{src} holds no records; {dst} was not written.")
    table = []
    for key, rows in groups.items():
        accs = [r.test_acc for r in (rows[:1] if duplicates == "first" else rows)]
        finite = [a for a in accs if math.isfinite(a)]
        value = sum(finite) / len(finite) if finite else math.nan
        table.append({"index": str(rows[0].index), "arch_str": key, column: _cell(value)})
    write_csv(table, ("index", "arch_str", column), dst)
    return len(table)


def _cell(value: float) -> str:
    return repr(value) if math.isfinite(value) else ""
