"""DARTS-style networks of the NDS cell spaces.

Networks are built and scored at reduced width (2-4), depth (3-5) and input size (16x16 for
CIFAR, 32x32 for ImageNet) with batches of 4, to keep the tests fast on CPU; the layout does
not depend on these sizes.
"""

import numpy as np
import pytest
import torch
from torch import nn

import naswot
from naswot.networks.nds import (
    OPERATIONS,
    FactorizedReduce,
    NdsNetwork,
    build_nds_cifar,
    build_nds_imagenet,
)
from naswot.proxies.naswot import naswot_kernel
from naswot.spaces.nds import (
    ALL_OPS,
    CELL_SPACES,
    DEFAULT_DEPTH,
    DEFAULT_WIDTH,
    NdsCellArch,
    NdsCellSpace,
    NdsDartsSpace,
)
from naswot.testing.fixtures import tiny_genotype

SPACES = [cls() for cls in CELL_SPACES]


def _n_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_parameter_count_of_a_hand_checked_network() -> None:
    """Width 4, depth 3 (cells: normal, reduce, reduce), max pooling only, 1 output.

    stem 3->12 conv3x3 + BN: 324 + 24 = 348; cell 0 (C=4): two ReLUConvBN 12->4: 2 * (48 + 8)
    = 112; cell 1 (C=8, reduce): 12->8 and 16->8: (96 + 16) + (128 + 16) = 256; cell 2 (C=16,
    reduce after reduce): FactorizedReduce 16->16: 2 * 16 * 8 + 32 = 288, ReLUConvBN 32->16:
    512 + 32 = 544; classifier 64 -> 1: 65. Total 1613.
    """
    assert _n_params(NdsNetwork(tiny_genotype("max_pool_3x3"), width=4, depth=3)) == 1613


def test_parameter_count_of_a_separable_conv() -> None:
    """sep_conv k x k on C channels: twice (C k^2 depthwise + C^2 pointwise + 2C BN)."""
    for k, c in ((3, 4), (5, 6), (7, 2)):
        assert _n_params(OPERATIONS[f"sep_conv_{k}x{k}"](c, 1)) == 2 * (c * k * k + c * c + 2 * c)
    assert _n_params(OPERATIONS["dil_conv_3x3"](4, 1)) == 4 * 9 + 16 + 8


@pytest.mark.parametrize("op", ALL_OPS)
@pytest.mark.parametrize("size", [8, 7])
def test_every_op_keeps_or_halves_the_resolution(op: str, size: int) -> None:
    x = torch.randn(2, 4, size, size)
    assert OPERATIONS[op](4, 1)(x).shape == x.shape
    half = (size + 1) // 2
    assert OPERATIONS[op](4, 2)(x).shape == (2, 4, half, half)


def test_factorized_reduce_matches_the_darts_slice_on_even_sizes() -> None:
    torch.manual_seed(0)
    fr = FactorizedReduce(4, 6).eval()
    x = torch.randn(2, 4, 8, 8)
    relu = torch.relu(x)
    expected = torch.cat([fr.conv_1(relu), fr.conv_2(relu[:, :, 1:, 1:])], dim=1)
    torch.testing.assert_close(fr(x), fr.bn(expected))


@pytest.mark.parametrize("space", SPACES, ids=lambda s: s.name)
@pytest.mark.parametrize("imagenet", [False, True], ids=["cifar", "imagenet"])
def test_sampled_networks_build_and_score_finitely(space: NdsCellSpace, imagenet: bool) -> None:
    """Each space's sampled genotype at width 2, depth 5, on 4 inputs of 16x16 (32x32)."""
    arch = NdsCellArch(space.sample(np.random.default_rng(0)).genotype, width=2, depth=5)
    torch.manual_seed(0)
    net = (build_nds_imagenet if imagenet else build_nds_cifar)(arch, n_classes=3)
    x = torch.randn(4, 3, 32 if imagenet else 16, 32 if imagenet else 16)
    assert net.eval()(x).shape == (4, 3)
    result = naswot.score(net, x)
    assert result.status.value == "ok" and np.isfinite(result.score)
    assert result.n_activations is not None and result.n_activations > 0


def test_defaults_apply_when_the_key_has_no_width_or_depth() -> None:
    net = build_nds_cifar(NdsCellArch(tiny_genotype("skip_connect")))
    assert len(net.cells) == DEFAULT_DEPTH
    assert net.stem0[0].out_channels == 3 * DEFAULT_WIDTH
    net = build_nds_cifar(NdsCellArch(tiny_genotype("skip_connect"), width=6, depth=4))
    assert len(net.cells) == 4 and net.stem0[0].out_channels == 18


def test_reductions_at_one_and_two_thirds() -> None:
    net = NdsNetwork(tiny_genotype("sep_conv_3x3"), width=4, depth=6)
    x = torch.randn(2, 3, 16, 16)
    sizes = []
    s0 = s1 = net.stem0(x)
    for cell in net.cells:
        s0, s1 = s1, cell(s0, s1)
        sizes.append((s1.shape[1], s1.shape[2]))
    # 4 concatenated nodes of C channels; C doubles at cells 2 and 4
    assert sizes == [(16, 16), (16, 16), (32, 8), (32, 8), (64, 4), (64, 4)]


