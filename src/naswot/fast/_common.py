"""Pieces shared by the fast scorers: the exact kernel accumulator, batch-statistics BN, codes."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from naswot.exceptions import InvalidParameterError, ScoringError
from naswot.fast._native import NativeKernels, native_kernels
from naswot.proxies._kernel import int8_gram, kernel_update

__all__ = [
    "KERNELS",
    "PRECISIONS",
    "Acc",
    "Elementwise",
    "UsesElementwise",
    "add_codes",
    "avg_pool_3x3",
    "bn",
    "check_options",
    "codes_of",
    "compute_dtype",
    "elementwise_for",
    "node_sum",
]

PRECISIONS = ("fp32", "bf16")
KERNELS = ("auto", "fused", "eager")
# A float is > 0 exactly when its bits, read as a signed integer of the same width, are > 0.
_SAME_WIDTH_INT = {torch.float32: torch.int32, torch.bfloat16: torch.int16}


@dataclass
class Acc:
    """K accumulated exactly, in int64: K = kernel + constant + 2 gram - diag_i - diag_j.

    With 0/1 codes c of n units, the agreements of inputs i and j are n - d_i - d_j + 2 G_ij
    (G = c cᵀ, d = diag G): the Gram matrices and their diagonals are summed as they come and
    combined once at the end. ``kernel`` takes layers counted by the float path, ``constant``
    the n of every layer (and all-zero layers, which agree on every unit).
    """

    kernel: torch.Tensor
    gram: torch.Tensor
    diag: torch.Tensor
    gram_of: Callable[[torch.Tensor], torch.Tensor | None]
    """G = c cᵀ of a layer's codes, or None for the float path (:meth:`Elementwise.gram`)."""
    constant: int = 0
    units: int = 0
    calls: int = 0

    @classmethod
    def for_batch(
        cls, inputs: torch.Tensor, gram_of: Callable[[torch.Tensor], torch.Tensor | None]
    ) -> Acc:
        """An empty accumulator for a batch of ``inputs.shape[0]`` inputs, G from ``gram_of``."""
        b, device = inputs.shape[0], inputs.device
        return cls(
            kernel=torch.zeros(b, b, dtype=torch.int64, device=device),
            gram=torch.zeros(b, b, dtype=torch.int64, device=device),
            diag=torch.zeros(b, dtype=torch.int64, device=device),
            gram_of=gram_of,
        )

    def result(self) -> tuple[torch.Tensor, int, int]:
        """K (float64), N_A and the number of counted activation calls."""
        k = self.kernel + self.gram * 2 - self.diag[:, None] - self.diag[None, :]
        return k.to(torch.float64) + float(self.constant), self.units, self.calls


def check_options(owner: str, variant: str, precision: str, kernels: str = "auto") -> None:
    """Refuses variants other than ``default``/``official``, unknown precisions and kernels."""
    if variant not in ("default", "official"):
        raise InvalidParameterError(
            f"The 'variant' parameter of {owner} must be 'default' or 'official'. "
            f"Got {variant!r} instead."
        )
    if precision not in PRECISIONS:
        raise InvalidParameterError(
            f"The 'precision' parameter of {owner} must be one of {PRECISIONS}. "
            f"Got {precision!r} instead."
        )
    if kernels not in KERNELS:
        raise InvalidParameterError(
            f"The 'kernels' parameter of {owner} must be one of {KERNELS}. Got {kernels!r} instead."
        )


def compute_dtype(precision: str) -> torch.dtype:
    """The dtype of the forward for a precision name."""
    return torch.bfloat16 if precision == "bf16" else torch.float32


def bn(x: torch.Tensor) -> torch.Tensor:
    """BatchNorm2d in train mode with weight 1 and bias 0 (batch statistics, eps 1e-5)."""
    return F.batch_norm(x, None, None, training=True, momentum=0.0, eps=1e-5)


class UsesElementwise:
    """Mixin of the fast scorers: ``kernels``, ``fused`` and the passes, rebuilt on unpickling.

    The compiled kernels are a ctypes library, which cannot be pickled: a scorer sent to a worker
    process carries its ``kernels`` choice and loads the kernels there. An ``auto`` choice travels
    as what it resolved to where the scorer was made: the driver keys and labels the worker's
    scores by its own engine (``fast-fused`` or ``fast``), so a worker must compute with that
    engine, or fail saying why (a Ray node without a C compiler: a ScoringError where CPU
    tensors would use the kernels), never silently use the other.
    """

    kernels: str
    _ops: Elementwise

    @property
    def fused(self) -> bool:
        """Whether the elementwise passes run as the fused C kernels (on CPU tensors)."""
        return self._ops.fused

    def _use_kernels(self, kernels: str) -> None:
        self.kernels = kernels
        self._ops = elementwise_for(kernels)

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["_resolved"] = "fused" if self._ops.fused else "eager"
        del state["_ops"]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        resolved = str(state.pop("_resolved", state["kernels"]))
        self.__dict__.update(state)
        try:
            self._ops = elementwise_for(resolved)
        except ScoringError as error:  # raised where CPU tensors would use the kernels
            self._ops = Elementwise(
                None,
                missing=f"{error}: the process that made this scorer used the fused kernels, "
                "so its CPU scores are labelled fast-fused; install a C compiler where the "
                "workers run, or score with kernels='eager' (--kernels eager).",
            )


