"""The multi-proxy engine: every registered proxy and variant scores bit-identically to alone."""

import math

import pytest
import torch
from torch import nn

from naswot.data import Batch
from naswot.exceptions import InvalidParameterError, ScoringError
from naswot.networks.layout import LAYOUTS, Layout
from naswot.networks.nasbench201 import NB201Network
from naswot.proxies import PROXIES, GradNorm, Grasp, LinearRegions, Naswot, Snip, Vkdnw
from naswot.proxies._shared import PASSES, SharedPasses, shares_passes
from naswot.scoring import ScoringJob, engine_name, run_jobs, score_jobs
from naswot.spaces import SPACES, Cell201

SPACE = SPACES.get("nb201")
KEYS = [
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|",
    "|skip_connect~0|+|none~0|avg_pool_3x3~1|+|nor_conv_1x1~0|none~1|skip_connect~2|",
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",  # no path: degenerate for most proxies
]
PAIRS = [(name, v) for name in PROXIES.names() for v in PROXIES.get(name).variants]


def tiny_nb201(arch: Cell201, n_classes: int = 1) -> nn.Module:
    """A one-cell, four-channel NB201 network (the engine does not depend on the size)."""
    return NB201Network(arch, n_classes=n_classes, channels=4, n_cells=1)


def batch() -> Batch:
    g = torch.Generator().manual_seed(3)
    x = torch.randn(8, 3, 16, 16, generator=g)
    return Batch(x, targets=torch.randint(0, 10, (8,), generator=g), dataset="cifar10")


def jobs(pairs: list[tuple[str, str]], b: Batch, layout: Layout = "nchw") -> list[ScoringJob]:
    out = []
    for name, variant in pairs:
        factory = PROXIES.get(name)
        out.append(
            ScoringJob(
                space=SPACE,
                builder=tiny_nb201,
                proxy=factory(variant),
                batch=b,
                seed=5,
                n_classes=10 if factory.needs_classes else 1,
                layout=layout,
            )
        )
    return out


def same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == b or (math.isnan(a) and math.isnan(b))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_proxy_and_variant_scores_bit_identically_in_the_engine(layout: Layout) -> None:
    b = batch()
    every = jobs(PAIRS, b, layout)
    together = run_jobs(every, KEYS)
    for job, records in zip(every, together, strict=True):
        alone = job.run(KEYS)
        for r, a in zip(records, alone, strict=True):
            label = f"{job.proxy.name}:{job.proxy.variant} on {r.arch}"
            assert same(r.score, a.score), f"{label}: {r.score!r} != {a.score!r}"
            assert (r.status, r.error, r.n_units) == (a.status, a.error, a.n_units), label


def test_the_engine_order_does_not_change_a_score() -> None:
    b = batch()
    forward, backward = jobs(PAIRS, b), jobs(PAIRS[::-1], b)
    one = run_jobs(forward, KEYS[:1])
    other = run_jobs(backward, KEYS[:1])[::-1]
    for x, y in zip(one, other, strict=True):
        assert same(x[0].score, y[0].score), x[0].proxy


def test_proxies_that_share_a_pass_compute_it_once() -> None:
    b = batch()
    torch.manual_seed(0)
    model = tiny_nb201(SPACE.parse(KEYS[0]), n_classes=10)
    passes = SharedPasses(model, b)
    Snip().score_shared(model, b, passes)
    GradNorm().score_shared(model, b, passes)
    assert (passes.misses, passes.hits) == (1, 1)
    Vkdnw().score_shared(model, b, passes)
    Vkdnw("single").score_shared(model, b, passes)
    assert (passes.misses, passes.hits) == (2, 2)
    regions = LinearRegions().score_shared(model, b, passes)
    Naswot("relu_forward_all").score_shared(model, b, passes)
    assert (passes.misses, passes.hits) == (3, 3)
    assert regions.score == LinearRegions()(model, b).score


def test_grasp_and_the_gradient_proxies_share_one_backward_when_planned() -> None:
    b = batch()
    torch.manual_seed(0)
    model = tiny_nb201(SPACE.parse(KEYS[0]), n_classes=10)
    passes = SharedPasses(model, b, planned={"ce_grads", "ce_hessian"})
    for proxy in (Snip(), GradNorm(), Grasp()):
        assert proxy.score_shared(model, b, passes).score == proxy(model, b).score
    assert (passes.misses, passes.hits) == (1, 2)
    alone = SharedPasses(model, b, planned=Snip.passes)  # without grasp: no double backward
    Snip().score_shared(model, b, alone)
    assert [k[0] for k in alone._results] == ["ce_grads"]
    with pytest.raises(InvalidParameterError, match="Unknown shared passes"):
        SharedPasses(model, b, planned={"ce_hess"})


