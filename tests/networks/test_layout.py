"""Networks computing in channels_last: the same network up to rounding."""

import pytest
import torch
from torch import nn

from naswot.exceptions import InvalidParameterError
from naswot.networks.layout import (
    LAYOUT_CHOICES,
    LAYOUTS,
    apply_layout,
    check_layout,
    resolve_layout,
)
from naswot.networks.nasbench201 import NB201Network
from naswot.spaces import parse_arch

CELL = parse_arch(
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"
)


def test_layouts_are_named_and_an_unknown_one_is_refused() -> None:
    assert LAYOUTS == ("nchw", "channels_last")
    assert LAYOUT_CHOICES == ("auto", "nchw", "channels_last")
    assert check_layout("channels_last") == "channels_last"
    with pytest.raises(InvalidParameterError, match=r"Unknown layout 'nhwc'\. Choices: nchw, "):
        check_layout("nhwc")
    with pytest.raises(InvalidParameterError, match="Unknown layout 'auto'"):
        check_layout("auto")  # a network computes in a concrete layout
    with pytest.raises(InvalidParameterError, match=r"Choices: auto, nchw, channels_last\."):
        resolve_layout("nhwc")


def test_auto_is_channels_last_on_the_cpu_and_nchw_elsewhere() -> None:
    assert resolve_layout("auto") == resolve_layout("auto", torch.device("cpu")) == "channels_last"
    assert resolve_layout("auto", "cuda") == resolve_layout("auto", "cuda:1") == "nchw"
    assert resolve_layout("auto", "meta") == "nchw"
    for layout in LAYOUTS:
        assert resolve_layout(layout, "cuda") == resolve_layout(layout, "cpu") == layout


def _net(layout: str) -> nn.Module:
    torch.manual_seed(0)
    return apply_layout(NB201Network(CELL, n_classes=10, channels=8, n_cells=1), layout)


def test_channels_last_runs_the_convolutions_in_channels_last_and_agrees_to_rounding() -> None:
    x = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    seen: list[bool] = []

    def record(module: nn.Module, inputs: object, output: torch.Tensor) -> None:
        seen.append(output.is_contiguous(memory_format=torch.channels_last))

    outs = {}
    for layout in LAYOUTS:
        net = _net(layout)
        seen.clear()
        handles = [
            m.register_forward_hook(record) for m in net.modules() if isinstance(m, nn.Conv2d)
        ]
        xx = x.clone().requires_grad_()
        out = net(xx)
        out = out[0] if isinstance(out, tuple) else out
        (grad,) = torch.autograd.grad(out.square().sum(), xx)
        for h in handles:
            h.remove()
        assert all(seen) == (layout == "channels_last") and any(seen) == all(seen), layout
        assert grad.shape == x.shape
        outs[layout] = out.detach(), grad
    torch.testing.assert_close(outs["nchw"][0], outs["channels_last"][0], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(outs["nchw"][1], outs["channels_last"][1], rtol=1e-3, atol=1e-5)
