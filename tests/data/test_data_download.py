from __future__ import annotations

import functools
import hashlib
import io
import socket
import tarfile
import threading
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from naswot.data import ARCHIVES, download_dataset, load_batch, load_cifar
from naswot.exceptions import (
    DataError,
    InvalidParameterError,
    NaswotError,
    UnknownNameError,
    UnsafeFileError,
)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTP server on 127.0.0.1 serving a fresh folder; yields (base URL, folder)."""
    folder = tmp_path / "www"
    folder.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _tar_folder(source_root: Path, folder: str, out: Path) -> Path:
    with tarfile.open(out, "w:gz") as tar:
        tar.add(source_root / folder, arcname=folder)
    return out


def _tar_members(out: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(out, "w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out


@pytest.fixture
def fake_cifar10_archive(
    tmp_path: Path, served: tuple[str, Path], make_cifar10: Callable[..., Path]
) -> tuple[str, str]:
    """A tiny cifar-10-python.tar.gz served over HTTP; returns (url, md5)."""
    base, www = served
    source = make_cifar10(tmp_path / "source", n_per_batch=3, n_test=4)
    archive = _tar_folder(source, "cifar-10-batches-py", www / "cifar-10-python.tar.gz")
    return f"{base}/cifar-10-python.tar.gz", _md5(archive)


def _leftovers(data_dir: Path) -> list[str]:
    return sorted(p.name for p in data_dir.iterdir()) if data_dir.exists() else []


def test_download_extract_and_load(tmp_path: Path, fake_cifar10_archive: tuple[str, str]) -> None:
    url, md5 = fake_cifar10_archive
    data_dir = tmp_path / "data" / "nested"
    folder = download_dataset("cifar10", data_dir, url=url, md5=md5, progress=False)
    assert folder == data_dir / "cifar-10-batches-py"
    assert _leftovers(data_dir) == ["cifar-10-batches-py"]  # archive and temp folders gone
    images, labels = load_cifar("cifar10", data_dir, split="train")
    assert images.shape == (15, 32, 32, 3)
    assert labels.shape == (15,)
    batch = load_batch("cifar10", data_dir=data_dir, batch_size=4, split="test")
    assert batch.size == 4


def test_progress_bar_goes_to_stderr(
    tmp_path: Path, fake_cifar10_archive: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    url, md5 = fake_cifar10_archive
    download_dataset("cifar10", tmp_path / "d", url=url, md5=md5.upper(), progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "cifar10" in captured.err


def test_existing_folder_skips_the_download(
    tmp_path: Path, fake_cifar10_archive: tuple[str, str]
) -> None:
    url, md5 = fake_cifar10_archive
    data_dir = tmp_path / "data"
    download_dataset("cifar10", data_dir, url=url, md5=md5, progress=False)
    # A URL that would fail proves nothing is fetched the second time.
    again = download_dataset(
        "cifar10", data_dir, url="http://127.0.0.1:9/none", md5=md5, progress=False
    )
    assert again == data_dir / "cifar-10-batches-py"


def test_incomplete_folder_is_completed(
    tmp_path: Path, fake_cifar10_archive: tuple[str, str]
) -> None:
    url, md5 = fake_cifar10_archive
    partial = tmp_path / "data" / "cifar-10-batches-py"
    partial.mkdir(parents=True)
    (partial / "data_batch_1").write_bytes(b"truncated")
    (partial / "notes.txt").write_text("mine")
    download_dataset("cifar10", tmp_path / "data", url=url, md5=md5, progress=False)
    images, _ = load_cifar("cifar10", tmp_path / "data", split="train")
    assert len(images) == 15
    assert (partial / "notes.txt").read_text() == "mine"  # other files are left alone


def test_wrong_md5_fails_and_leaves_nothing(
    tmp_path: Path, fake_cifar10_archive: tuple[str, str]
) -> None:
    url, md5 = fake_cifar10_archive
    data_dir = tmp_path / "data"
    with pytest.raises(DataError) as info:
        download_dataset("cifar10", data_dir, url=url, md5="0" * 32, progress=False)
    message = str(info.value)
    assert md5 in message
    assert "0" * 32 in message
    assert _leftovers(data_dir) == []


def test_default_md5_is_the_official_one(
    tmp_path: Path, fake_cifar10_archive: tuple[str, str]
) -> None:
    url, _ = fake_cifar10_archive
    with pytest.raises(DataError, match=ARCHIVES["cifar10"].md5):
        download_dataset("cifar10", tmp_path / "d", url=url, progress=False)


@pytest.mark.parametrize(
    ("member", "target"),
    [
        ("../evil", "evil"),
        ("cifar-10-batches-py/../../evil", "evil"),
    ],
)
def test_member_outside_is_refused(
    tmp_path: Path, served: tuple[str, Path], member: str, target: str
) -> None:
    base, www = served
    archive = _tar_members(www / "bad.tar.gz", [(tarfile.TarInfo(member), b"pwned")])
    data_dir = tmp_path / "data"
    with pytest.raises(UnsafeFileError, match="refusing to unpack") as info:
        download_dataset(
            "cifar10", data_dir, url=f"{base}/bad.tar.gz", md5=_md5(archive), progress=False
        )
    assert repr(member) in str(info.value)
    assert not (tmp_path / target).exists()
    assert _leftovers(data_dir) == []


def test_absolute_member_and_outside_link_are_refused(
    tmp_path: Path, served: tuple[str, Path]
) -> None:
    base, www = served
    absolute = _tar_members(
        www / "abs.tar.gz", [(tarfile.TarInfo(str(tmp_path / "abs_evil")), b"x")]
    )
    # The data filter strips the leading "/"; the rest is then not inside the dataset folder.
    with pytest.raises(DataError, match="not inside cifar-10-batches-py/"):
        download_dataset(
            "cifar10",
            tmp_path / "d1",
            url=f"{base}/abs.tar.gz",
            md5=_md5(absolute),
            progress=False,
        )
    assert not (tmp_path / "abs_evil").exists()
    link = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    linked = _tar_members(www / "link.tar.gz", [(link, None)])
    with pytest.raises(UnsafeFileError):
        download_dataset(
            "cifar10",
            tmp_path / "d2",
            url=f"{base}/link.tar.gz",
            md5=_md5(linked),
            progress=False,
        )
    assert _leftovers(tmp_path / "d2") == []


def test_member_outside_the_folder_is_refused(tmp_path: Path, served: tuple[str, Path]) -> None:
    base, www = served
    archive = _tar_members(www / "other.tar.gz", [(tarfile.TarInfo("other/file"), b"x")])
    with pytest.raises(DataError, match="not inside cifar-10-batches-py/"):
        download_dataset(
            "cifar10",
            tmp_path / "d",
            url=f"{base}/other.tar.gz",
            md5=_md5(archive),
            progress=False,
        )
    assert _leftovers(tmp_path / "d") == []


def test_not_a_tarball(tmp_path: Path, served: tuple[str, Path]) -> None:
    base, www = served
    (www / "x.tar.gz").write_bytes(b"plain text")
    with pytest.raises(DataError, match=r"not a readable tar\.gz"):
        download_dataset(
            "cifar10",
            tmp_path / "d",
            url=f"{base}/x.tar.gz",
            md5=_md5(www / "x.tar.gz"),
            progress=False,
        )
    assert _leftovers(tmp_path / "d") == []


def test_archive_missing_files(tmp_path: Path, served: tuple[str, Path]) -> None:
    base, www = served
    archive = _tar_members(
        www / "few.tar.gz", [(tarfile.TarInfo("cifar-10-batches-py/test_batch"), b"x")]
    )
    with pytest.raises(DataError, match="data_batch_1"):
        download_dataset(
            "cifar10",
            tmp_path / "d",
            url=f"{base}/few.tar.gz",
            md5=_md5(archive),
            progress=False,
        )


def test_http_404_is_a_naswot_error(tmp_path: Path, served: tuple[str, Path]) -> None:
    base, _ = served
    url = f"{base}/missing.tar.gz"
    with pytest.raises(NaswotError) as info:
        download_dataset("cifar100", tmp_path / "d", url=url, progress=False)
    message = str(info.value)
    assert url in message
    assert "404" in message
    assert "network" in message
    assert _leftovers(tmp_path / "d") == []


def test_connection_refused_is_a_naswot_error(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/cifar-10-python.tar.gz"
    with pytest.raises(NaswotError, match=url):
        download_dataset("cifar10", tmp_path / "d", url=url, progress=False)
    assert _leftovers(tmp_path / "d") == []


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(UnknownNameError, match="Did you mean 'cifar10'"):
        download_dataset("cifar-10", tmp_path)
    with pytest.raises(InvalidParameterError, match="NAS-Bench-201"):
        download_dataset("imagenet16-120", tmp_path)
    with pytest.raises(InvalidParameterError, match="http"):
        download_dataset("cifar10", tmp_path, url="file:///etc/passwd")
    with pytest.raises(InvalidParameterError, match="32 hexadecimal"):
        download_dataset("cifar10", tmp_path, url="http://127.0.0.1/x", md5="abc")
    assert not any(tmp_path.iterdir())


def test_archive_table() -> None:
    assert ARCHIVES["cifar10"].url == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert ARCHIVES["cifar10"].md5 == "c58f30108f718f92721af3b95e74349a"
    assert ARCHIVES["cifar10"].folder == "cifar-10-batches-py"
    assert ARCHIVES["cifar100"].url == "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    assert ARCHIVES["cifar100"].md5 == "eb9058c3a382ffc7106e4002c42a8d85"
    assert ARCHIVES["cifar100"].folder == "cifar-100-python"


def test_fake_archive_labels_survive(tmp_path: Path, fake_cifar10_archive: tuple[str, str]) -> None:
    url, md5 = fake_cifar10_archive
    download_dataset("cifar10", tmp_path / "a", url=url, md5=md5, progress=False)
    a = load_cifar("cifar10", tmp_path / "a", split="test")
    b = load_cifar("cifar10", tmp_path / "source", split="test")
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
