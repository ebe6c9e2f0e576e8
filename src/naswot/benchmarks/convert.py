"""Converters from the official NAS-Bench-201 / NATS-Bench files to our benchmark CSV.

Two official formats are read, written from their published descriptions (the
``D-X-Y/NAS-Bench-201`` and ``D-X-Y/NATS-Bench`` API sources):

* NAS-Bench-201 ``.pth`` files (``NAS-Bench-201-v1_0-e61699.pth``,
  ``NAS-Bench-201-v1_1-096897.pth``): a ``torch.save``-d dict with ``meta_archs`` (the
  architecture strings, list position = official index), ``arch2infos`` (index ->
  ``{"less": ..., "full": ...}``, the 12- and 200-epoch results) and ``evaluated_indexes``.
  They are loaded with ``torch.load(..., weights_only=True)``; numpy number scalars are the
  only objects allowed beyond torch's own plain-data list.
* The NATS-Bench topology "simple" archive (``NATS-tss-v1_0-3ffb9-simple/``, or the
  ``.tar`` it comes in): ``meta.pickle.pbz2`` (``meta_archs``) and one
  ``{index:06d}.pickle.pbz2`` per architecture holding ``{"12": ..., "200": ...}``.
  These bz2-compressed pickles are read with a restricted unpickler that builds only plain
  data (dict, list, tuple, set, str, numbers, ``collections.OrderedDict``, numpy numbers);
  anything else raises :class:`~naswot.exceptions.UnsafeFileError` before it is built.

In both, each results entry is an ``ArchResults`` state dict: ``dataset_seed`` (dataset ->
seeds) and ``all_results`` (``(dataset, seed)`` -> a ``ResultsCount`` state dict with
``epochs``, ``eval_acc1es`` keyed ``"<set>@<epoch>"`` and ``train_times`` keyed by epoch).
A value is read at the trial's last epoch (``epochs - 1``, what the official API returns for
``iepoch=None``) and averaged over the seeds that have it. See ``docs/benchmarks.md``.

The NAS-Bench-101 TFRecord converter lives in :mod:`naswot.benchmarks.nb101`; it is registered
in :data:`CONVERTERS` as ``nb101``.
"""

from __future__ import annotations

import bz2
import contextlib
import importlib
import math
import pickle
import posixpath
import struct
import tarfile
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

import numpy as np
import torch
from tqdm import tqdm

from naswot.benchmarks._csv import write_csv
from naswot.benchmarks.nb101 import convert_nb101_tfrecord
from naswot.exceptions import ArchParseError, BenchmarkError, UnsafeFileError
from naswot.spaces import NasBench201Space

__all__ = ["COLUMNS", "CONVERTERS", "convert_nats_tss", "convert_nb201_pth"]


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
# NAS-Bench-201 .pth names the schedules "less" and "full".
_NB201_HPS: Final[dict[str, str]] = {"less": "12", "full": "200"}
_NB201_KEYS: Final = ("meta_archs", "arch2infos", "evaluated_indexes")
_NATS_EXT: Final = ".pickle.pbz2"
_NATS_META: Final = "meta" + _NATS_EXT

_NB201_HOWTO: Final = (
    "Download NAS-Bench-201-v1_0-e61699.pth or NAS-Bench-201-v1_1-096897.pth from the "
    "links in the NAS-Bench-201 README (https://github.com/D-X-Y/NAS-Bench-201), then run "
    "`naswot bench convert nb201 NAS-Bench-201-v1_1-096897.pth nb201.csv`."
)
_NATS_HOWTO: Final = (
    "Download NATS-tss-v1_0-3ffb9-simple.tar from the links in the NATS-Bench README "
    "(https://github.com/D-X-Y/NATS-Bench), unpack it with `tar xf` (or pass the .tar), then "
    "run `naswot bench convert nats-tss NATS-tss-v1_0-3ffb9-simple nats-tss.csv`."
)

