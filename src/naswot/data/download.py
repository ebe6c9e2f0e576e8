"""Downloading and unpacking the official CIFAR-10 and CIFAR-100 archives.

``naswot data download cifar10 --data-dir DIR`` calls :func:`download_dataset`, which streams the
archive from the University of Toronto into a temporary file in ``DIR``, checks its MD5, unpacks
it (refusing members that would land outside ``DIR/<folder>/``, links pointing outside it, and
device files) and deletes the archive. ImageNet16-120 is not downloadable from a stable URL; see
:mod:`naswot.data.imagenet16`.
"""

from __future__ import annotations

import difflib
import hashlib
import http.client
import os
import re
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from tqdm import tqdm

from naswot._io import quote
from naswot.exceptions import (
    DataError,
    InvalidParameterError,
    NaswotError,
    UnknownNameError,
    UnsafeFileError,
)

__all__ = ["ARCHIVES", "Archive", "download_dataset"]

_CHUNK = 1 << 20
_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Archive:
    """One downloadable dataset archive.

    Attributes:
        url: where to download it.
        md5: the MD5 of the archive, lowercase hex (published with the dataset).
        folder: the one folder the archive unpacks to.
        files: the files that folder holds once unpacked (checked to skip a second download).
    """

    url: str
    md5: str
    folder: str
    files: tuple[str, ...]


#: The archives :func:`download_dataset` knows, by dataset name.
ARCHIVES: dict[str, Archive] = {
    "cifar10": Archive(
        url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        md5="c58f30108f718f92721af3b95e74349a",
        folder="cifar-10-batches-py",
        files=(
            "batches.meta",
            "data_batch_1",
            "data_batch_2",
            "data_batch_3",
            "data_batch_4",
            "data_batch_5",
            "test_batch",
        ),
    ),
    "cifar100": Archive(
        url="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        md5="eb9058c3a382ffc7106e4002c42a8d85",
        folder="cifar-100-python",
        files=("meta", "train", "test"),
    ),
}


def download_dataset(
    name: str,
    data_dir: str | Path,
    *,
    url: str | None = None,
    md5: str | None = None,
    progress: bool = True,
) -> Path:
    """Downloads and unpacks the official archive of ``name`` into ``data_dir``.

    Nothing is downloaded when ``data_dir/<folder>/`` already holds every file of the archive.
    Otherwise the archive is streamed to a temporary file in ``data_dir`` (with a progress bar on
    stderr), its MD5 is checked, every member is checked to be a plain file or folder inside
    ``<folder>/`` (tarfile's ``data`` filter: no ``..`` paths, no links pointing outside, no device
    files), and it is unpacked into a temporary folder that is then moved into place; the
    archive is deleted in every case.

    Args:
        name: ``cifar10`` or ``cifar100`` (see :data:`ARCHIVES`).
        data_dir: the folder to unpack into (created if needed); afterwards it holds
            ``cifar-10-batches-py/`` or ``cifar-100-python/`` and can be passed to
            :func:`~naswot.data.load_batch` as ``data_dir``.
        url: an ``http(s)`` URL to download from instead of the official one (a mirror).
        md5: the expected MD5 instead of the official one (for a mirror of another file).
        progress: show a progress bar on stderr.

    Returns:
        The unpacked dataset folder, ``data_dir/<folder>``.

    Raises:
        UnknownNameError: if ``name`` is not one of :data:`ARCHIVES`.
        InvalidParameterError: if ``url`` is not an http(s) URL or ``md5`` not 32 hex digits,
            or ``name`` is a dataset naswot cannot download (ImageNet16-120).
        NaswotError: if the download fails (network error, HTTP error); says which URL.
        DataError: if the MD5 does not match, or the archive is not a tar.gz of that folder.
        UnsafeFileError: if an archive member would land outside ``data_dir`` or is a link
            pointing outside it.

    Example:
        >>> download_dataset("cifar10", "~/data")  # doctest: +SKIP
        PosixPath('/home/me/data/cifar-10-batches-py')
    """
    archive = _archive(name)
    url = archive.url if url is None else url
    expected = (archive.md5 if md5 is None else md5).lower()
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise InvalidParameterError(
            f"The 'url' parameter of download_dataset must be an http(s) URL. Got {url!r} instead."
        )
    if not re.fullmatch(r"[0-9a-f]{32}", expected):
        raise InvalidParameterError(
            "The 'md5' parameter of download_dataset must be 32 hexadecimal digits. "
            f"Got {md5!r} instead."
        )
    root = Path(data_dir).expanduser()
    target = root / archive.folder
    if _is_complete(target, archive.files):
        return target
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            dir=root, prefix=f".{archive.folder}-", suffix=".tar.gz.part"
        )
    except OSError as exc:
        raise NaswotError(f"Cannot write to {root}: {exc.strerror or exc}.") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _fetch(url, out, root=root, desc=name, progress=progress)
        if digest != expected:
            raise DataError(
                f"The file downloaded from {url} is damaged or not the expected one: its MD5 is "
                f"{digest}, expected {expected}. It was deleted; try again."
            )
        _unpack(tmp, root, archive.folder, url=url)
    finally:
        tmp.unlink(missing_ok=True)
    if not _is_complete(target, archive.files):
        missing = [f for f in archive.files if not (target / f).is_file()]
        raise DataError(
            f"The archive from {url} did not hold the expected files: {', '.join(missing)} "
            f"missing in {target}."
        )
    return target


