"""The fused elementwise kernels of the fast scorers (``_fused.c``), compiled on first use.

PyTorch's CPU ops run batch norm, the node adds, ReLU and the code compare as separate passes
over 2-8 MB tensors; the scorer is bound by those passes, not by its convolutions
(docs/performance.md). ``_fused.c`` does them in fewer passes: batch statistics in one read,
normalize-and-accumulate into the node sum, ReLU and codes from one integer compare, the 3x3
average pool summed straight into the node sum; NAS-Bench-101's max pools, which PyTorch's
CPU kernel computes together with an index tensor; and, on CPUs with AVX-512 popcounts, the
codes' Gram matrices from packed bits (exact; several times the int8 product's rate without
AMX, 1.3-1.6x with it for the layer sizes of :data:`AMX_POPCOUNT_CODES`).
``torch.compile`` was measured first and was slower than eager here
(``benchmarks/compile_probe.py``).

The C file is compiled once per machine with the system C compiler (``$CC``, else ``cc`` or
``gcc``; flags tuned for this CPU, else portable ones) into ``$NASWOT_CACHE_DIR`` (default
``~/.cache/naswot``)/``native``, named by a hash of the source, the flags, the compiler's
version and the CPU, and loaded with :mod:`ctypes`.
Where there is no compiler, or ``NASWOT_NATIVE=0``, :func:`native_kernels` says why and the
scorers use their eager path (same arithmetic up to rounding: scores within 1e-3).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from naswot.exceptions import ScoringError

__all__ = ["NativeKernels", "NativeStatus", "native_kernels"]

# Tried in order: tuned for this CPU (512-bit vectors: 1.1-1.6x faster kernels than gcc's default
# 256 here, bf16 most), then flags any C11 compiler takes (e.g. where -march=native or the x86
# vector-width option is refused). Both keep IEEE rounding: no fast-math, no FMA contraction.
_FLAG_SETS = (
    ("-O3", "-march=native", "-mprefer-vector-width=512", "-ffp-contract=off", "-fno-fast-math"),
    ("-O3", "-ffp-contract=off"),
)
_COMMON_FLAGS = ("-std=c11", "-fPIC", "-shared")
_SUFFIX = {torch.float32: "float", torch.bfloat16: "b16"}
_P = ctypes.c_void_p
_I = ctypes.c_int64
_SIGNATURES: dict[str, tuple[type | None, list[type]]] = {
    "stats": (ctypes.c_int, [_P, _I, _I, _I, ctypes.c_double, _P, _P]),
    "bn": (None, [_P, _P, _I, _I, _P, _P]),
    "bn_relu_codes": (None, [_P, _P, _P, _I, _I, _P, _P]),
    "bn_codes": (None, [_P, _P, _I, _I, _P, _P]),
    "relu_codes": (None, [_P, _P, _P, _I]),
    "node": (ctypes.c_int, [_P, _I, _I, _I, _I, _I, _P, _P, _P]),
    "max_pool": (ctypes.c_int, [_P, _P, _I, _I, _I, _I, _I]),
}
_PART_KINDS = {"bn": 0, "pool": 1, "skip": 2}


class _Part(ctypes.Structure):
    _fields_ = (
        ("x", ctypes.c_void_p),
        ("mean", ctypes.c_void_p),
        ("invstd", ctypes.c_void_p),
        ("kind", ctypes.c_int64),
    )


@dataclass(frozen=True)
class NativeStatus:
    """The compiled kernels, or None with the reason they are not available."""

    kernels: NativeKernels | None
    reason: str
    #: switched off on purpose (``NASWOT_NATIVE=0``), not missing
    disabled: bool = False


def _rows_channels(x: torch.Tensor) -> tuple[int, int]:
    if x.dim() != 4 or not x.is_contiguous(memory_format=torch.channels_last):
        raise ScoringError("internal: fused kernels take 4-d channels_last tensors")
    if x.device.type != "cpu" or x.dtype not in _SUFFIX:
        raise ScoringError(f"internal: fused kernels take CPU float32/bfloat16, got {x.dtype}")
    n, c, h, w = x.shape
    return n * h * w, c


#: the codes per row for which the popcount Gram beats AMX's int8 product (128 rows, one core,
#: an Intel Xeon with AMX under KVM: 1.5x at 2,048, 1.6x at 3,072, 1.4x at 16,384, 1.1x at 131,072;
#: 0.8x at 1,024 and 0.7x at 262,144); without AMX the popcounts win from about 1,000 codes up
AMX_POPCOUNT_CODES = (2048, 131072)


def _has_amx() -> bool:
    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)
    return bool(probe()) if probe is not None else False


class NativeKernels:
    """Thin typed wrappers of the compiled kernels over channels_last CPU tensors."""

    def __init__(self, library: ctypes.CDLL) -> None:
        self._fns: dict[tuple[str, torch.dtype], Any] = {}  # ctypes function pointers
        for name, (restype, argtypes) in _SIGNATURES.items():
            for dtype, suffix in _SUFFIX.items():
                fn = getattr(library, f"naswot_{name}_{suffix}")
                fn.restype = restype
                fn.argtypes = argtypes
                self._fns[name, dtype] = fn
        self._gram = library.naswot_gram
        self._gram.restype = ctypes.c_int
        self._gram.argtypes = [_P, _I, _I, _P]
        available = library.naswot_gram_available
        available.restype = ctypes.c_int
        #: whether the popcount Gram is compiled in (AVX-512 BW and VPOPCNTDQ)
        self.gram_compiled = bool(available())
        #: whether :meth:`gram` computes Gram matrices (compiled in)
        self.popcount_gram = self.gram_compiled
        #: whether the CPU has AMX: then :meth:`gram` takes only rows of
        #: :data:`AMX_POPCOUNT_CODES` codes and leaves the others to the int8 product
        self.amx = _has_amx()

    def stats(self, x: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-channel batch mean and 1/sqrt(biased variance + eps), as float32 (C,) tensors."""
        _rows_channels(x)
        n, c, h, w = x.shape
        mean = torch.empty(c, dtype=torch.float32)
        invstd = torch.empty(c, dtype=torch.float32)
        fn = self._fns["stats", x.dtype]
        if fn(x.data_ptr(), n * h, w * c, c, eps, mean.data_ptr(), invstd.data_ptr()) != 0:
            raise MemoryError("fused batch statistics: no memory for the accumulators")
        return mean, invstd

    def bn(self, x: torch.Tensor) -> torch.Tensor:
        """Train-mode batch norm of ``x`` (weight 1, bias 0), as a new tensor."""
        rows, c = _rows_channels(x)
        mean, invstd = self.stats(x)
        out = _like(x)
        self._fns["bn", x.dtype](
            x.data_ptr(), out.data_ptr(), rows, c, mean.data_ptr(), invstd.data_ptr()
        )
        return out

    def bn_relu_codes(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """ReLU of the batch norm of ``x`` and its codes (int8 0/1, shape (N, H*W*C))."""
        rows, c = _rows_channels(x)
        mean, invstd = self.stats(x)
        relu = _like(x)
        codes = torch.empty(x.shape[0], rows // x.shape[0] * c, dtype=torch.int8)
        self._fns["bn_relu_codes", x.dtype](
            x.data_ptr(),
            relu.data_ptr(),
            codes.data_ptr(),
            rows,
            c,
            mean.data_ptr(),
            invstd.data_ptr(),
        )
        return relu, codes

    def bn_codes(self, x: torch.Tensor) -> torch.Tensor:
        """Codes (int8 0/1, shape (N, H*W*C)) of the batch norm of ``x``."""
        rows, c = _rows_channels(x)
        mean, invstd = self.stats(x)
        codes = torch.empty(x.shape[0], rows // x.shape[0] * c, dtype=torch.int8)
        self._fns["bn_codes", x.dtype](
            x.data_ptr(), codes.data_ptr(), rows, c, mean.data_ptr(), invstd.data_ptr()
        )
        return codes

    def relu_codes(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """ReLU of ``x`` and its codes (int8 0/1, shape (N, H*W*C)) from one pass."""
        rows, c = _rows_channels(x)
        relu = _like(x)
        codes = torch.empty(x.shape[0], rows // x.shape[0] * c, dtype=torch.int8)
        self._fns["relu_codes", x.dtype](x.data_ptr(), relu.data_ptr(), codes.data_ptr(), rows * c)
        return relu, codes

    def gram(self, codes: torch.Tensor) -> torch.Tensor | None:
        """G = c cᵀ (int64) of (B, n) one-byte 0/1 codes from packed-bit popcounts, or None.

        None where :attr:`popcount_gram` is off, for codes the kernel does not take (not a
        contiguous CPU bool/int8/uint8 tensor) or, with :attr:`amx`, for rows whose length is
        outside :data:`AMX_POPCOUNT_CODES`: the caller then uses the int8 matrix product.
        Exact, like it.
        """
        if (
            not self.popcount_gram
            or codes.dim() != 2
            or codes.device.type != "cpu"
            or codes.dtype not in (torch.bool, torch.int8, torch.uint8)
            or not codes.is_contiguous()
        ):
            return None
        b, n = codes.shape
        if b == 0 or n == 0:
            return None  # nothing to pack (and a zero-size allocation may fail)
        if self.amx and not AMX_POPCOUNT_CODES[0] <= n <= AMX_POPCOUNT_CODES[1]:
            return None
        gram = torch.empty(b, b, dtype=torch.int64)
        failed = self._gram(codes.data_ptr(), b, n, gram.data_ptr())
        if failed == -1:
            raise MemoryError("popcount Gram: no memory for the packed codes")
        return None if failed else gram

    def node(
        self, parts: list[tuple[str, torch.Tensor]], relu: bool, keep: bool = True
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
        """The sum of ``parts`` (``bn``/``pool``/``skip``, x) in one pass.

        With ``relu``, also its ReLU and codes (int8 0/1, shape (N, H*W*C)) from the same pass.
        ``keep=False`` (only with ``relu``) does not write the sum itself: None in its place.
        """
        if not (keep or relu):
            raise ScoringError("internal: a fused node that writes nothing")
        x0 = parts[0][1]
        _rows_channels(x0)
        n, c, h, w = x0.shape
        alive: list[torch.Tensor] = []  # the statistics must outlive the call
        array = (_Part * len(parts))()
        for slot, (kind, x) in zip(array, parts, strict=True):
            _check_like(x, x0)
            slot.x = x.data_ptr()
            slot.kind = _PART_KINDS[kind]
            if kind == "bn":
                mean, invstd = self.stats(x)
                alive += [mean, invstd]
                slot.mean, slot.invstd = mean.data_ptr(), invstd.data_ptr()
        node = _like(x0) if keep else None
        relu_out = _like(x0) if relu else None
        codes = torch.empty(n, h * w * c, dtype=torch.int8) if relu else None
        failed = self._fns["node", x0.dtype](
            ctypes.addressof(array),
            len(parts),
            n,
            h,
            w,
            c,
            None if node is None else node.data_ptr(),
            None if relu_out is None else relu_out.data_ptr(),
            None if codes is None else codes.data_ptr(),
        )
        if failed == -2:
            raise ScoringError("internal: a fused node that writes nothing")
        if failed:
            raise MemoryError("fused node: no memory for the row buffers")
        return node, relu_out, codes

    def max_pool(self, x: torch.Tensor, kernel_size: int) -> torch.Tensor:
        """NAS-Bench-101's max pools, without the index tensor PyTorch's CPU kernel writes.

        ``kernel_size`` 3: ``F.max_pool2d(x, 3, stride=1, padding=1)``; 2:
        ``F.max_pool2d(x, 2, stride=2, ceil_mode=True)``.
        """
        if kernel_size not in (2, 3):
            raise ScoringError(f"internal: max pool of size {kernel_size}")
        _rows_channels(x)
        n, c, h, w = x.shape
        size = (h, w) if kernel_size == 3 else ((h + 1) // 2, (w + 1) // 2)
        out = torch.empty(n, c, *size, dtype=x.dtype, memory_format=torch.channels_last)
        fn = self._fns["max_pool", x.dtype]
        if fn(x.data_ptr(), out.data_ptr(), n, h, w, c, kernel_size):
            raise MemoryError("fused max pool: no memory for the row buffer")
        return out


def _like(x: torch.Tensor) -> torch.Tensor:
    return torch.empty_like(x, memory_format=torch.channels_last)


def _check_like(x: torch.Tensor, first: torch.Tensor) -> None:
    if x.shape != first.shape or x.dtype != first.dtype:
        raise ScoringError("internal: the parts of a fused node differ in shape or dtype")
    _rows_channels(x)


def _cache_dir() -> Path:
    root = os.environ.get("NASWOT_CACHE_DIR")
    if root:
        return Path(root) / "native"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "naswot" / "native"


def _cpu_signature() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor() or platform.machine()
    lines = [ln for ln in text.splitlines() if ln.startswith(("model name", "flags"))]
    return "\n".join(dict.fromkeys(lines))  # -march=native depends on the model and its flags


def _compiler() -> str | None:
    cc = os.environ.get("CC")
    if cc:
        return shutil.which(cc)
    return shutil.which("cc") or shutil.which("gcc")


@functools.cache
def native_kernels() -> NativeStatus:
    """The fused kernels, compiled (once per machine) and loaded; or why they are not there.

    Cached for the process: compiling takes about a second, loading a few milliseconds.
    """
    if os.environ.get("NASWOT_NATIVE", "1").strip().lower() in ("0", "false", "no", "off"):
        return NativeStatus(None, "disabled by NASWOT_NATIVE=0", disabled=True)
    cc = _compiler()
    if cc is None:
        return NativeStatus(None, "no C compiler found ($CC, cc or gcc)")
    source = resources.files("naswot.fast").joinpath("_fused.c").read_bytes()
    try:
        version = subprocess.run(
            [cc, "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError) as error:
        return NativeStatus(None, f"the C compiler {cc} does not run: {error}")
    reasons = []
    for flags in _FLAG_SETS:
        parts = [" ".join(flags + _COMMON_FLAGS), cc, version, _cpu_signature()]
        key = hashlib.sha256(b"\0".join([source, *(p.encode() for p in parts)])).hexdigest()[:20]
        target = _cache_dir() / f"fused-{key}.so"
        reason = "" if target.exists() else _compile(cc, [*flags, *_COMMON_FLAGS], source, target)
        if not reason:
            try:
                return NativeStatus(NativeKernels(ctypes.CDLL(str(target))), f"loaded {target}")
            except (OSError, AttributeError) as error:
                reason = f"could not load {target}: {error}"
        reasons.append(reason)
    return NativeStatus(None, "; then ".join(reasons))


def _compile(cc: str, flags: list[str], source: bytes, target: Path) -> str:
    """Compiles ``source`` into ``target`` atomically; returns '' or the reason it failed."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            c_file = Path(tmp) / "fused.c"
            c_file.write_bytes(source)
            so_file = Path(tmp) / target.name
            run = subprocess.run(
                [cc, *flags, "-o", str(so_file), str(c_file), "-lm"],
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            if run.returncode != 0:
                return f"compiling the fused kernels failed: {run.stderr.strip()[-500:]}"
            os.replace(so_file, target)  # atomic: a concurrent process sees all or nothing
    except (OSError, subprocess.SubprocessError) as error:
        return f"compiling the fused kernels failed: {error}"
    return ""