# Errors that malformed (not hostile) pickled or compressed data can raise while loading.
_LOAD_ERRORS: Final = (
    pickle.UnpicklingError,
    EOFError,
    OSError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    RuntimeError,
    struct.error,
    zipfile.BadZipFile,
    tarfile.TarError,
)


# --------------------------------------------------------------------------------------------
# Public API


def convert_nb201_pth(src: Path, dst: Path, *, progress: bool = False) -> int:
    """Converts a NAS-Bench-201 ``.pth`` benchmark file (v1_0 or v1_1) to our CSV.

    Args:
        src: the official file, e.g. ``NAS-Bench-201-v1_1-096897.pth``.
        dst: the CSV to write (replaced atomically; its folder is created).
        progress: show a progress bar on stderr.

    Returns:
        The number of architecture rows written.

    Raises:
        BenchmarkError: if ``src`` is missing, is not a torch file, or does not hold the
            NAS-Bench-201 layout.
        UnsafeFileError: if ``src`` holds objects other than plain data (weights-only
            loading refused it); nothing in it was run.
    """
    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise BenchmarkError(f"NAS-Bench-201 file {src} not found. {_NB201_HOWTO}")
    data = _torch_load_plain(src)
    if not isinstance(data, Mapping):
        raise BenchmarkError(
            f"{src} is not a NAS-Bench-201 benchmark file: it holds a {type(data).__name__}, "
            f"not a dict with keys {list(_NB201_KEYS)}."
        )
    missing = [k for k in _NB201_KEYS if k not in data]
    if missing:
        found = sorted(str(k) for k in data)[:10]
        raise BenchmarkError(
            f"{src} is not a NAS-Bench-201 benchmark file: it lacks the keys {missing} "
            f"(found {found}). {_NB201_HOWTO}"
        )
    meta_archs = _meta_archs(data["meta_archs"], src)
    arch2infos = data["arch2infos"]
    if not isinstance(arch2infos, Mapping):
        raise BenchmarkError(f"{src}: 'arch2infos' is a {type(arch2infos).__name__}, not a dict.")
    indexes = _sorted_indexes(arch2infos, len(meta_archs), src)

    rows: list[dict[str, str]] = []
    seen: dict[str, int] = {}
    for index in tqdm(indexes, disable=not progress, desc="nb201", unit="arch"):
        infos = arch2infos[index]
        where = f"{src}: architecture {index}"
        if not isinstance(infos, Mapping) or not any(k in infos for k in _NB201_HPS):
            raise BenchmarkError(
                f"{where}: expected a dict with 'less' and 'full' results, "
                f"found {_describe(infos)}."
            )
        hp2results = {hp: infos[name] for name, hp in _NB201_HPS.items() if name in infos}
        rows.append(_row(index, meta_archs[index], hp2results, where, seen))
    _write_csv(rows, dst, src)
    return len(rows)


