"""Hand-checked values of every zero-cost proxy on tiny networks with fixed weights.

The expected values come from NumPy re-derivations written out here (manual back-propagation,
finite differences, explicit loops), never from the code under test.
"""

import math

import numpy as np
import pytest
import torch
from torch import nn

from naswot.data import Batch
from naswot.exceptions import InvalidParameterError, ScoringError
from naswot.proxies import (
    PROXIES,
    EpeNas,
    Epsinas,
    Fisher,
    Flops,
    GradNorm,
    Grasp,
    JacobCov,
    L2Norm,
    LinearRegions,
    Meco,
    Naswot,
    Ntk,
    Params,
    Plain,
    Snip,
    Status,
    Swap,
    Synflow,
    Zen,
    Zico,
)
from naswot.proxies.epsinas import epsinas_score
from naswot.proxies.zen import zen_score

W1 = np.array([[1.0, -1.0, 0.5], [0.5, 1.0, -1.0], [-0.5, 0.5, 1.0]])
B1 = np.array([0.1, -0.2, 0.0])
W2 = np.array([[1.0, -0.5, 0.25], [-0.5, 1.0, 1.0]])
B2 = np.array([0.0, 0.1])
X = np.array([[1.0, 0.5, -0.5], [-1.0, 1.0, 0.5], [0.5, -1.0, 1.0], [-0.5, 1.5, 0.2]])
Y = np.array([0, 1, 1, 0])


def linear(w: np.ndarray, b: np.ndarray | None) -> nn.Linear:
    layer = nn.Linear(w.shape[1], w.shape[0], bias=b is not None)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(w))
        if b is not None:
            layer.bias.copy_(torch.tensor(b))
    return layer


def mlp() -> nn.Module:
    return nn.Sequential(linear(W1, B1), nn.ReLU(), linear(W2, B2))


def batch(x: np.ndarray = X, y: np.ndarray | None = Y) -> Batch:
    return Batch(
        torch.tensor(x, dtype=torch.float32),
        targets=None if y is None else torch.tensor(y, dtype=torch.int64),
    )


def softmax(o: np.ndarray) -> np.ndarray:
    e = np.exp(o - o.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def backprop(w1: np.ndarray, w2: np.ndarray, x: np.ndarray, y: np.ndarray, *, mean: bool = True):
    """Forward and manual backward of the MLP with cross-entropy (mean or summed over images)."""
    z1 = x @ w1.T + B1
    h = np.maximum(z1, 0.0)
    o = h @ w2.T + B2
    d_o = softmax(o) - np.eye(o.shape[1])[y]
    if mean:
        d_o = d_o / x.shape[0]
    d_z1 = (d_o @ w2) * (z1 > 0)
    return {"z1": z1, "o": o, "dW1": d_z1.T @ x, "dW2": d_o.T @ h, "dz1": d_z1, "do": d_o}


def score(proxy, model: nn.Module, b: Batch) -> float:
    result = proxy(model, b)
    assert result.status is Status.OK
    return float(result)


# -- size baselines ----------------------------------------------------------------------------


def test_params_counts_every_parameter() -> None:
    assert score(Params(), mlp(), batch()) == 3 * 3 + 3 + 2 * 3 + 2


def test_flops_counts_multiply_adds_per_image() -> None:
    assert score(Flops(), mlp(), batch()) == 3 * 3 + 3 * 2
    conv = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, groups=1), nn.Conv2d(4, 4, 1, groups=2))
    # 4x8x8 outputs from 3 channels x 3x3 kernels, then 4x8x8 outputs from 2 channels x 1x1
    expected = 4 * 64 * 3 * 9 + 4 * 64 * 2
    assert score(Flops(), conv, Batch(torch.randn(5, 3, 8, 8))) == expected


def test_l2_norm_sums_layer_norms() -> None:
    assert score(L2Norm(), mlp(), batch()) == pytest.approx(
        np.linalg.norm(W1) + np.linalg.norm(W2), rel=1e-6
    )


# -- gradient saliencies -----------------------------------------------------------------------


