import math

import numpy as np
import pytest
import torch
from torch import nn

import naswot
from naswot.data import Batch
from naswot.exceptions import InvalidParameterError, ScoringError
from naswot.networks import build_nb201
from naswot.proxies import PROXIES, Naswot, Status, naswot_kernel
from naswot.spaces import NasBench201Space, parse_arch
from naswot.testing import check_proxy
from naswot.testing.reference import reference_kernel, reference_naswot

X = torch.tensor([[1.0, 2.0], [-1.0, 3.0], [2.0, -1.0]])


def linear(weight: list[list[float]], out_bias: float = 0.0) -> nn.Linear:
    w = torch.tensor(weight)
    layer = nn.Linear(w.shape[1], w.shape[0])
    with torch.no_grad():
        layer.weight.copy_(w)
        layer.bias.fill_(out_bias)
    return layer


def one_layer() -> nn.Module:
    return nn.Sequential(linear([[1, 0], [0, 1]]), nn.ReLU(), linear([[1, 1]]))


def two_layers() -> nn.Module:
    return nn.Sequential(
        linear([[1, 0], [0, 1]]), nn.ReLU(), linear([[1, -1], [1, 1]]), nn.ReLU(), linear([[1, 1]])
    )


class AuxHead(nn.Module):
    """A ReLU whose output never reaches the model output (like an auxiliary head)."""

    def __init__(self) -> None:
        super().__init__()
        self.main = one_layer()
        self.aux = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.aux(-x)
        return self.main(x)


def test_golden_one_layer() -> None:
    # By hand: the codes are 11, 01, 10 and N_A = 2, so K has rows 2 1 1 / 1 2 0 / 1 0 2: det 4.
    result = naswot.score(one_layer(), X)
    assert result.status is Status.OK
    assert result.n_units == 2
    assert result.score == pytest.approx(math.log(4.0), abs=1e-12)


def test_golden_two_layers() -> None:
    # layer 2 codes (0,1), (0,1), (1,1); K = [[4,3,2],[3,4,1],[2,1,4]]; det = 20
    kernel, n_units = naswot_kernel(two_layers(), X)
    assert n_units == 4
    assert kernel.tolist() == [[4, 3, 2], [3, 4, 1], [2, 1, 4]]
    assert naswot.score(two_layers(), X).score == pytest.approx(math.log(20.0), abs=1e-12)


def test_gate_drops_relus_off_the_output_path() -> None:
    # the aux codes (0,0), (1,0), (0,1) would double K: det 32 instead of 4
    assert naswot.score(AuxHead(), X).score == pytest.approx(math.log(4.0))
    assert naswot.score(AuxHead(), X, gate=False).score == pytest.approx(math.log(32.0))
    assert reference_naswot(AuxHead(), X) == pytest.approx(math.log(4.0))


def test_duplicate_inputs_are_singular() -> None:
    result = naswot.score(one_layer(), torch.cat([X, X[:1]]))
    assert result.status is Status.SINGULAR
    assert result.score == -math.inf


def test_codes_come_from_relu_inputs_and_zero_counts_inactive() -> None:
    x = torch.tensor([[0.0, 1.0], [1.0, 1.0]])  # exact 0 is inactive: codes (0,1), (1,1)
    kernel, _ = naswot_kernel(one_layer(), x)
    assert kernel.tolist() == [[2, 1], [1, 2]]


def test_official_variant_counts_relu_containers_too() -> None:
    class ReLUBlock(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.act = nn.ReLU()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.act(x)

    model = nn.Sequential(linear([[1, 0], [0, 1]]), ReLUBlock(), linear([[1, 1]]))
    default, _ = naswot_kernel(model, X)
    official, _ = naswot_kernel(model, X, variant="official")
    assert torch.equal(official, 2 * default)


NB201_CELLS = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|none~0|+|avg_pool_3x3~0|none~1|+|none~0|nor_conv_3x3~1|nor_conv_1x1~2|",
    # node 2 is dead (only 'none' leaves it) but its incoming conv ReLUs still count
    "|nor_conv_1x1~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|avg_pool_3x3~1|none~2|",
    # no path from input to output
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|none~0|none~1|none~2|",
]


@pytest.mark.parametrize("arch", NB201_CELLS)
@pytest.mark.parametrize("variant", ["default", "official"])
def test_single_forward_equals_the_official_procedure_on_nb201(arch: str, variant: str) -> None:
    torch.manual_seed(0)
    x = torch.randn(12, 3, 32, 32)
    torch.manual_seed(1)
    net = build_nb201(parse_arch(arch))
    net.train()
    select = (
        (lambda m: "ReLU" in str(type(m)))
        if variant == "official"
        else (lambda m: isinstance(m, nn.ReLU))
    )
    reference = reference_kernel(net, x, select)
    fast, _ = naswot_kernel(net, x, variant=variant, gate=False)
    gated, _ = naswot_kernel(net, x, variant=variant, gate=True)
    np.testing.assert_array_equal(fast.numpy(), reference)
    np.testing.assert_array_equal(gated.numpy(), reference)
    result = Naswot(variant)(net, Batch(x))
    assert result.score == pytest.approx(reference_naswot(net, x, variant=variant), abs=1e-6)


