"""TFRecord files without TensorFlow: the record framing and its CRC-32C checks.

A TFRecord file is a sequence of records, each (TensorFlow's "TFRecords Format Details",
``tf.python_io`` documentation; integers little-endian)::

    uint64 length
    uint32 masked_crc32c(the 8 length bytes)
    byte   data[length]
    uint32 masked_crc32c(data)

CRC-32C is the Castagnoli CRC (reflected polynomial 0x82F63B78, initial value and final XOR
0xFFFFFFFF), and ``masked(crc) = ((crc >> 15) | (crc << 17)) + 0xA282EAD8 (mod 2**32)``.

Every CRC is checked. A pure-Python byte loop would take minutes on the 2 GB NAS-Bench-101 file,
so records are checked in batches: the table-driven CRC advances one byte position at a time over
all records of a batch at once (numpy), longest records first, so that the records still running
are always a prefix of the batch.
"""

from __future__ import annotations

import functools
import mmap
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from naswot.exceptions import BenchmarkError

__all__ = ["crc32c", "iter_records", "masked_crc32c"]

_POLYNOMIAL: Final = 0x82F63B78  # CRC-32C (Castagnoli), bit-reflected
_MASK_DELTA: Final = 0xA282EAD8
_HEADER: Final = 12  # uint64 length + uint32 masked CRC of the length
_FOOTER: Final = 4  # uint32 masked CRC of the data
_BATCH_RECORDS: Final = 32_768
_BATCH_BYTES: Final = 16 << 20
# Below this many records still running, the rest of a batch is finished byte by byte in Python.
_SCALAR_TAIL: Final = 4

_U32 = npt.NDArray[np.uint32]
_I64 = npt.NDArray[np.int64]


@functools.cache
def _table() -> tuple[int, ...]:
    """The 256-entry lookup table of the reflected CRC-32C: one byte's effect on the register."""
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLYNOMIAL if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


@functools.cache
def _np_table() -> _U32:
    return np.array(_table(), dtype=np.uint32)


def _update(crc: int, data: bytes | memoryview) -> int:
    """Advances the (pre-inverted) CRC register ``crc`` over ``data``."""
    table = _table()
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc


def crc32c(data: bytes | bytearray | memoryview) -> int:
    """The CRC-32C (Castagnoli) of ``data``, e.g. ``crc32c(b"123456789") == 0xE3069283``."""
    return _update(0xFFFFFFFF, memoryview(data).cast("B")) ^ 0xFFFFFFFF