def test_snip_plain_grad_norm_match_manual_backprop() -> None:
    g = backprop(W1, W2, X, Y)
    snip = np.abs(g["dW1"] * W1).sum() + np.abs(g["dW2"] * W2).sum()
    plain = (g["dW1"] * W1).sum() + (g["dW2"] * W2).sum()
    grad_norm = np.linalg.norm(g["dW1"]) + np.linalg.norm(g["dW2"])
    assert score(Snip(), mlp(), batch()) == pytest.approx(snip, rel=1e-5)
    assert score(Plain(), mlp(), batch()) == pytest.approx(plain, rel=1e-5, abs=1e-7)
    assert score(GradNorm(), mlp(), batch()) == pytest.approx(grad_norm, rel=1e-5)


def test_grasp_matches_finite_difference_hessian_gradient_product() -> None:
    g = backprop(W1, W2, X, Y)
    v1, v2 = g["dW1"], g["dW2"]
    eps = 1e-5
    up = backprop(W1 + eps * v1, W2 + eps * v2, X, Y)
    down = backprop(W1 - eps * v1, W2 - eps * v2, X, Y)
    hg1 = (up["dW1"] - down["dW1"]) / (2 * eps)
    hg2 = (up["dW2"] - down["dW2"]) / (2 * eps)
    expected = -(W1 * hg1).sum() - (W2 * hg2).sum()
    assert score(Grasp(), mlp(), batch()) == pytest.approx(expected, rel=1e-3)


def test_fisher_per_channel_uses_each_images_own_loss_gradient() -> None:
    g = backprop(W1, W2, X, Y, mean=False)
    expected = 0.5 * ((g["z1"] * g["dz1"]) ** 2).mean(0).sum()
    expected += 0.5 * ((g["o"] * g["do"]) ** 2).mean(0).sum()
    assert score(Fisher("per_channel"), mlp(), batch()) == pytest.approx(expected, rel=1e-5)


def test_fisher_default_is_foresights_mean_loss_weighted_by_fan_in() -> None:
    g = backprop(W1, W2, X, Y)  # the mean cross-entropy: gradients 1/N of each image's own
    layer1 = 0.5 * ((g["z1"] * g["dz1"]) ** 2).mean(0).sum()
    layer2 = 0.5 * ((g["o"] * g["do"]) ** 2).mean(0).sum()
    expected = W1.shape[1] * layer1 + W2.shape[1] * layer2  # each channel copied over its fan-in
    assert score(Fisher(), mlp(), batch()) == pytest.approx(expected, rel=1e-5)
    per_image = backprop(W1, W2, X, Y, mean=False)
    n = X.shape[0]  # the reduction is a constant factor 1/N^2 per layer
    assert layer1 == pytest.approx(
        0.5 * ((per_image["z1"] * per_image["dz1"]) ** 2).mean(0).sum() / n**2
    )