def convert_nats_tss(src: Path, dst: Path, *, progress: bool = False) -> int:
    """Converts the NATS-Bench topology "simple" archive to our CSV.

    Args:
        src: the unpacked folder ``NATS-tss-v1_0-3ffb9-simple`` (holding ``meta.pickle.pbz2``
            and ``000000.pickle.pbz2`` ...), or the ``NATS-tss-v1_0-3ffb9-simple.tar`` itself.
        dst: the CSV to write (replaced atomically; its folder is created).
        progress: show a progress bar on stderr.

    Returns:
        The number of architecture rows written.

    Raises:
        BenchmarkError: if ``src`` is missing, incomplete, or not a NATS-Bench topology
            archive.
        UnsafeFileError: if a pickle in it asks for anything but plain data; nothing in it was
            run.
    """
    src, dst = Path(src), Path(dst)
    if not src.exists():
        raise BenchmarkError(f"NATS-Bench topology archive {src} not found. {_NATS_HOWTO}")
    with _open_nats_archive(src) as read:
        meta = read(_NATS_META)
        if meta is None:
            raise BenchmarkError(
                f"{src} is not a NATS-Bench 'simple' archive: it has no {_NATS_META}. {_NATS_HOWTO}"
            )
        if not isinstance(meta, Mapping) or "meta_archs" not in meta:
            raise BenchmarkError(
                f"{src}: {_NATS_META} is not the NATS-Bench meta file (no 'meta_archs' key; "
                f"found {_describe(meta)})."
            )
        meta_archs = _meta_archs(meta["meta_archs"], src)
        rows: list[dict[str, str]] = []
        seen: dict[str, int] = {}
        for index in tqdm(
            range(len(meta_archs)), disable=not progress, desc="nats-tss", unit="arch"
        ):
            where = f"{src}: architecture {index}"
            hp2results = read(f"{index:06d}{_NATS_EXT}")
            if hp2results is None:
                hp2results = read(f"{index:d}{_NATS_EXT}")
            if hp2results is None:
                raise BenchmarkError(
                    f"{src} is incomplete: it has no {index:06d}{_NATS_EXT} for architecture "
                    f"{index} of {len(meta_archs)}. Unpack the whole archive again."
                )
            if not isinstance(hp2results, Mapping):
                raise BenchmarkError(
                    f"{where}: expected a dict of results per schedule ('12', '200'), "
                    f"found {_describe(hp2results)}."
                )
            hps = {str(k): v for k, v in hp2results.items()}
            rows.append(_row(index, meta_archs[index], hps, where, seen))
    _write_csv(rows, dst, src)
    return len(rows)


CONVERTERS: Final[dict[str, Callable[..., int]]] = {
    "nb201": convert_nb201_pth,
    "nats-tss": convert_nats_tss,
    "nb101": convert_nb101_tfrecord,
}
"""Format name -> converter ``(src, dst, *, progress=False) -> rows written``."""


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


def _trials(arch_results: Any, dataset: str, hp: str, where: str) -> Iterator[Mapping[str, Any]]:
    """The ``ResultsCount`` state dicts of ``dataset``, one per seed in ``dataset_seed``."""
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
        if trial is None:
            continue  # listed but not stored: the trial is absent
        if not isinstance(trial, Mapping):
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
    """``eval_acc1es["<set>@<last epoch>"]`` of each seed that has it."""
    values = []
    for trial in _trials(arch_results, acc.dataset, acc.hp, where):
        accs = trial.get("eval_acc1es")
        if not isinstance(accs, Mapping):
            continue
        value = accs.get(f"{acc.setname}@{_last_epoch(trial, acc.hp, where)}")
        if value is not None:
            values.append(_number(value, f"{where}, {acc.dataset} {acc.setname}"))
    return values


def _train_times(arch_results: Any, where: str) -> list[float]:
    """Seconds to train all epochs, per seed: ``sum(train_times[i] for i <= last epoch)``.

    This is the official API's ``train-all-time`` at the last epoch (per-epoch time x epochs).
    A seed whose ``train_times`` is missing or incomplete is skipped.
    """
    values = []
    hp = _TRAIN_TIME_HP
    for trial in _trials(arch_results, _TRAIN_TIME_DATASET, hp, where):
        times = trial.get("train_times")
        if not isinstance(times, Mapping | Sequence):
            continue
        last = _last_epoch(trial, hp, where)
        try:
            per_epoch = [times[i] for i in range(last + 1)]
        except (KeyError, IndexError):
            continue
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


def _sorted_indexes(arch2infos: Mapping[Any, Any], n_archs: int, src: Path) -> list[int]:
    indexes = []
    for index in arch2infos:
        if isinstance(index, bool) or not isinstance(index, int | np.integer):
            raise BenchmarkError(f"{src}: arch2infos has the key {index!r}, not an integer index.")
        if not 0 <= int(index) < n_archs:
            raise BenchmarkError(
                f"{src}: arch2infos has index {index}, outside meta_archs (0..{n_archs - 1})."
            )
        indexes.append(int(index))
    return sorted(indexes)


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