def test_every_relu_is_a_module() -> None:
    """Codes are read from nn.ReLU modules: each cell's sep convs contribute ReLU calls."""
    net = NdsNetwork(tiny_genotype("sep_conv_3x3"), width=2, depth=3)
    n_relus = sum(isinstance(m, nn.ReLU) for m in net.modules())
    assert n_relus == 3 * (2 + 8 * 2)  # per cell: 2 preprocessing + 8 ops x 2 halves
    result = naswot.score(net, torch.randn(4, 3, 16, 16))
    assert result.n_activations == n_relus


def test_auxiliary_head_relus_are_excluded_by_the_gate() -> None:
    """The aux head's ReLUs run in train mode but are off the output path: the gated kernel
    equals that of the same network without the head; ungated, the head's units are added."""
    arch = NdsCellArch(tiny_genotype("sep_conv_3x3"), width=2, depth=3)
    x = torch.randn(4, 3, 32, 32)
    torch.manual_seed(0)
    plain = build_nds_cifar(arch).train()
    torch.manual_seed(0)
    aux = build_nds_cifar(arch, auxiliary=True).train()
    assert aux.auxiliary_head is not None
    assert not aux.naswot_all_activations_on_output_path
    out = aux(x)
    assert isinstance(out, tuple) and out[0].shape == out[1].shape == (4, 1)
    assert isinstance(aux.eval()(x), torch.Tensor)
    aux.train()
    k_plain, n_plain = naswot_kernel(plain, x, gate=True)
    k_aux, n_aux = naswot_kernel(aux, x, gate=True)
    _, n_all = naswot_kernel(aux, x, gate=False)
    assert torch.equal(k_plain, k_aux) and n_plain == n_aux
    # the head reads cell 2 (C=8, 4 nodes: 32 channels at 8x8); its ReLUs see 32 x 8 x 8,
    # 128 x 2 x 2 and 768 x 1 x 1 units
    assert n_all - n_aux == 32 * 8 * 8 + 128 * 2 * 2 + 768
    assert naswot.score(aux, x).score == naswot.score(plain, x).score


def test_all_on_path_flag_is_exact() -> None:
    """Without aux head, the flag is True iff both cells read both inputs; when True the gate
    changes nothing, when False it drops the unread input's preprocessing ReLU."""
    x = torch.randn(4, 3, 16, 16)
    uses_both = NdsNetwork(tiny_genotype("sep_conv_3x3"), width=2, depth=3).train()
    assert uses_both.naswot_all_activations_on_output_path
    k_gate, n_gate = naswot_kernel(uses_both, x, gate=True)
    k_free, n_free = naswot_kernel(uses_both, x, gate=False)
    assert torch.equal(k_gate, k_free) and n_gate == n_free
    no_input_0 = NdsNetwork(
        tiny_genotype("sep_conv_3x3", (1, 1, 2, 1, 3, 2, 4, 1)), width=2, depth=3
    )
    assert not no_input_0.naswot_all_activations_on_output_path
    _, n_gate = naswot_kernel(no_input_0.train(), x, gate=True)
    _, n_free = naswot_kernel(no_input_0, x, gate=False)
    assert n_gate < n_free


def test_invalid_sizes_are_refused() -> None:
    with pytest.raises(naswot.exceptions.InvalidParameterError, match="'depth'"):
        NdsNetwork(tiny_genotype("none"), depth=1)
    with pytest.raises(naswot.exceptions.InvalidParameterError, match="'width'"):
        NdsNetwork(tiny_genotype("none"), width=0)


@pytest.mark.slow
def test_darts_space_at_default_size_on_cifar_inputs() -> None:
    """A few DARTS genotypes at the default width and depth on 32x32 inputs."""
    space = NdsDartsSpace()
    rng = np.random.default_rng(1)
    x = torch.randn(16, 3, 32, 32)
    for _ in range(3):
        result = naswot.score(build_nds_cifar(space.sample(rng)), x)
        assert result.status.value == "ok" and np.isfinite(result.score)


def test_every_op_of_the_spaces_is_built_as_pycls_builds_it() -> None:
    """Parameter counts of the ops of pycls's operations.py on C channels (BN: 2C)."""
    assert set(OPERATIONS) == set(ALL_OPS)
    c = 4
    expected = {
        "conv_1x1": c * c + 2 * c,  # ReLU, conv, BN
        "conv_3x3": 9 * c * c + 2 * c,
        "conv_3x1_1x3": 2 * 3 * c * c + 2 * c,  # ReLU, 1 x k conv, k x 1 conv, BN
        "conv_7x1_1x7": 2 * 7 * c * c + 2 * c,
        "dil_conv_5x5": 25 * c + c * c + 2 * c,  # ReLU, dilated depthwise, pointwise, BN
        "dil_sep_conv_3x3": 2 * (9 * c + c * c + 2 * c),  # that twice
    }
    for op, n in expected.items():
        assert _n_params(OPERATIONS[op](c, 1)) == n, op
    parameter_free = ("none", "skip_connect", "avg_pool_3x3", "max_pool_3x3", "max_pool_5x5")
    assert all(_n_params(OPERATIONS[op](c, 1)) == 0 for op in (*parameter_free, "max_pool_7x7"))