def _archive(name: str) -> Archive:
    if name in ARCHIVES:
        return ARCHIVES[name]
    if str(name).lower().startswith("imagenet16"):
        raise InvalidParameterError(
            f"naswot cannot download {name}: get the ImageNet16 folder (train_data_batch_1..10, "
            "val_data) from the NAS-Bench-201 authors and pass the folder that holds it as "
            "--data-dir."
        )
    close = difflib.get_close_matches(str(name).lower(), list(ARCHIVES), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise UnknownNameError(
        f"Unknown downloadable dataset {quote(name)}. Choices: {', '.join(ARCHIVES)}.{hint}"
    )


def _is_complete(folder: Path, files: tuple[str, ...]) -> bool:
    """Whether ``folder`` is a readable folder holding every one of ``files``."""
    return (
        folder.is_dir()
        and os.access(folder, os.R_OK | os.X_OK)
        and all((folder / f).is_file() and os.access(folder / f, os.R_OK) for f in files)
    )


def _fetch(url: str, out: BinaryIO, *, root: Path, desc: str, progress: bool) -> str:
    """Streams ``url`` into ``out``; returns the MD5 (hex) of what was written."""
    hint = (
        "Check the network connection (and proxy settings such as HTTPS_PROXY), or download "
        f"the archive yourself, check its MD5 and unpack it into {root}."
    )
    digest = hashlib.md5(usedforsecurity=False)
    received = 0
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response:
            length = response.headers.get("Content-Length", "")
            total = int(length) if length.isdigit() else None
            with tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=desc,
                file=sys.stderr,
                disable=not progress,
            ) as bar:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
    except urllib.error.HTTPError as exc:
        raise NaswotError(
            f"Could not download {url}: HTTP {exc.code} {exc.reason}. {hint}"
        ) from exc
    except urllib.error.URLError as exc:
        raise NaswotError(f"Could not download {url}: {exc.reason}. {hint}") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise NaswotError(f"Download of {url} failed: {type(exc).__name__}: {exc}. {hint}") from exc
    if total is not None and received != total:
        raise NaswotError(f"Download of {url} stopped after {received} of {total} bytes. {hint}")
    return digest.hexdigest()


def _unpack(archive: Path, root: Path, folder: str, *, url: str) -> None:
    """Unpacks the tar.gz ``archive``, which must hold only ``folder/``, into ``root``."""
    staging = Path(tempfile.mkdtemp(dir=root, prefix=f".{folder}-unpack-"))
    try:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                members = tar.getmembers()
                for member in members:
                    try:
                        tarfile.data_filter(member, str(staging))
                    except tarfile.FilterError as exc:
                        raise UnsafeFileError(
                            f"refusing to unpack the archive from {url}: its member "
                            f"{member.name!r} is unsafe ({exc})."
                        ) from exc
                    parts = PurePosixPath(member.name).parts
                    if not parts or parts[0] != folder:
                        raise DataError(
                            f"The archive from {url} is not the expected one: its member "
                            f"{member.name!r} is not inside {folder}/."
                        )
                tar.extractall(staging, members=members, filter="data")
            _move_into(staging / folder, root / folder)
        except (tarfile.TarError, EOFError, zlib.error) as exc:
            raise DataError(f"The archive from {url} is not a readable tar.gz: {exc}.") from exc
        except OSError as exc:
            raise DataError(f"Cannot unpack the archive from {url} into {root}: {exc}.") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _move_into(source: Path, target: Path) -> None:
    """Moves the unpacked ``source`` folder to ``target``, file by file if ``target`` exists."""
    if not target.exists():
        os.replace(source, target)
        return
    for path in sorted(source.rglob("*")):
        destination = target / path.relative_to(source)
        if path.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
        else:
            os.replace(path, destination)