def elementwise_for(kernels: str) -> Elementwise:
    """The elementwise passes for a ``kernels`` choice.

    ``auto``: the fused C kernels where they compile here, else eager PyTorch ops; ``fused``: the
    C kernels or a :class:`ScoringError` saying why they are missing; ``eager``: PyTorch ops.
    """
    if kernels == "eager":
        return Elementwise(None)
    status = native_kernels()
    if status.kernels is None and kernels == "fused":
        raise ScoringError(f"kernels='fused' asked for, but {status.reason}")
    return Elementwise(status.kernels)


@dataclass(frozen=True)
class Elementwise:
    """The scorers' elementwise passes: fused C kernels where given and usable, else eager.

    The fused and eager paths do the same arithmetic in a different order (batch statistics in
    double, window sums row by row), so values agree up to rounding and codes up to sign flips of
    values within rounding of zero; CUDA tensors and other layouts take the eager path (except
    :meth:`max_pool`, see there).
    Codes are (B, n) tensors, boolean (eager) or 0/1 int8 (fused), in channels_last unit order.
    """

    native: NativeKernels | None
    #: why the kernels this scorer was made with are missing here (a worker unpickling a scorer
    #: of a process that had them): a ScoringError where CPU tensors would use them
    missing: str = ""

    @property
    def fused(self) -> bool:
        """Whether the C kernels are in use (for CPU channels_last tensors)."""
        return self.native is not None or bool(self.missing)

    def _kernels(self, *tensors: torch.Tensor) -> NativeKernels | None:
        if self.native is None and not self.missing:
            return None
        for x in tensors:
            if (
                x.device.type != "cpu"
                or x.dim() != 4
                or x.dtype not in (torch.float32, torch.bfloat16)
                or not x.is_contiguous(memory_format=torch.channels_last)
            ):
                return None
        if self.native is None:
            raise ScoringError(self.missing)
        return self.native

    def bn(self, x: torch.Tensor) -> torch.Tensor:
        """Train-mode batch norm with weight 1 and bias 0."""
        native = self._kernels(x)
        return bn(x) if native is None else native.bn(x)

    def node(
        self, parts: Sequence[tuple[str, torch.Tensor]], relu: bool, keep: bool = True
    ) -> tuple[torch.Tensor | None, tuple[torch.Tensor, torch.Tensor] | None]:
        """:func:`node_sum` of ``parts`` and, with ``relu``, its (ReLU, codes) from one pass.

        ``keep=False`` (only with ``relu``: the caller reads the ReLU alone) lets the fused pass
        skip writing the sum; the sum is then None (the eager path returns it all the same).
        """
        if not parts:
            raise ScoringError("internal: a node sum of nothing")
        if not (keep or relu):
            raise ScoringError("internal: a node whose sum and ReLU are both unread")
        native = self._kernels(*(x for _, x in parts))
        if native is None or (len(parts) == 1 and parts[0][0] == "skip"):
            total = node_sum(parts)  # a lone skip: the node is its source, no pass
            return total, self.relu_codes(total) if relu else None
        out, relu_out, codes = native.node(list(parts), relu, keep)
        return out, None if relu_out is None or codes is None else (relu_out, codes)

    def relu_codes(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """ReLU of ``x`` and the codes ``x > 0``."""
        native = self._kernels(x)
        return (F.relu(x), codes_of(x)) if native is None else native.relu_codes(x)

    def bn_relu_codes(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """ReLU of bn(x) and the codes ``bn(x) > 0``."""
        native = self._kernels(x)
        if native is None:
            y = bn(x)
            return F.relu(y), codes_of(y)
        return native.bn_relu_codes(x)

    def bn_codes(self, x: torch.Tensor) -> torch.Tensor:
        """The codes ``bn(x) > 0`` (bn(x) itself is not kept)."""
        native = self._kernels(x)
        return codes_of(bn(x)) if native is None else native.bn_codes(x)

    def max_pool(self, x: torch.Tensor, kernel_size: int) -> torch.Tensor:
        """NAS-Bench-101's 3x3 (stride 1, padding 1) or 2x2 (stride 2, ceil_mode) max pool.

        Unlike the other passes, a CPU tensor in another layout (NB101's channel slices) is
        copied to channels_last and pooled by the C kernel: the copy costs less than PyTorch's
        pool, which also writes indices.
        """
        if kernel_size not in (2, 3):
            raise ScoringError(f"internal: max pool of size {kernel_size}")
        if self.fused and x.device.type == "cpu":
            y = x.contiguous(memory_format=torch.channels_last)
            native = self._kernels(y)
            if native is not None:
                return native.max_pool(y, kernel_size)
        if kernel_size == 3:
            return F.max_pool2d(x, 3, stride=1, padding=1)
        return F.max_pool2d(x, 2, stride=2, ceil_mode=True)

    def codes(self, x: torch.Tensor) -> torch.Tensor:
        """The codes ``x > 0``."""
        native = self._kernels(x)
        return codes_of(x) if native is None else native.relu_codes(x)[1]

    def gram(self, codes: torch.Tensor) -> torch.Tensor | None:
        """G = c cᵀ (int64) of (B, n) 0/1 codes, or None for the float path of tiny layers.

        The C kernels' popcount Gram where they are in use and it is compiled in (AVX-512;
        with AMX only for the row lengths where it is faster), else the int8 matrix product
        (:func:`int8_gram`): the same integers.
        """
        if self.native is not None:
            g = self.native.gram(codes)
            if g is not None:
                return g
        elif self.missing and codes.device.type == "cpu":
            raise ScoringError(self.missing)
        return int8_gram(codes)


def node_sum(parts: Sequence[tuple[str, torch.Tensor]]) -> torch.Tensor:
    """The sum of ``parts`` in order, with PyTorch ops (the eager node).

    (``bn``, x) adds bn(x), (``pool``, x) avg_pool_3x3(x), (``skip``, x) x itself. A lone
    ``skip`` returns x itself (not a copy); nothing in ``parts`` is modified.
    """
    total: torch.Tensor | None = None
    for kind, x in parts:
        out = bn(x) if kind == "bn" else avg_pool_3x3(x) if kind == "pool" else x
        total = out if total is None else total + out
    if total is None:
        raise ScoringError("internal: a node sum of nothing")
    return total


def codes_of(x: torch.Tensor) -> torch.Tensor:
    """``x > 0`` as a boolean (B, n) tensor in channels_last unit order."""
    b = x.shape[0]
    # In channels_last, (B, H, W, C) is the memory order, so this reshape is a view; K does not
    # depend on the order of units.
    flat = x.contiguous(memory_format=torch.channels_last).permute(0, 2, 3, 1).reshape(b, -1)
    if not flat.is_contiguous():
        raise ScoringError("internal: codes are not contiguous")
    # x > 0 on the bits (+0.0 is 0; -0.0 and negatives have the sign bit set; NaN cannot occur
    # after the input check): the integer compare is 1.2x (fp32) to 2x (bf16) faster here.
    int_type = _SAME_WIDTH_INT.get(flat.dtype)
    return flat.view(int_type) > 0 if int_type is not None else flat > 0


def add_codes(acc: Acc, codes: torch.Tensor | None, shape: tuple[int, int, int], mult: int) -> None:
    """Counts ``mult`` ReLU calls with ``codes`` (None: an exactly zero input) of ``shape``."""
    n = math.prod(shape)
    acc.units += mult * n
    acc.calls += mult
    if codes is None:  # an all-zero code agrees with itself on every unit
        acc.constant += mult * n
        return
    g = acc.gram_of(codes)
    if g is None:
        acc.kernel.add_(kernel_update(codes).round_().to(torch.int64), alpha=mult)
        return
    acc.gram.add_(g, alpha=mult)
    acc.diag.add_(g.diagonal(), alpha=mult)
    acc.constant += mult * codes.shape[1]


def avg_pool_3x3(x: torch.Tensor) -> torch.Tensor:
    """3x3 average pool, stride 1, padding 1, padding not counted.

    A depthwise conv with a ones kernel sums the window (about 7x faster than ``avg_pool2d`` in
    channels_last on this CPU), then each position is divided by its window's size. Values match
    ``avg_pool2d`` up to rounding.
    """
    c, h, w = x.shape[1], x.shape[2], x.shape[3]
    ones = torch.ones(c, 1, 3, 3, dtype=x.dtype, device=x.device)
    total = F.conv2d(x, ones.contiguous(memory_format=torch.channels_last), padding=1, groups=c)
    rows = torch.full((h,), 3.0, device=x.device)
    cols = torch.full((w,), 3.0, device=x.device)
    rows[0] -= 1
    rows[-1] -= 1
    cols[0] -= 1
    cols[-1] -= 1
    inverse = (1.0 / (rows[:, None] * cols[None, :])).to(x.dtype)
    if x.dtype != torch.float32:
        # A bf16 product broadcast from (H, W) over channels_last is 4x slower here than one
        # with the map laid out like x (same products, same values).
        inverse = inverse.expand(1, c, h, w).contiguous(memory_format=torch.channels_last)
    return total.mul_(inverse)
