"""Build naswot's bundled offline batch from the MIT-licensed foolbox 3.3.4 wheel.

The wheel ``foolbox-3.3.4-py3-none-any.whl`` on PyPI ships the first 20 CIFAR-10 test images as
lossless PNGs (``foolbox/data/cifar10_<ii>_<label>.png``). This script downloads the wheel with
``pip download``, checks its SHA-256, decodes the 20 PNGs with Pillow (a script-only dependency:
``pip install pillow``) and writes

* ``src/naswot/data/_bundled/cifar10_foolbox_test20.npz``: ``images`` uint8 (20, 32, 32, 3) and
  ``labels`` int64 (20,), in test-set order; the zip entries carry a fixed timestamp so that the
  file is byte-for-byte reproducible;
* ``src/naswot/data/_bundled/ATTRIBUTION.md``: origin, licence and citation.

Usage::

    python scripts/make_bundled_batch.py            # downloads the wheel from PyPI
    python scripts/make_bundled_batch.py --wheel foolbox-3.3.4-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import hashlib
import io
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

PACKAGE = "foolbox"
VERSION = "3.3.4"
WHEEL_NAME = f"{PACKAGE}-{VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "11049d515d38e765e206a73ace9cc648b81a0d6d1da9ad9057e149ee117989cb"
PNG_PATTERN = re.compile(r"^foolbox/data/cifar10_(\d\d)_(\d)\.png$")
LICENSE_MEMBER = f"{PACKAGE}-{VERSION}.dist-info/LICENSE"
METADATA_MEMBER = f"{PACKAGE}-{VERSION}.dist-info/METADATA"
# The first 20 CIFAR-10 test labels (a published, well-known sequence).
EXPECTED_LABELS = (3, 8, 8, 0, 6, 6, 1, 6, 3, 1, 0, 9, 5, 7, 9, 8, 5, 7, 8, 6)
NPZ_NAME = "cifar10_foolbox_test20.npz"
REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "src" / "naswot" / "data" / "_bundled"
CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)


def download_wheel(dest: Path) -> Path:
    """Downloads the foolbox wheel (no dependencies) into ``dest`` with pip."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            f"{PACKAGE}=={VERSION}",
            "-d",
            str(dest),
        ],
        check=True,
    )
    return dest / WHEEL_NAME


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_pngs(wheel: Path) -> tuple[np.ndarray, np.ndarray, list[str], str, str]:
    """Returns images, labels, member names, the licence text and the metadata text."""
    from PIL import Image  # script-only dependency

    found: list[tuple[int, int, str]] = []
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            m = PNG_PATTERN.match(name)
            if m:
                found.append((int(m.group(1)), int(m.group(2)), name))
        found.sort()
        if [i for i, _, _ in found] != list(range(20)):
            raise SystemExit(f"expected cifar10_00..19 PNGs in {wheel}, found {found}")
        images = []
        for _, _, name in found:
            with Image.open(io.BytesIO(zf.read(name))) as img:
                if img.size != (32, 32):
                    raise SystemExit(f"{name}: expected 32x32, got {img.size}")
                images.append(np.asarray(img.convert("RGB"), dtype=np.uint8))
        license_text = zf.read(LICENSE_MEMBER).decode("utf-8")
        metadata = zf.read(METADATA_MEMBER).decode("utf-8")
    labels = np.array([label for _, label, _ in found], dtype=np.int64)
    if tuple(labels.tolist()) != EXPECTED_LABELS:
        raise SystemExit(f"unexpected labels {labels.tolist()}; expected {EXPECTED_LABELS}")
    return np.stack(images), labels, [name for _, _, name in found], license_text, metadata


def write_npz(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """Writes an ``np.load``-compatible npz whose bytes do not depend on the time of writing."""
    with zipfile.ZipFile(path, "w") as zf:
        for key, array in (("images", images), ("labels", labels)):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())


def metadata_field(metadata: str, field: str) -> str:
    for line in metadata.splitlines():
        if line.startswith(f"{field}:"):
            return line.split(":", 1)[1].strip()
    return "(not given)"


def attribution(
    names: list[str], labels: np.ndarray, license_text: str, metadata: str, npz_sha: str
) -> str:
    rows = "\n".join(
        f"| {i} | `{name}` | {label} ({CLASSES[label]}) |"
        for i, (name, label) in enumerate(zip(names, labels.tolist(), strict=True))
    )
    license_block = "\n".join(f"    {line}" if line else "" for line in license_text.splitlines())
    return f"""# Attribution: `{NPZ_NAME}`

naswot's offline default minibatch: the first 20 images of the CIFAR-10 **test** set (indices
0-19, in order), exactly as shipped, losslessly, inside the foolbox wheel.

- **Source:** PyPI package `{PACKAGE}=={VERSION}`, wheel `{WHEEL_NAME}`
  (SHA-256 `{WHEEL_SHA256}`), directory `foolbox/data/`.
- **Project:** {metadata_field(metadata, "Home-page")};
  authors: {metadata_field(metadata, "Author")}.
- **Licence of the package:** {metadata_field(metadata, "License")} (text below).
- **Derived file:** `{NPZ_NAME}` (SHA-256 `{npz_sha}`), written by
  `scripts/make_bundled_batch.py`: `images` uint8 (20, 32, 32, 3) RGB, decoded from the PNGs
  with Pillow; `labels` int64 (20,) taken from the file names. Pixel values are unchanged.

## Files

| index | file in the wheel | label |
|---|---|---|
{rows}

## The images

The images are from CIFAR-10. Please cite:

> Alex Krizhevsky. *Learning Multiple Layers of Features from Tiny Images.* Technical report,
> University of Toronto, 2009. https://www.cs.toronto.edu/~kriz/cifar.html

## foolbox licence (`{LICENSE_MEMBER}`, verbatim)

{license_block}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="use this foolbox 3.3.4 wheel, not PyPI's")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel if args.wheel is not None else download_wheel(Path(tmp))
        digest = sha256_of(wheel)
        if digest != WHEEL_SHA256:
            raise SystemExit(f"{wheel}: SHA-256 {digest}, expected {WHEEL_SHA256}")
        images, labels, names, license_text, metadata = read_pngs(wheel)
    out_dir: Path = args.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    npz = out_dir / NPZ_NAME
    write_npz(npz, images, labels)
    with np.load(npz, allow_pickle=False) as check:
        assert np.array_equal(check["images"], images)
        assert np.array_equal(check["labels"], labels)
    text = attribution(names, labels, license_text, metadata, sha256_of(npz))
    (out_dir / "ATTRIBUTION.md").write_text(text, encoding="utf-8")
    print(f"wrote {npz} ({npz.stat().st_size} bytes) and {out_dir / 'ATTRIBUTION.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