# --------------------------------------------------------------------------------------------
# Safe loading


class _Refused(UnsafeFileError):
    """What a plain-data loader refused to build; re-raised with the file's name."""


def _numpy_scalar() -> Any:
    """The numpy scalar constructor (``numpy._core`` in numpy 2, ``numpy.core`` before)."""
    try:
        return importlib.import_module("numpy._core.multiarray").scalar
    except ImportError:  # numpy 1.x
        return importlib.import_module("numpy.core.multiarray").scalar


def _plain_numpy_scalar(dtype: Any, *args: Any) -> Any:
    """The numpy scalar constructor, for plain numbers only (bool, int, float, complex dtypes).

    Pickles name the constructor ``numpy._core.multiarray.scalar`` (numpy 2) or
    ``numpy.core.multiarray.scalar`` (numpy 1); both resolve here.
    """
    if (
        not isinstance(dtype, np.dtype)
        or dtype.kind not in "biufc"
        or dtype.hasobject
        or dtype.fields is not None
        or dtype.subdtype is not None
    ):
        raise _Refused(f"a numpy scalar of dtype {dtype!r}")
    return _numpy_scalar()(dtype, *args)


_SCALAR_NAMES: Final = ("numpy._core.multiarray.scalar", "numpy.core.multiarray.scalar")


def _torch_safe_globals() -> list[Any]:
    """What torch's weights-only loader must allow to rebuild numpy scalars (plain numbers).

    The dtype classes are needed because torch rebuilds a dtype with ``__setstate__``.
    """
    allowed: list[Any] = [(_plain_numpy_scalar, name) for name in _SCALAR_NAMES]
    allowed.append(np.dtype)
    dtypes = getattr(np, "dtypes", None)
    if dtypes is not None:
        allowed += [
            getattr(dtypes, name)
            for name in dir(dtypes)
            if name.endswith("DType") and name not in ("ObjectDType", "VoidDType")
        ]
    return allowed


def _torch_load_plain(src: Path) -> Any:
    """``torch.load(src, weights_only=True)``, allowing numpy scalars; nothing else is run."""
    safe_globals = getattr(torch.serialization, "safe_globals", None)
    context: contextlib.AbstractContextManager[Any] = (
        safe_globals(_torch_safe_globals())
        if safe_globals is not None
        else contextlib.nullcontext()
    )
    refused = (
        f"{src} is not a plain-data NAS-Bench-201 file: safe (weights-only) loading refused it "
        "({}). naswot does not load such files, because unpickling them could run code. "
        + _NB201_HOWTO
    )
    try:
        with context:
            return torch.load(src, map_location="cpu", weights_only=True)
    except _Refused as e:
        raise UnsafeFileError(refused.format(e)) from None
    except pickle.UnpicklingError as e:
        detail = _weights_only_detail(str(e))
        if detail is not None:
            raise UnsafeFileError(refused.format(detail)) from None
        raise BenchmarkError(f"{src} is not a readable torch file: {_first_line(e)}") from None
    except _LOAD_ERRORS as e:
        raise BenchmarkError(
            f"{src} is not a readable torch file ({type(e).__name__}: {_first_line(e)}). "
            f"{_NB201_HOWTO}"
        ) from None


def _weights_only_detail(message: str) -> str | None:
    """The reason in torch's weights-only refusal message, or None for other unpickling errors."""
    for line in message.splitlines():
        text = line.strip()
        if "Unsupported global" in text or "Can only build" in text or "Unsupported class" in text:
            text = text.removeprefix("WeightsUnpickler error:").strip()
            # Drop torch's advice on allow-listing the global: naswot will not.
            return text.split(" was not an allowed global", 1)[0].split(". Please", 1)[0]
    return None


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


