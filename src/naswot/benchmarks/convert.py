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
``iepoch=None``) and averaged over all the seeds of ``dataset_seed``; where one seed lacks it,
the cell is empty, as the API's ``get_more_info(..., is_random=False)`` then reports nothing.
``tests/benchmarks/test_official_formats.py`` checks this against the official readers. See
``docs/benchmarks.md``.

The NAS-Bench-101 TFRecord converter lives in :mod:`naswot.benchmarks.nb101`; it is registered
in :data:`CONVERTERS` as ``nb101``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final

from tqdm import tqdm

from naswot.benchmarks._nats import _NATS_EXT, _NATS_HOWTO, _NATS_META, _open_nats_archive
from naswot.benchmarks._nb201_pth import (
    _NB201_HOWTO,
    _NB201_HPS,
    _NB201_KEYS,
    _sorted_indexes,
    _torch_load_plain,
)
from naswot.benchmarks._results import COLUMNS, _describe, _meta_archs, _row, _write_csv
from naswot.benchmarks.nb101 import convert_nb101_tfrecord
from naswot.exceptions import BenchmarkError

__all__ = ["COLUMNS", "CONVERTERS", "convert_nats_tss", "convert_nb201_pth"]


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
