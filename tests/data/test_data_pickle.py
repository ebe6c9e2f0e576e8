from __future__ import annotations

import os
import pickle
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from naswot.data import safe_load_pickle
from naswot.exceptions import DataError, UnsafeFileError


class _TouchMarker:
    """Unpickling this runs ``os.system("touch <marker>")`` under a plain ``pickle.load``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, ...]:
        return (os.system, (f"touch {self.marker}",))


class _OpenMarker:
    """Unpickling this creates the marker file with the builtin ``open``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, ...]:
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_reduce_payload_is_refused_and_never_runs(tmp_path: Path, protocol: int) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "data_batch_1"
    # A hostile file that looks like a CIFAR batch but carries a payload.
    # (The payload comes first: with protocol 5 numpy arrays use a global that is refused too.)
    payload = {"x": _TouchMarker(marker), "data": np.zeros((1, 3072), np.uint8), "labels": [0]}
    path.write_bytes(pickle.dumps(payload, protocol=protocol))
    # Sanity check that the payload is live: a plain pickle.load would run it.
    assert b"system" in path.read_bytes()
    with pytest.raises(UnsafeFileError) as info:
        safe_load_pickle(path)
    message = str(info.value)
    assert str(path) in message
    assert "system'" in message  # 'posix.system' on Linux, 'nt.system' on Windows
    assert "never contains" in message
    assert not marker.exists()


def test_builtin_open_payload_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "created"
    path = tmp_path / "batch"
    path.write_bytes(pickle.dumps([_OpenMarker(marker)], protocol=2))
    with pytest.raises(UnsafeFileError, match=r"\.open'"):
        safe_load_pickle(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("module", "name"),
    [("numpy", "load"), ("numpy.core.multiarray", "frombuffer"), ("builtins", "eval")],
)
def test_other_globals_are_refused(tmp_path: Path, module: str, name: str) -> None:
    path = tmp_path / "f"
    path.write_bytes(f"c{module}\n{name}\n.".encode())  # protocol 0 GLOBAL opcode
    with pytest.raises(UnsafeFileError, match=rf"'{module}\.{name}'"):
        safe_load_pickle(path)


@pytest.mark.parametrize("protocol", [2, 3, 4])
def test_numpy_arrays_and_scalars_load(tmp_path: Path, protocol: int) -> None:
    obj = {
        "data": np.arange(12, dtype=np.uint8).reshape(2, 6),
        "mean": np.linspace(0, 1, 5),
        "labels": [1, 2],
        "scalar": np.int64(7),
        "name": "batch",
        "raw": b"\x00\xff",
    }
    path = tmp_path / "ok"
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    loaded = safe_load_pickle(path)
    assert isinstance(loaded, dict)
    np.testing.assert_array_equal(loaded["data"], obj["data"])
    np.testing.assert_array_equal(loaded["mean"], obj["mean"])
    assert loaded["scalar"] == 7
    assert loaded["labels"] == [1, 2]
    # protocol 2 stores bytes via _codecs.encode + latin1, which round-trips.
    assert loaded["raw"] == b"\x00\xff"


def test_python2_style_global_loads_without_deprecation_warning(tmp_path: Path) -> None:
    # Files written with numpy 1 (and the real CIFAR files) name numpy.core.multiarray.
    data = np.arange(6, dtype=np.uint8)
    raw = pickle.dumps(data, protocol=2).replace(
        b"numpy._core.multiarray", b"numpy.core.multiarray"
    )
    assert b"numpy.core.multiarray" in raw
    path = tmp_path / "old"
    path.write_bytes(raw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = safe_load_pickle(path)
    np.testing.assert_array_equal(loaded, data)


def test_truncated_pickle_is_a_data_error(tmp_path: Path, pickle_file: Callable[..., Path]) -> None:
    path = pickle_file(tmp_path / "data_batch_1", {"data": np.zeros((4, 3072), np.uint8)})
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DataError, match="data_batch_1"):
        safe_load_pickle(path)


@pytest.mark.parametrize("content", [b"", b"not a pickle at all", b"\x80\x02}q\x00(X"])
def test_garbage_is_a_data_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "garbage"
    path.write_bytes(content)
    with pytest.raises(DataError, match="garbage"):
        safe_load_pickle(path)


def test_missing_file_or_folder_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="nope"):
        safe_load_pickle(tmp_path / "nope")
    with pytest.raises(DataError, match=str(tmp_path)):
        safe_load_pickle(tmp_path)


def test_reads_the_shared_protocol2_files(cifar10_shared: Path, foolbox_shared: Path) -> None:
    batch = safe_load_pickle(cifar10_shared / "cifar-10-batches-py" / "data_batch_1")
    assert isinstance(batch, dict)
    assert batch["data"].shape == (200, 3072)
    val = safe_load_pickle(foolbox_shared / "imagenet16" / "val_data")
    assert isinstance(val, dict)
    assert val["data"].shape == (20, 768)