class _PlainDataUnpickler(pickle.Unpickler):
    """Builds plain data only: any global outside a short allow-list is refused, unbuilt.

    Containers, strings and numbers need no global with the pickle protocols NATS-Bench uses;
    the allowed globals are ``collections.OrderedDict``, ``set``/``frozenset`` (protocols < 4
    write them as globals), ``numpy.dtype`` and numpy's scalar constructor restricted to
    number dtypes (numpy numbers such as ``params``).
    """

    def find_class(self, module: str, name: str) -> Any:
        """Returns an allowed global; raises for every other one."""
        allowed = _PICKLE_ALLOWED.get((module, name))
        if allowed is None:
            raise _Refused(f"{module}.{name}")
        return allowed


_PICKLE_ALLOWED: Final[dict[tuple[str, str], Any]] = {
    ("collections", "OrderedDict"): OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("numpy", "dtype"): np.dtype,
    ("numpy._core.multiarray", "scalar"): _plain_numpy_scalar,
    ("numpy.core.multiarray", "scalar"): _plain_numpy_scalar,
}


def _load_pbz2(file: IO[bytes], name: str) -> Any:
    """Decompresses and unpickles one ``.pickle.pbz2`` with the plain-data unpickler.

    Raises:
        UnsafeFileError: if the pickle asks for anything but plain data.
        BenchmarkError: if it is not a bz2-compressed pickle.
    """
    try:
        with bz2.open(file, "rb") as data:
            return _PlainDataUnpickler(data).load()
    except _Refused as e:
        raise UnsafeFileError(
            f"{name} asks to build {e}, which is not plain data; naswot refuses to load it "
            "(unpickling it could run code)."
        ) from None
    except _LOAD_ERRORS as e:
        raise BenchmarkError(
            f"{name} is not a readable bz2-compressed pickle ({type(e).__name__}: "
            f"{_first_line(e)})."
        ) from None


@contextlib.contextmanager
def _open_nats_archive(src: Path) -> Iterator[Callable[[str], Any | None]]:
    """Yields ``read(file_name)``: the unpickled member of the archive, or None if absent."""
    if src.is_dir():

        def read_dir(name: str) -> Any | None:
            path = src / name
            if not path.is_file():
                return None
            with path.open("rb") as f:
                return _load_pbz2(f, str(path))

        yield read_dir
        return
    if src.name.endswith(_NATS_EXT):
        raise BenchmarkError(
            f"{src} is a single NATS-Bench file; naswot reads the 'simple' archive (a folder "
            f"of per-architecture files). {_NATS_HOWTO}"
        )
    if not tarfile.is_tarfile(src):
        raise BenchmarkError(
            f"{src} is neither a folder nor a tar archive. Pass the NATS-Bench 'simple' "
            f"archive (the unpacked folder or the .tar). {_NATS_HOWTO}"
        )
    try:
        with tarfile.open(src, "r:*") as tar:
            members: dict[str, tarfile.TarInfo] = {}
            for member in tar.getmembers():
                if member.isfile():
                    members[posixpath.normpath(member.name).lstrip("/")] = member
            metas = sorted(n for n in members if posixpath.basename(n) == _NATS_META)
            if len(metas) > 1:
                raise BenchmarkError(f"{src} holds several {_NATS_META}: {metas[:3]}.")
            folder = posixpath.dirname(metas[0]) if metas else ""

            def read_tar(name: str) -> Any | None:
                member = members.get(posixpath.join(folder, name) if folder else name)
                f = None if member is None else tar.extractfile(member)
                if member is None or f is None:
                    return None
                with f:
                    return _load_pbz2(f, f"{src}:{member.name}")

            yield read_tar
    except tarfile.TarError as e:
        raise BenchmarkError(f"{src} is not a readable tar archive: {e}") from None
