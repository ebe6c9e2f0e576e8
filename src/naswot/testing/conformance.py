"""Conformance checks every registered space and proxy must pass (used by the test suite)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch
from torch import nn

from naswot.data.batch import Batch
from naswot.exceptions import ArchParseError
from naswot.proxies import Proxy, ScoreResult, Status, log_abs_det, naswot_kernel
from naswot.spaces import MutableSpace, SearchSpace

__all__ = ["check_fast_scorer", "check_proxy", "check_space"]


def check_space(space: SearchSpace[Any], *, n: int = 50, seed: int = 0) -> None:
    """Checks sampling, key round trips, determinism, mutation and parse errors of ``space``.

    Raises:
        AssertionError: naming the property that failed.
    """
    rng = np.random.default_rng(seed)
    archs = [space.sample(rng) for _ in range(n)]
    again = [space.sample(np.random.default_rng(seed)) for _ in range(1)]
    assert again[0] == archs[0], "sampling with the same seed must give the same architecture"
    for arch in archs:
        key = space.key(arch)
        assert space.parse(key) == arch, f"parse(key(a)) != a for {key}"
        assert space.key(space.parse(key)) == key, f"key is not canonical: {key}"
    if isinstance(space, MutableSpace):
        for arch in archs:
            child = space.mutate(arch, rng)
            assert child != arch, "mutate must change the architecture"
            space.key(child)
    for bad in ("", "not an architecture", space.key(archs[0]) + "garbage"):
        try:
            space.parse(bad)
        except ArchParseError:
            continue
        raise AssertionError(f"parse({bad!r}) must raise ArchParseError")


def check_proxy(proxy: Proxy, model_factory: Any, batch: Batch) -> ScoreResult:
    """Checks that ``proxy`` is deterministic, leaves no hooks and keeps the model's device.

    Args:
        proxy: the proxy under test.
        model_factory: a callable returning a fresh, identically initialised model.
        batch: a batch for that model.

    Returns:
        The result of the first call.
    """
    model = model_factory()
    device = next(model.parameters()).device
    first = proxy(model, batch)
    assert first.status in (Status.OK, Status.SINGULAR), f"unexpected status {first.status}"
    second = proxy(model_factory(), batch)
    assert first.score == second.score, "the same model and batch must give the same score"
    for m in model.modules():
        assert not m._forward_hooks, "forward hooks left behind"
        assert not m._forward_pre_hooks, "forward pre-hooks left behind"
        assert not m._backward_hooks, "backward hooks left behind"
    assert next(model.parameters()).device == device, "the proxy moved the model"
    assert isinstance(model, nn.Module)
    assert torch.is_tensor(batch.inputs)
    return first


def check_fast_scorer(
    space: SearchSpace[Any],
    cells: Iterable[Any],
    module_and_fast: Callable[[Any, str], tuple[nn.Module, Any, Any]],
    x: torch.Tensor,
    *,
    variant: str = "default",
) -> float:
    """Checks a space's fast NASWOT scorer against the module scorer on the same weights.

    ``module_and_fast(cell, variant)`` returns the built network, the fast scorer and the
    weights the scorer takes (the network's own). For every cell: the same N_A, the same
    singularity, K within 0.1 % of its diagonal (only pre-activations within rounding of zero may
    flip) and the log-determinant within 1e-3. Returns the largest log-determinant difference.
    """
    worst = 0.0
    for cell in cells:
        net, fast, weights = module_and_fast(cell, variant)
        k_module, n_module = naswot_kernel(net, x, variant=variant, gate=False)
        with torch.no_grad():
            k_fast, n_fast, _ = fast.kernel(cell, x, weights)
        assert n_fast == n_module, space.key(cell)
        a, b = log_abs_det(k_module), log_abs_det(k_fast)
        assert (a == -math.inf) == (b == -math.inf), space.key(cell)
        if math.isfinite(a):
            worst = max(worst, abs(a - b))
            assert float((k_module - k_fast).abs().max()) <= 0.001 * float(k_module[0, 0])
    assert worst < 1e-3
    return worst
