"""The NAS-Bench-101 network, built as the benchmark builds it (Ying et al., ICML 2019).

Skeleton: a 3x3 conv-BN-ReLU stem (``stem_channels``, 128 in the benchmark); 3 stacks of 3 cells;
a 2x2 max-pool (stride 2) before the second and third stacks, each doubling the channels; global
average pooling; a linear head. Inside a cell (``model_builder.build_module`` of the benchmark):

* the cell's output channels are split evenly among the vertices that feed the output (the first
  ``C mod k`` of them get one more); every other inner vertex gets the largest channel count of
  the vertices it feeds;
* an inner vertex sums its inputs: the cell input through its own 1x1 conv-BN-ReLU projection,
  and earlier vertices truncated to its channel count (their first channels);
* the output concatenates the vertices feeding it, plus a projection of the cell input when the
  input -> output edge exists (only that projection when no inner vertex feeds the output).

Operations: conv3x3/conv1x1 are conv (no bias) -> BN (eps 1e-5, momentum 0.003 = TF's 0.997) ->
ReLU; maxpool3x3 has stride 1 and 'same' padding. Every ReLU is an ``nn.ReLU`` module.
Initialisation follows the benchmark's TensorFlow defaults: convolutions from a truncated normal
with variance 1/fan_in (``variance_scaling_initializer``), the head Glorot-uniform with zero bias.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from naswot.exceptions import InvalidParameterError
from naswot.spaces.nasbench101 import CONV1X1, CONV3X3, MAXPOOL3X3, Spec101, is_valid, prune

__all__ = ["Cell101", "ConvBNReLU", "NB101Network", "build_nb101", "vertex_channels"]

_BN_MOMENTUM = 1.0 - 0.997  # TF's decay 0.997 as PyTorch's momentum
# A truncated normal (at 2 std) has std 0.8796 of the untruncated one; TF corrects for it.
_TRUNCATED_STD = 0.87962566103423978


class ConvBNReLU(nn.Module):
    """Conv(k x k, stride 1, 'same', no bias) -> BatchNorm -> ReLU: the benchmark's conv unit."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int) -> None:
        super().__init__()
        self.op = nn.Sequential(
            nn.Conv2d(c_in, c_out, kernel_size, padding=kernel_size // 2, bias=False),
            nn.BatchNorm2d(c_out, eps=1e-5, momentum=_BN_MOMENTUM),
            nn.ReLU(inplace=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Applies convolution, BatchNorm and ReLU."""
        return self.op(x)  # type: ignore[no-any-return]


def vertex_channels(c_in: int, c_out: int, matrix: tuple[tuple[int, ...], ...]) -> list[int]:
    """The output channels of every vertex of a pruned cell, by the benchmark's rules.

    Args:
        c_in: the channels of the cell input (vertex 0).
        c_out: the channels of the cell output (the last vertex).
        matrix: the pruned adjacency matrix.

    Returns:
        One channel count per vertex; the input's is ``c_in`` and the output's ``c_out``.
    """
    n = len(matrix)
    channels = [0] * n
    channels[0], channels[-1] = c_in, c_out
    feeding = [v for v in range(1, n - 1) if matrix[v][n - 1]]
    if not feeding:
        return channels
    share, extra = divmod(c_out, len(feeding))
    for k, v in enumerate(feeding):
        channels[v] = share + (1 if k < extra else 0)
    for v in range(n - 3, 0, -1):
        if not matrix[v][n - 1]:
            channels[v] = max(channels[w] for w in range(v + 1, n - 1) if matrix[v][w])
    return channels


class Cell101(nn.Module):
    """One NAS-Bench-101 cell ("module") for a pruned, valid spec.

    Args:
        spec: the pruned cell.
        c_in: channels of the cell input.
        c_out: channels of the cell output.
    """

    def __init__(self, spec: Spec101, c_in: int, c_out: int) -> None:
        super().__init__()
        m = spec.matrix
        n = spec.n_vertices
        self.spec = spec
        self.channels = vertex_channels(c_in, c_out, m)
        # Module dicts keyed by vertex number; the output vertex's projection is "out".
        self.projections = nn.ModuleDict()
        self.vertex_ops = nn.ModuleDict()
        for t in range(1, n - 1):
            c = self.channels[t]
            if m[0][t]:
                self.projections[str(t)] = ConvBNReLU(c_in, c, 1)
            op = spec.ops[t]
            if op == CONV3X3:
                self.vertex_ops[str(t)] = ConvBNReLU(c, c, 3)
            elif op == CONV1X1:
                self.vertex_ops[str(t)] = ConvBNReLU(c, c, 1)
            elif op == MAXPOOL3X3:
                self.vertex_ops[str(t)] = nn.MaxPool2d(3, stride=1, padding=1)
        if m[0][n - 1]:
            self.projections["out"] = ConvBNReLU(c_in, c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The cell output, shape (B, c_out, H, W)."""
        m = self.spec.matrix
        n = self.spec.n_vertices
        values: list[torch.Tensor] = [x]
        concat: list[torch.Tensor] = []
        for t in range(1, n - 1):
            c = self.channels[t]
            inputs = [values[s][:, :c] for s in range(1, t) if m[s][t]]
            if m[0][t]:
                inputs.append(self.projections[str(t)](x))
            total = inputs[0]
            for more in inputs[1:]:
                total = total + more
            values.append(self.vertex_ops[str(t)](total))
            if m[t][n - 1]:
                concat.append(values[t])
        if not concat:
            return self.projections["out"](x)  # type: ignore[no-any-return]
        out = concat[0] if len(concat) == 1 else torch.cat(concat, dim=1)
        if m[0][n - 1]:
            out = out + self.projections["out"](x)
        return out


class NB101Network(nn.Module):
    """The NAS-Bench-101 network for one cell.

    Args:
        spec: the cell (pruned here if needed); must be valid.
        n_classes: outputs of the linear head (1 when scoring, as the NASWOT code does).
        stem_channels: width of the stem and the first stack (128 in the benchmark, 16 in the
            official NASWOT code).
        n_stacks: stacks of cells (3 in the benchmark).
        n_cells: cells per stack (3 in the benchmark).

    Raises:
        InvalidParameterError: if the cell is not valid or a size is not a positive int.
    """

    # The cell is pruned, so every vertex lies on an input -> output path; every ReLU belongs to
    # the stem, a projection into a vertex or the output, or a vertex's convolution, and its
    # output reaches the logits (truncation keeps the first channels, which are used). So the
    # official forward-backward gate keeps all of them; tests/networks check this claim.
    naswot_all_activations_on_output_path = True

    def __init__(
        self,
        spec: Spec101,
        *,
        n_classes: int = 1,
        stem_channels: int = 128,
        n_stacks: int = 3,
        n_cells: int = 3,
    ) -> None:
        super().__init__()
        for name, value in (
            ("n_classes", n_classes),
            ("stem_channels", stem_channels),
            ("n_stacks", n_stacks),
            ("n_cells", n_cells),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InvalidParameterError(
                    f"The '{name}' parameter of NB101Network must be an int >= 1. "
                    f"Got {value!r} instead."
                )
        if not is_valid(spec):
            raise InvalidParameterError(
                "The 'spec' parameter of NB101Network must be a valid NAS-Bench-101 cell "
                "(an input -> output path, at most 9 edges after pruning)."
            )
        self.spec = prune(spec)
        self.stem = ConvBNReLU(3, stem_channels, 3)
        layers: list[nn.Module] = []
        c_prev = c = stem_channels
        for stack in range(n_stacks):
            if stack > 0:
                # TF 'same' padding: odd sizes round up, as with ceil_mode.
                layers.append(nn.MaxPool2d(2, stride=2, ceil_mode=True))
                c *= 2
            for _ in range(n_cells):
                layers.append(Cell101(self.spec, c_prev, c))
                c_prev = c
        self.cells = nn.Sequential(*layers)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, n_classes)
        self._init_like_benchmark()

    def _init_like_benchmark(self) -> None:
        with torch.no_grad():
            for module in self.modules():
                if isinstance(module, nn.Conv2d):
                    fan_in = module.in_channels * math.prod(module.kernel_size)
                    std = math.sqrt(1.0 / fan_in) / _TRUNCATED_STD
                    nn.init.trunc_normal_(module.weight, std=std, a=-2 * std, b=2 * std)
                elif isinstance(module, nn.Linear):
                    nn.init.xavier_uniform_(module.weight)
                    nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The logits, shape (B, n_classes)."""
        features = self.cells(self.stem(x))
        return self.classifier(self.global_pooling(features).flatten(1))  # type: ignore[no-any-return]


def build_nb101(spec: Spec101, *, n_classes: int = 1) -> NB101Network:
    """Builds the network that NASWOT scores for a NAS-Bench-101 cell.

    Uses a stem of 16 channels, as the official NASWOT code does (``--stem_out_channels 16``);
    the benchmark trained its networks with 128 (``NB101Network(spec, stem_channels=128)``).
    Everything else is the benchmark's skeleton: 3 stacks of 3 cells.
    """
    return NB101Network(spec, n_classes=n_classes, stem_channels=16)