def test_a_failed_hessian_fails_grasp_only() -> None:
    b = batch()
    torch.manual_seed(0)
    model = tiny_nb201(SPACE.parse(KEYS[0]), n_classes=10)
    passes = SharedPasses(model, b, planned={"ce_grads", "ce_hessian"})
    original = torch.autograd.grad
    calls: list[int] = []

    def second_fails(*args: object, **kwargs: object) -> object:  # the Hg backward fails
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("double backward not implemented")
        return original(*args, **kwargs)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(torch.autograd, "grad", second_fails)
        snip = Snip().score_shared(model, b, passes)
    assert snip.score == Snip()(model, b).score
    with pytest.raises(ScoringError, match="double backward not implemented"):
        Grasp().score_shared(model, b, passes)


def test_every_shared_pass_is_declared_and_named() -> None:
    sharing = [PROXIES.get(n)(v) for n, v in PAIRS if shares_passes(PROXIES.get(n)(v))]
    assert {p.name for p in sharing} >= {"snip", "grad_norm", "plain", "jacob_cov", "epe_nas"}
    for p in sharing:
        assert p.passes and set(p.passes) <= set(PASSES), p.name


def test_shared_passes_refuse_another_network_or_an_unknown_pass() -> None:
    b = batch()
    model = tiny_nb201(SPACE.parse(KEYS[0]))
    passes = SharedPasses(model, b)
    with pytest.raises(InvalidParameterError, match="another model"):
        passes.get(tiny_nb201(SPACE.parse(KEYS[0])), b, ("input_jacobian",), lambda: 0)
    with pytest.raises(InvalidParameterError, match="Unknown shared pass"):
        passes.get(model, b, ("no_such_pass",), lambda: 0)


def test_a_failed_pass_is_not_kept_and_each_proxy_reports_its_own_error() -> None:
    unlabelled = Batch(batch().inputs, dataset="cifar10")
    (result_snip, _), (result_norm, _) = score_jobs(
        SPACE.parse(KEYS[0]),
        jobs([("snip", "default"), ("grad_norm", "default")], unlabelled),
        unlabelled,
    )
    assert result_snip.status.value == "error" and "snip needs labels" in str(result_snip.error)
    assert "grad_norm needs labels" in str(result_norm.error)


def test_jobs_scored_together_must_share_batch_and_seed() -> None:
    b = batch()
    one = jobs([("naswot", "default")], b)[0]
    other = ScoringJob(space=SPACE, builder=tiny_nb201, proxy=Naswot("noise"), batch=b, seed=6)
    with pytest.raises(InvalidParameterError, match="must share"):
        run_jobs([one, other], KEYS[:1])
    with pytest.raises(InvalidParameterError, match="twice"):
        run_jobs([one, one], KEYS[:1])


def test_every_proxy_scores_the_same_up_to_rounding_in_channels_last() -> None:
    b = batch()
    nchw = run_jobs(jobs(PAIRS, b, "nchw"), KEYS)
    last = run_jobs(jobs(PAIRS, b, "channels_last"), KEYS)
    for (name, variant), xs, ys in zip(PAIRS, nchw, last, strict=True):
        for x, y in zip(xs, ys, strict=True):
            label = f"{name}:{variant} on {x.arch}"
            assert x.status == y.status, label
            if x.score is not None and y.score is not None:
                # 3e-5 at most measured (zico); the tolerance leaves room for other CPUs
                assert math.isclose(x.score, y.score, rel_tol=1e-3, abs_tol=1e-9), label
            else:
                assert x.score is y.score, label


def test_the_layout_is_part_of_the_engine_and_so_of_the_store_key() -> None:
    b = batch()
    (a,), (c,) = (
        jobs([("snip", "default")], b, "nchw"),
        jobs([("snip", "default")], b, "channels_last"),
    )
    assert (a.engine, c.engine) == ("module", "module-channels_last")
    assert a.key(KEYS[0]) != c.key(KEYS[0])
    assert engine_name(None, "cpu", "channels_last") == "module-channels_last"
    # the default, auto, is resolved where the job is made: keys name a concrete layout
    auto = ScoringJob(space=SPACE, builder=tiny_nb201, proxy=PROXIES.get("snip")(), batch=b, seed=6)
    assert (auto.layout, auto.engine) == ("channels_last", "module-channels_last")
    assert engine_name(None) == engine_name(None, "cpu", "auto") == "module-channels_last"
    assert engine_name(None, "cuda") == "module"
