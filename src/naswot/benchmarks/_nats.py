"""The NATS-Bench topology "simple" archive reader (a folder or a ``.tar`` of ``.pickle.pbz2``)."""

from __future__ import annotations

import contextlib
import posixpath
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

from naswot.benchmarks._safe_load import _load_pbz2
from naswot.exceptions import BenchmarkError

_NATS_EXT: Final = ".pickle.pbz2"
_NATS_META: Final = "meta" + _NATS_EXT

_NATS_HOWTO: Final = (
    "Download NATS-tss-v1_0-3ffb9-simple.tar from the links in the NATS-Bench README "
    "(https://github.com/D-X-Y/NATS-Bench), unpack it with `tar xf` (or pass the .tar), then "
    "run `naswot bench convert nats-tss NATS-tss-v1_0-3ffb9-simple nats-tss.csv`."
)


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