class Hidden(nn.Module):
    """Runs ``inner`` without making it a submodule, so no proxy hook sees its calls."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = [inner]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner[0](x)


def test_fisher_weights_a_convolution_by_c_in_k_k() -> None:
    torch.manual_seed(0)
    conv, head = nn.Conv2d(3, 4, 3, padding=1), nn.Linear(4 * 25, 3)
    b = Batch(torch.randn(6, 3, 5, 5), targets=torch.tensor([0, 1, 2, 0, 1, 2]))
    # each layer's per-channel Fisher alone (summed loss), scaled to the mean loss by 1/N^2
    conv_only = nn.Sequential(conv, nn.Flatten(), Hidden(head))
    head_only = nn.Sequential(Hidden(conv), nn.Flatten(), head)
    f_conv, f_head = (score(Fisher("per_channel"), m, b) / 6**2 for m in (conv_only, head_only))
    expected = 3 * 3 * 3 * f_conv + 4 * 25 * f_head
    got = score(Fisher(), nn.Sequential(conv, nn.Flatten(), head), b)
    assert got == pytest.approx(expected, rel=1e-5)


def test_zico_splits_the_batch_in_two() -> None:
    halves = [backprop(W1, W2, X[i : i + 2], Y[i : i + 2]) for i in (0, 2)]
    expected = 0.0
    for key in ("dW1", "dW2"):
        a, b = halves[0][key], halves[1][key]
        mean_abs = (np.abs(a) + np.abs(b)) / 2
        std = np.abs(a - b) / 2  # population std of two values
        keep = std > 0
        expected += math.log((mean_abs[keep] / std[keep]).sum())
    assert score(Zico(), mlp(), batch()) == pytest.approx(expected, rel=1e-4)


# -- Jacobian and NTK --------------------------------------------------------------------------


def jacobians(x: np.ndarray) -> np.ndarray:
    """d(sum of the two outputs)/dx per image: W1^T ((W2^T 1) * relu'(z1))."""
    z1 = x @ W1.T + B1
    return ((W2.sum(0) * (z1 > 0)) @ W1).reshape(len(x), -1)


def test_jacob_cov_matches_the_v1_formula() -> None:
    lam = np.linalg.eigvalsh(np.corrcoef(jacobians(X)))
    expected = -np.sum(np.log(lam + 1e-5) + 1 / (lam + 1e-5))
    assert score(JacobCov(), mlp(), batch()) == pytest.approx(expected, rel=1e-4)


def test_epe_nas_sums_per_class_log_correlations() -> None:
    j = jacobians(X)
    expected = 0.0
    for c in (0, 1):
        labels = Y
        corr = np.corrcoef(j[labels == c])
        expected += abs(np.log(np.abs(corr) + 1e-5).sum())
    assert score(EpeNas(), mlp(), batch()) == pytest.approx(expected, rel=1e-4)


def test_ntk_condition_number_of_weight_gradients() -> None:
    z1 = X @ W1.T + B1
    h = np.maximum(z1, 0)
    rows = []
    for i in range(len(X)):
        d_w1 = np.outer(W2.sum(0) * (z1[i] > 0), X[i])  # d(o_i1 + o_i2)/dW1
        d_w2 = np.tile(h[i], (2, 1))  # d(o_i1 + o_i2)/dW2
        rows.append(np.concatenate([d_w1.ravel(), d_w2.ravel()]))
    lam = np.linalg.eigvalsh(np.array(rows) @ np.array(rows).T)
    proxy = Ntk()
    assert not proxy.higher_is_better
    assert score(proxy, mlp(), batch()) == pytest.approx(lam[-1] / lam[0], rel=1e-3)


# -- activation patterns -----------------------------------------------------------------------

X_PATTERNS = np.array([[1.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


def test_linear_regions_counts_distinct_sample_patterns() -> None:
    codes = X_PATTERNS @ W1.T + B1 > 0
    expected = len({tuple(c) for c in codes})
    assert expected == 3  # the first two inputs share a pattern
    assert score(LinearRegions(), mlp(), batch(X_PATTERNS, None)) == expected


def test_swap_counts_distinct_unit_patterns() -> None:
    codes = X @ W1.T + B1 > 0  # (samples, units)
    expected = len({tuple(col) for col in codes.T})
    assert score(Swap(), mlp(), batch(X, None)) == expected
    # two chunks of two samples: the mean of the two counts
    halves = [len({tuple(col) for col in codes[i : i + 2].T}) for i in (0, 2)]
    assert score(Swap(n_samples=2), mlp(), batch(X, None)) == sum(halves) / 2


@pytest.mark.parametrize("n", [1, 7, 16, 20, 21])
def test_swap_flag_table_and_sort_count_the_same_patterns(
    n: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from naswot.proxies import swap as swap_module

    g = torch.Generator().manual_seed(n)
    torch.manual_seed(n)
    net = nn.Sequential(nn.Conv2d(3, 6, 3), nn.ReLU(), nn.Conv2d(6, 4, 1), nn.ReLU())
    x = torch.randn(n, 3, 6, 6, generator=g)
    counts = {swap_module.swap_score(net, x)}
    monkeypatch.setattr(swap_module, "_TABLE_BITS", 0)  # every N takes the sort
    counts.add(swap_module.swap_score(net, x))
    assert len(counts) == 1 and counts.pop() > 1


# -- data-free proxies -------------------------------------------------------------------------


def test_synflow_on_absolute_weights_and_ones() -> None:
    a1, a2 = np.abs(W1), np.abs(W2)
    h = a1 @ np.ones(3) + np.abs(B1)  # all positive, so the ReLU passes everything
    d_w2 = np.tile(h, (2, 1))
    d_w1 = np.outer(a2.sum(0), np.ones(3))
    expected = (d_w1 * a1).sum() + (d_w2 * a2).sum()
    model = mlp()
    before = model[0].weight.detach().clone()
    # float32 weights such as 0.1 are not exact in float64: agreement to float32 precision
    assert score(Synflow(), model, batch()) == pytest.approx(expected, rel=1e-7)
    assert torch.equal(model[0].weight, before)  # not modified


def test_synflow_overflow_is_an_error() -> None:
    # finite float32 weights (1e120 would be inf already, which every proxy refuses as broken)
    model = nn.Sequential(*[linear(np.full((3, 3), 1e30), None) for _ in range(12)])
    with pytest.raises(ScoringError, match="non-finite"):
        Synflow()(model, batch())


class Residual(nn.Module):
    """y = W2 (relu(W1 x) + x): constant weights keep the shortcut's share scale-dependent."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(3, 3)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)) + x)


def test_epsinas_on_two_constant_initialisations() -> None:
    x = np.array([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [0.5, 0.5, -2.0], [0.0, 2.0, 0.0]])
    outs = []
    for w in (1e-7, 1.0):
        h = np.maximum(w * x.sum(1, keepdims=True), 0) + x  # every hidden unit is w * sum(x)
        y = (w * h.sum(1)).ravel()
        outs.append((y - y.min()) / (y.max() - y.min()))
    p = np.array(outs)
    p[p == 0] = np.nan
    expected = np.nanmean(np.abs(p[0] - p[1])) / np.nanmean(p)
    assert expected == pytest.approx((1 / 18) / ((2 / 3 + 5 / 9 + 2) / 4), rel=1e-5)  # by hand
    assert score(Epsinas(), Residual(), batch(x, None)) == pytest.approx(expected, rel=1e-4)
    with pytest.raises(ScoringError, match="constant"):
        epsinas_score(torch.ones(4), torch.arange(4.0))


def test_meco_min_eigenvalue_of_channel_correlation() -> None:
    w = np.array([[1.0, 0.5, 0.0], [-2.0, 1.0, 0.5], [0.5, 0.5, -1.0]])
    bias = np.array([0.0, 1.0, -1.0])
    conv = nn.Conv2d(3, 3, 1)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(w).reshape(3, 3, 1, 1))
        conv.bias.copy_(torch.tensor(bias))
    x = torch.zeros(5, 3, 2, 2)
    noise = torch.randn((1, 3, 2, 2), generator=torch.Generator().manual_seed(7)).numpy()
    positions = noise.reshape(3, 4)  # (input channel, position)
    feature = np.array([w[c] @ positions + bias[c] for c in range(3)])  # (channel, position)
    expected = np.linalg.eigvalsh(np.corrcoef(feature))[0]
    assert expected > 1e-3  # the three channels are not collinear
    assert score(Meco("conv_noise", seed=7), conv, Batch(x)) == pytest.approx(expected, abs=1e-6)


def _min_eig(feature: np.ndarray) -> float:
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.nan_to_num(np.corrcoef(feature), nan=0.0)
    return float(np.linalg.eigvalsh(corr)[0])


def test_meco_default_hooks_every_module_on_the_first_image() -> None:
    w = np.array([[1.0, 0.5, 0.0], [-2.0, 1.0, 0.5], [0.5, 0.5, -1.0]])
    conv = nn.Conv2d(3, 3, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(w).reshape(3, 3, 1, 1))
    model = nn.Sequential(conv, nn.ReLU())
    x = torch.randn((5, 3, 3, 3), generator=torch.Generator().manual_seed(1))
    positions = x[0].reshape(3, 9).numpy().astype(float)
    conv_out = w @ positions
    relu_out = np.maximum(conv_out, 0.0)
    # the Sequential's output is the ReLU's: the authors' hook on named_modules() counts it twice
    expected = _min_eig(conv_out) + 2 * _min_eig(relu_out)
    assert score(Meco(), model, Batch(x)) == pytest.approx(expected, abs=1e-6)
    other = x.clone()
    other[1:] = 0.0  # only the first image is read
    assert score(Meco(), model, Batch(other)) == pytest.approx(expected, abs=1e-6)
    assert score(Meco("conv_noise"), model, Batch(x)) != pytest.approx(expected)


class BnMlp(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = linear(W1, B1)
        self.bn = nn.BatchNorm1d(3)
        self.act = nn.ReLU()
        self.fc2 = linear(W2, B2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.bn(self.fc1(x))))


def _bn_features(inp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """BnMlp's features before the head (train-mode BN) and the BN input."""
    z = inp @ W1.T + B1
    return np.maximum((z - z.mean(0)) / np.sqrt(z.var(0) + 1e-5), 0), z


def test_zen_batch_stats_formula() -> None:
    rng = np.random.default_rng(0)
    x, eps = rng.standard_normal((2, 6, 3))
    f_x, z = _bn_features(x)
    f_eps, _ = _bn_features(x + 0.01 * eps)
    sigma = math.sqrt(z.var(0).mean())
    expected = math.log(np.linalg.norm(f_x - f_eps, axis=1).mean()) + math.log(sigma)
    model = BnMlp().train()
    got = zen_score(model, model, torch.tensor(x).float(), torch.tensor(eps).float(), running=False)
    assert got == pytest.approx(expected, rel=1e-4)


def test_zen_default_formula_l1_and_running_variance() -> None:
    rng = np.random.default_rng(0)
    x, eps = rng.standard_normal((2, 6, 3))
    f_x, z_x = _bn_features(x)
    f_eps, z_eps = _bn_features(x + 0.01 * eps)
    # running variance after two train-mode passes from 1, momentum 0.1, unbiased batch variances
    running = 0.9 * (0.9 * 1.0 + 0.1 * z_x.var(0, ddof=1)) + 0.1 * z_eps.var(0, ddof=1)
    expected = math.log(np.abs(f_x - f_eps).sum(1).mean()) + 0.5 * math.log(running.mean())
    model = BnMlp().train()
    model(torch.randn(6, 3) * 5)  # statistics seen before are reset first
    got = zen_score(model, model, torch.tensor(x).float(), torch.tensor(eps).float())
    assert got == pytest.approx(expected, rel=1e-4)


def test_zen_dead_batchnorm_adds_log_0_9() -> None:
    class Dead(BnMlp):
        def __init__(self) -> None:
            super().__init__()
            self.dead = nn.BatchNorm1d(2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.dead(torch.zeros(len(x), 2))
            return super().forward(x)

    x, eps = torch.randn(2, 6, 3, generator=torch.Generator().manual_seed(0))
    alive = BnMlp().train()
    dead = Dead().train()
    dead.load_state_dict(alive.state_dict(), strict=False)
    expected = zen_score(alive, alive, x, eps) + math.log(0.9)
    assert zen_score(dead, dead, x, eps) == pytest.approx(expected, rel=1e-6)
    expected_batch = zen_score(alive, alive, x, eps, running=False)  # left out
    assert zen_score(dead, dead, x, eps, running=False) == pytest.approx(expected_batch)


@pytest.mark.parametrize("variant", ["default", "batch_stats"])
def test_zen_proxy_draws_weights_then_inputs_from_one_generator(variant: str) -> None:
    model = BnMlp()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    b = batch(np.zeros((6, 3)), None)
    g = torch.Generator().manual_seed(3)  # as ZenNAS after torch.manual_seed(3)
    reference = BnMlp()
    with torch.no_grad():
        for layer in (reference.fc1, reference.fc2):
            layer.weight.copy_(torch.randn(layer.weight.shape, generator=g))
            layer.bias.zero_()
    x, eps = torch.randn((6, 3), generator=g), torch.randn((6, 3), generator=g)
    expected = zen_score(reference.train(), reference, x, eps, running=variant == "default")
    assert score(Zen(variant, seed=3), model, b) == pytest.approx(expected, rel=1e-6)
    assert score(Zen(variant, seed=3), model, batch(np.ones((6, 3)), None)) == pytest.approx(
        expected
    )
    assert score(Zen(variant, seed=4), model, b) != pytest.approx(expected)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k


# -- NASWOT variants ---------------------------------------------------------------------------

XN = torch.tensor([[1.0, 2.0], [-1.0, 3.0], [2.0, -1.0]])


def one_layer() -> nn.Module:
    return nn.Sequential(linear(np.eye(2), np.zeros(2)), nn.ReLU(), linear(np.ones((1, 2)), None))


class AuxHead(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.main = one_layer()
        self.aux = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.aux(-x)
        return self.main(x)


def test_naswot_relu_forward_all_counts_off_path_relus() -> None:
    # main codes 11, 01, 10 and aux codes (of -x) 00, 10, 01 give the same K_H,
    # [[2,1,1],[1,2,0],[1,0,2]] (det 4); counting both doubles it: det(2K) = 8 * 4 = 32
    assert score(Naswot("relu_forward_all"), AuxHead(), Batch(XN)) == pytest.approx(math.log(32))
    assert score(Naswot(), AuxHead(), Batch(XN)) == pytest.approx(math.log(4))
    with pytest.raises(InvalidParameterError, match="gate"):
        Naswot("relu_forward_all", gate=True)


def test_naswot_normalised_divides_k_by_n_a() -> None:
    # K = [[2,1,1],[1,2,0],[1,0,2]] (det 4) and N_A = 2: log det(K / 2) = log 4 - 3 log 2
    assert score(Naswot("normalised"), one_layer(), Batch(XN)) == pytest.approx(math.log(0.5))


def test_naswot_noise_scores_seeded_gaussian_inputs() -> None:
    net = nn.Sequential(linear(np.arange(12.0).reshape(6, 2) - 5, np.zeros(6)), nn.ReLU())
    noise = torch.randn((3, 2), generator=torch.Generator().manual_seed(5))
    expected = Naswot()(net, Batch(noise))
    assert Naswot("noise", seed=5)(net, Batch(XN)).score == expected.score
    assert Naswot("noise", seed=5)(net, Batch(XN * 7)).score == expected.score


def test_default_and_official_variants_are_unchanged() -> None:
    assert Naswot.variants[:2] == ("default", "official")
    assert score(Naswot(), one_layer(), Batch(XN)) == pytest.approx(math.log(4.0), abs=1e-12)


# -- failures ----------------------------------------------------------------------------------

LABELLED = [name for name in PROXIES.names() if PROXIES.get(name).needs_labels]


@pytest.mark.parametrize("name", LABELLED)
def test_missing_labels_or_classes_are_scoring_errors(name: str) -> None:
    proxy = PROXIES.get(name)()
    with pytest.raises(ScoringError, match="labels"):
        proxy(mlp(), batch(X, None))
    one_output = nn.Sequential(linear(W1, B1), nn.ReLU(), linear(W2[:1], B2[:1]))
    with pytest.raises(ScoringError, match="classes"):
        proxy(one_output, batch())


@pytest.mark.parametrize("name", PROXIES.names())
def test_failures_are_scoring_errors_and_leave_the_model_clean(name: str) -> None:
    model = mlp().eval()
    wrong_width = Batch(torch.ones(4, 5), targets=torch.tensor(Y))
    if name in ("params", "l2_norm"):
        pytest.skip("does not run the network")
    with pytest.raises(ScoringError):
        PROXIES.get(name)()(model, wrong_width)
    assert not model.training
    assert all(not m._forward_hooks for m in model.modules())
    assert all(p.grad is None for p in model.parameters())


def test_output_independent_of_input_is_an_error() -> None:
    class Constant(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(3, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(torch.zeros_like(x))

    with pytest.raises(ScoringError, match="depend"):
        JacobCov()(Constant(), batch())


@pytest.mark.parametrize("name", PROXIES.names())
def test_unknown_variant_is_refused(name: str) -> None:
    with pytest.raises(InvalidParameterError, match="variant"):
        PROXIES.get(name)("no-such-variant")