def test_official_variant_adds_about_b_log_2_on_nb201() -> None:
    torch.manual_seed(0)
    x = torch.randn(32, 3, 32, 32)
    net = build_nb201(parse_arch(NB201_CELLS[0]))
    diff = naswot.score(net, x, variant="official").score - naswot.score(net, x).score
    assert diff == pytest.approx(32 * math.log(2), rel=0.05)


def test_channels_last_input_gives_the_same_kernel() -> None:
    # The official code's .view() fails silently on such inputs (every score -inf).
    torch.manual_seed(0)
    x = torch.randn(8, 3, 32, 32)
    direct = nn.Sequential(nn.ReLU(), nn.Flatten(), nn.Linear(3 * 32 * 32, 1))
    a, _ = naswot_kernel(direct, x)
    b, _ = naswot_kernel(direct, x.to(memory_format=torch.channels_last))
    assert torch.equal(a, b)
    net = build_nb201(parse_arch(NB201_CELLS[1])).train()
    a, n = naswot_kernel(net, x)
    b, _ = naswot_kernel(net, x.to(memory_format=torch.channels_last))
    # another conv algorithm may flip pre-activations within rounding of zero, nothing more
    assert float((a - b).abs().max()) <= 1e-4 * n


def test_scoring_leaves_the_model_as_it_was() -> None:
    torch.manual_seed(0)
    net = build_nb201(parse_arch(NB201_CELLS[0])).eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    naswot.score(net, torch.randn(4, 3, 32, 32))
    assert not net.training
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert all(not m._forward_hooks for m in net.modules())


def test_batchnorm_runs_in_train_mode() -> None:
    torch.manual_seed(0)
    net = build_nb201(parse_arch(NB201_CELLS[0]))
    x = torch.randn(8, 3, 32, 32)
    train_mode = naswot.score(net, x).score
    assert naswot.score(net.eval(), x).score == train_mode


def test_model_without_relu_modules_has_status_no_relu() -> None:
    class Functional(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(2, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(torch.relu(x))

    with pytest.raises(ScoringError, match="functional"):
        naswot.score(Functional(), X)
    result = naswot.score(Functional(), X, on_error="record")
    assert result.status is Status.NO_RELU and result.score is None
    assert "ReLU" in (result.error or "")
    no_relu = nn.Sequential(nn.Linear(2, 4))  # no rectifier at all
    assert naswot.score(no_relu, X, on_error="record").status is Status.NO_RELU


def test_hooks_that_never_fire_are_an_error() -> None:
    class Unused(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(2, 1)
            self.act = nn.ReLU()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(x)

    with pytest.raises(ScoringError, match="never fired"):
        naswot.score(Unused(), X)


def test_bad_batches_are_errors() -> None:
    with pytest.raises(ScoringError, match="at least 2"):
        naswot.score(one_layer(), X[:1])
    with pytest.raises(ScoringError, match="NaN"):
        naswot.score(one_layer(), torch.tensor([[1.0, float("nan")], [1.0, 2.0]]))
    with pytest.raises(ScoringError, match="RuntimeError"):
        naswot.score(one_layer(), torch.randn(3, 5))  # wrong input width


def test_unknown_variant_and_policy() -> None:
    with pytest.raises(InvalidParameterError, match="variant"):
        Naswot("paper")
    with pytest.raises(InvalidParameterError, match="on_error"):
        naswot.score(one_layer(), X, on_error="ignore")  # type: ignore[arg-type]


def test_tuple_outputs_use_the_first_tensor() -> None:
    class Pair(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = one_layer()

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return self.body(x), x

    assert naswot.score(Pair(), X).score == pytest.approx(math.log(4.0))


# The other registered proxies are checked in test_zero_cost_conformance.py (with labels).
@pytest.mark.parametrize("name", ["naswot"])
def test_registered_proxies_conform(name: str) -> None:
    factory = PROXIES.get(name)
    cell = NasBench201Space().sample(np.random.default_rng(0))
    x = Batch(torch.randn(6, 3, 16, 16))

    def make() -> nn.Module:
        torch.manual_seed(0)
        return build_nb201(cell)

    for variant in factory.variants:
        check_proxy(factory(variant), make, x)
