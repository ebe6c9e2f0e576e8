"""CUDA path: skipped where torch.cuda.is_available() is false (the CPU CI machine)."""

import pytest
import torch

import naswot
from naswot.networks import build_nb201
from naswot.spaces import parse_arch

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|none~2|"


@pytest.mark.gpu
def test_cuda_scores_match_cpu() -> None:
    torch.manual_seed(0)
    x = torch.randn(64, 3, 32, 32)
    net = build_nb201(parse_arch(ARCH))
    cpu = naswot.score(net, x).score
    gpu = naswot.score(net.cuda(), x)  # the batch follows the model's device
    assert gpu.score is not None and cpu is not None
    # conv algorithms may flip signs of pre-activations within rounding of zero
    assert abs(gpu.score - cpu) < 1e-3
    assert next(net.parameters()).is_cuda