def masked_crc32c(data: bytes | bytearray | memoryview) -> int:
    """The masked CRC-32C that TFRecord files store: ``((c >> 15) | (c << 17)) + 0xA282EAD8``."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def _masked_crc32c_many(buf: npt.NDArray[np.uint8], starts: _I64, lengths: _I64) -> _U32:
    """``masked_crc32c(buf[starts[k] : starts[k] + lengths[k]])`` for every k, vectorised."""
    n = len(starts)
    order = np.argsort(-lengths, kind="stable")
    starts, lengths = starts[order], lengths[order]
    # running[i]: how many records are longer than i bytes (a prefix, lengths being descending).
    max_len = int(lengths[0]) if n else 0
    running = np.searchsorted(-lengths, -np.arange(max_len), side="left")
    table = _np_table()
    crc = np.full(n, 0xFFFFFFFF, dtype=np.uint32)
    for i in range(max_len):
        k = int(running[i])
        if k <= _SCALAR_TAIL:
            raw = buf.data
            for j in range(k):
                start, stop = int(starts[j]) + i, int(starts[j] + lengths[j])
                crc[j] = _update(int(crc[j]), raw[start:stop])
            break
        head = crc[:k]
        crc[:k] = table[(head ^ buf[starts[:k] + i]) & 0xFF] ^ (head >> 8)
    crc ^= np.uint32(0xFFFFFFFF)
    masked = ((crc >> 15) | (crc << 17)) + np.uint32(_MASK_DELTA)
    out = np.empty(n, dtype=np.uint32)
    out[order] = masked
    return out


def _stored_u32(buf: npt.NDArray[np.uint8], at: _I64) -> _U32:
    """The little-endian uint32 at each offset of ``at``."""
    value = np.zeros(len(at), dtype=np.uint32)
    for b in range(4):
        value |= buf[at + b].astype(np.uint32) << (8 * b)
    return value


class _Batch:
    """Where the records of one batch lie in the file (offsets of their data)."""

    def __init__(self, first: int) -> None:
        self.first = first  # number of the batch's first record, counting from 1
        self.starts: list[int] = []
        self.lengths: list[int] = []
        self.end = 0  # the offset just past the batch
        self.problem: BenchmarkError | None = None  # a truncation found after the batch


def _frame(mm: mmap.mmap, pos: int, size: int, first: int, path: Path) -> _Batch:
    """Reads the (not yet verified) record lengths of the next batch, starting at ``pos``."""
    batch = _Batch(first)
    n_bytes = 0
    while pos < size and len(batch.starts) < _BATCH_RECORDS and n_bytes < _BATCH_BYTES:
        number = first + len(batch.starts)
        if size - pos < _HEADER:
            batch.problem = BenchmarkError(
                f"{path} is truncated: record {number} (at byte {pos}) has {size - pos} of the "
                f"{_HEADER} header bytes. Download the file again."
            )
            break
        (length,) = struct.unpack_from("<Q", mm, pos)
        if pos + _HEADER + length + _FOOTER > size:
            (stored,) = struct.unpack_from("<I", mm, pos + 8)
            if masked_crc32c(mm[pos : pos + 8]) != stored:
                batch.problem = _corrupt(path, number, pos, "length field")
            else:
                batch.problem = BenchmarkError(
                    f"{path} is truncated: record {number} (at byte {pos}) announces {length} "
                    f"bytes of data and a {_FOOTER}-byte CRC, but only {size - pos - _HEADER} "
                    "bytes follow its header. Download the file again."
                )
            break
        batch.starts.append(pos + _HEADER)
        batch.lengths.append(length)
        n_bytes += length
        pos += _HEADER + length + _FOOTER
    batch.end = pos
    return batch


def _corrupt(path: Path, number: int, offset: int, part: str) -> BenchmarkError:
    return BenchmarkError(
        f"{path} is corrupt: the CRC-32C of record {number}'s {part} (record at byte {offset}) "
        "does not match. Download the file again and compare its checksum with the published one."
    )


def _verify(mm: mmap.mmap, batch: _Batch, path: Path) -> tuple[bytes, BenchmarkError | None]:
    """Checks the length and data CRCs of ``batch``.

    Returns:
        The bytes of the batch (from the first record's header to the end) and the error of the
        first record whose CRC does not match, if any.
    """
    if not batch.starts:
        return b"", None
    n = len(batch.starts)
    lengths = np.array(batch.lengths, dtype=np.int64)
    # Length fields first, from copies of the headers: a corrupt length must not drive the data
    # pass (or the size of the copy below).
    headers = np.frombuffer(b"".join(mm[s - _HEADER : s] for s in batch.starts), dtype=np.uint8)
    at = np.arange(n, dtype=np.int64) * _HEADER
    header_ok = _masked_crc32c_many(headers, at, np.full(n, 8, dtype=np.int64)) == _stored_u32(
        headers, at + 8
    )
    if not header_ok.all():
        k = int(np.flatnonzero(~header_ok)[0])
        return b"", _corrupt(path, batch.first + k, batch.starts[k] - _HEADER, "length field")
    offset = batch.starts[0] - _HEADER
    raw = mm[offset : batch.end]
    buf = np.frombuffer(raw, dtype=np.uint8)
    starts = np.array(batch.starts, dtype=np.int64) - offset
    data_ok = _masked_crc32c_many(buf, starts, lengths) == _stored_u32(buf, starts + lengths)
    if not data_ok.all():
        k = int(np.flatnonzero(~data_ok)[0])
        return raw, _corrupt(path, batch.first + k, batch.starts[k] - _HEADER, "data")
    return raw, None


def iter_records(path: Path, *, on_bytes: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """The records of the TFRecord file ``path``, in order, each checked against its CRCs.

    Args:
        path: an uncompressed TFRecord file.
        on_bytes: called with the number of bytes read so far after each batch (progress).

    Raises:
        BenchmarkError: naming the file and the record (counted from 1) if a CRC does not match
            or the file ends inside a record. No record of the batch holding the bad one (up to
            32,768 records) is yielded before the error.
    """
    size = path.stat().st_size
    if size == 0:
        return
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        pos, first = 0, 1
        while pos < size:
            batch = _frame(mm, pos, size, first, path)
            raw, error = _verify(mm, batch, path)
            if error is not None:
                raise error
            offset = batch.starts[0] - _HEADER if batch.starts else pos
            for start, length in zip(batch.starts, batch.lengths, strict=True):
                yield raw[start - offset : start - offset + length]
            if batch.problem is not None:
                raise batch.problem
            pos, first = batch.end, first + len(batch.starts)
            if on_bytes is not None:
                on_bytes(pos)
