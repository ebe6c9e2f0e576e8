"""Just enough of the protobuf wire format to read a message without the protobuf package.

A message is a sequence of fields, each a varint key ``field_number << 3 | wire_type`` and a value
(protobuf.dev, "Encoding"): wire type 0 a varint (little-endian base-128, at most 10 bytes, high
bit = more bytes follow), 1 eight bytes (``double``, ``fixed64``), 2 a varint length and that many
bytes (strings, bytes, sub-messages, packed repeated fields), 5 four bytes (``float``,
``fixed32``). The deprecated group wire types 3 and 4 are refused.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Final

__all__ = [
    "I32",
    "I64",
    "LEN",
    "VARINT",
    "WireFormatError",
    "as_double",
    "as_int",
    "decode_varint",
    "iter_fields",
]

VARINT: Final = 0
I64: Final = 1
LEN: Final = 2
I32: Final = 5
_MAX_VARINT_BYTES: Final = 10
_U64: Final = (1 << 64) - 1


class WireFormatError(ValueError):
    """The bytes are not a well-formed protobuf message (the callers add where they came from)."""


def decode_varint(data: bytes, pos: int = 0) -> tuple[int, int]:
    """The unsigned varint at ``data[pos:]`` (low 64 bits) and the position just after it.

    Raises:
        WireFormatError: if the data ends inside the varint or it is longer than 10 bytes.
    """
    value = 0
    for k in range(_MAX_VARINT_BYTES):
        if pos + k >= len(data):
            raise WireFormatError(f"the data ends inside a varint (at byte {pos})")
        byte = data[pos + k]
        value |= (byte & 0x7F) << (7 * k)
        if not byte & 0x80:
            return value & _U64, pos + k + 1
    raise WireFormatError(f"a varint at byte {pos} is longer than {_MAX_VARINT_BYTES} bytes")


def _take(data: bytes, pos: int, n: int, what: str) -> bytes:
    if pos + n > len(data):
        raise WireFormatError(
            f"the data ends inside a {what} (at byte {pos}: {n} bytes needed, "
            f"{len(data) - pos} left)"
        )
    return data[pos : pos + n]


def iter_fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """The ``(field_number, wire_type, value)`` of each field of the message ``data``, in order.

    The value is an ``int`` for a varint and the raw ``bytes`` otherwise (8 or 4 bytes, or the
    length-delimited payload). Unknown fields are the caller's to skip.

    Raises:
        WireFormatError: on a truncated field, a field number 0, or a group or unknown wire type.
    """
    pos = 0
    while pos < len(data):
        key, pos = decode_varint(data, pos)
        field, wire = key >> 3, key & 7
        if field == 0:
            raise WireFormatError(f"field number 0 (key {key}) before byte {pos}")
        value: int | bytes
        if wire == VARINT:
            value, pos = decode_varint(data, pos)
        elif wire == I64:
            value = _take(data, pos, 8, "64-bit field")
            pos += 8
        elif wire == I32:
            value = _take(data, pos, 4, "32-bit field")
            pos += 4
        elif wire == LEN:
            n, pos = decode_varint(data, pos)
            value = _take(data, pos, n, "length-delimited field")
            pos += n
        else:
            raise WireFormatError(f"field {field} has wire type {wire}, which is not supported")
        yield field, wire, value


def as_double(value: int | bytes, field: str) -> float:
    """A ``double`` field's value (wire type 1).

    Raises:
        WireFormatError: if the field was not written with wire type 1.
    """
    if not isinstance(value, bytes) or len(value) != 8:
        raise WireFormatError(f"{field} should be a double (wire type 1)")
    (number,) = struct.unpack("<d", value)
    return float(number)


def as_int(value: int | bytes, field: str) -> int:
    """An ``int32``/``int64`` field's value (wire type 0, two's complement on 64 bits).

    Raises:
        WireFormatError: if the field was not written as a varint.
    """
    if not isinstance(value, int):
        raise WireFormatError(f"{field} should be a varint (wire type 0)")
    return value - (1 << 64) if value >> 63 else value
