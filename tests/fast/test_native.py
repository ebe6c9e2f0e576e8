"""The fused C kernels (naswot.fast._native) against PyTorch's ops, and the eager fallback."""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from naswot._seeding import derive_seed, torch_seeded
from naswot.exceptions import ScoringError
from naswot.fast import FastNB101, FastNB201
from naswot.fast._common import (
    Elementwise,
    avg_pool_3x3,
    bn,
    codes_of,
    elementwise_for,
    node_sum,
)
from naswot.fast._native import AMX_POPCOUNT_CODES, NativeKernels, native_kernels
from naswot.proxies import log_abs_det
from naswot.scoring import engine_name
from naswot.spaces import SPACES

STATUS = native_kernels()
needs_native = pytest.mark.skipif(
    STATUS.kernels is None, reason=f"fused kernels not available: {STATUS.reason}"
)
DTYPES = [torch.float32, torch.bfloat16]


def _native() -> NativeKernels:
    assert STATUS.kernels is not None
    return STATUS.kernels


def _tensor(shape: tuple[int, ...], dtype: torch.dtype, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=g) * 2 + 0.5
    return x.to(dtype).contiguous(memory_format=torch.channels_last)


def _tol(dtype: torch.dtype) -> dict[str, float]:
    return {"atol": 1e-5, "rtol": 1e-5} if dtype == torch.float32 else {"atol": 0.07, "rtol": 0.02}


SHAPES = [(8, 16, 32, 32), (4, 3, 5, 7), (2, 64, 1, 1), (2, 1, 3, 2)]


@needs_native
@pytest.mark.parametrize("dtype", DTYPES)
def test_stats_keep_a_small_variance_under_a_large_mean(dtype: torch.dtype) -> None:
    x = (_tensor((16, 4, 8, 8), torch.float32) * 1e-2 + 1e3).to(dtype)
    x = x.contiguous(memory_format=torch.channels_last)
    mean, invstd = _native().stats(x)
    xd = x.double()
    var = xd.var(dim=(0, 2, 3), unbiased=False)
    torch.testing.assert_close(mean.double(), xd.mean(dim=(0, 2, 3)), atol=1e-3, rtol=0)
    torch.testing.assert_close(invstd.double(), 1 / torch.sqrt(var + 1e-5), atol=0, rtol=1e-3)


@needs_native
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_stats_and_bn_match_batch_norm(dtype: torch.dtype, shape: tuple[int, ...]) -> None:
    x = _tensor(shape, dtype)
    mean, invstd = _native().stats(x)
    xf = x.float()
    torch.testing.assert_close(mean, xf.mean(dim=(0, 2, 3)), atol=1e-5, rtol=1e-5)
    var = xf.var(dim=(0, 2, 3), unbiased=False)
    torch.testing.assert_close(invstd, 1 / torch.sqrt(var + 1e-5), atol=1e-4, rtol=1e-4)
    got = _native().bn(x)
    assert got.dtype == dtype
    assert got.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(got.float(), bn(x).float(), **_tol(dtype))


@needs_native
@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_codes_are_exact_on_signed_zeros(dtype: torch.dtype) -> None:
    x = _tensor((3, 4, 5, 6), dtype)
    x.permute(0, 2, 3, 1).view(-1)[:4] = torch.tensor([0.0, -0.0, 1e-30, -1e-30]).to(dtype)
    relu, codes = _native().relu_codes(x)
    assert torch.equal(relu, F.relu(x))
    assert codes.dtype == torch.int8
    assert torch.equal(codes.bool(), codes_of(x))


@needs_native
@pytest.mark.parametrize("dtype", DTYPES)
def test_bn_relu_codes_and_bn_codes_agree_with_bn(dtype: torch.dtype) -> None:
    x = _tensor((4, 8, 6, 6), dtype, seed=3)
    y = _native().bn(x)
    relu, codes = _native().bn_relu_codes(x)
    assert torch.equal(relu, F.relu(y))
    assert torch.equal(codes.bool(), codes_of(y))
    assert torch.equal(_native().bn_codes(x), codes)
    # against PyTorch's batch norm: codes agree except within rounding of zero
    flips = (codes.bool() != codes_of(bn(x))).sum().item()
    assert flips <= x.numel() // 1000


KINDS = st.lists(st.sampled_from(["bn", "pool", "skip"]), min_size=1, max_size=4)


@needs_native
@settings(max_examples=30, deadline=None)
@given(
    kinds=KINDS,
    dtype=st.sampled_from(DTYPES),
    shape=st.sampled_from([(2, 4, 5, 7), (3, 8, 1, 4), (1, 16, 8, 8), (2, 2, 2, 1)]),
    relu=st.booleans(),
)
def test_node_matches_the_eager_sum(
    kinds: list[str], dtype: torch.dtype, shape: tuple[int, ...], relu: bool
) -> None:
    parts = [(k, _tensor(shape, dtype, seed=i)) for i, k in enumerate(kinds)]
    before = [x.clone() for _, x in parts]
    eager = node_sum(parts)
    node, node_relu = Elementwise(_native()).node(parts, relu=relu)
    assert node is not None
    torch.testing.assert_close(node.float(), eager.float(), **_tol(dtype))
    assert all(torch.equal(x, b) for (_, x), b in zip(parts, before, strict=True))
    if relu:
        assert node_relu is not None
        assert torch.equal(node_relu[0], F.relu(node))
        assert torch.equal(node_relu[1].bool(), codes_of(node))
    else:
        assert node_relu is None or len(parts) == 1


@needs_native
@pytest.mark.parametrize("dtype", DTYPES)
def test_node_not_kept_gives_the_same_relu_and_codes(dtype: torch.dtype) -> None:
    parts = [("bn", _tensor((2, 4, 5, 7), dtype, seed=1)), ("pool", _tensor((2, 4, 5, 7), dtype))]
    ops = Elementwise(_native())
    node, kept = ops.node(parts, relu=True)
    skipped, alone = ops.node(parts, relu=True, keep=False)
    assert node is not None and skipped is None
    assert kept is not None and alone is not None
    assert torch.equal(alone[0], kept[0]) and torch.equal(alone[1], kept[1])
    with pytest.raises(ScoringError, match="both unread"):
        ops.node(parts, relu=False, keep=False)


@needs_native
def test_pool_part_is_the_average_pool() -> None:
    x = _tensor((2, 4, 6, 5), torch.float32)
    node, _ = Elementwise(_native()).node([("pool", x)], relu=False)
    assert node is not None
    expected = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
    torch.testing.assert_close(node, expected)
    torch.testing.assert_close(avg_pool_3x3(x), expected)


@needs_native
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shape", [(2, 3, 5, 7), (3, 4, 1, 1), (1, 2, 1, 4), (2, 8, 7, 2), (2, 43, 8, 8)]
)
def test_max_pools_equal_pytorchs(dtype: torch.dtype, shape: tuple[int, ...]) -> None:
    x = _tensor(shape, dtype, seed=5)
    ops = Elementwise(_native())
    assert torch.equal(ops.max_pool(x, 3), F.max_pool2d(x, 3, stride=1, padding=1))
    assert torch.equal(ops.max_pool(x, 2), F.max_pool2d(x, 2, stride=2, ceil_mode=True))
    # a channel slice (not channels_last contiguous) is pooled all the same
    part = x[:, : max(1, shape[1] // 2)]
    assert torch.equal(ops.max_pool(part, 3), F.max_pool2d(part, 3, stride=1, padding=1))
    assert torch.equal(Elementwise(None).max_pool(x, 2), ops.max_pool(x, 2))
    with pytest.raises(ScoringError, match="max pool of size 4"):
        ops.max_pool(x, 4)


def test_other_layouts_take_the_eager_path() -> None:
    ops = Elementwise(STATUS.kernels)
    x = torch.randn(2, 3, 4, 5)  # contiguous, not channels_last (unless C or HW is 1)
    torch.testing.assert_close(ops.bn(x), bn(x))
    assert ops.codes(x).dtype == torch.bool


def test_disabled_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NASWOT_NATIVE", "0")
    status = native_kernels.__wrapped__()
    assert status.kernels is None
    assert "NASWOT_NATIVE" in status.reason
    assert status.disabled


def test_no_compiler_means_eager(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    monkeypatch.setenv("NASWOT_CACHE_DIR", str(tmp_path))
    status = native_kernels.__wrapped__()
    assert status.kernels is None
    assert "compiler" in status.reason


def test_fused_asked_for_without_kernels_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NASWOT_NATIVE", "0")
    monkeypatch.setattr(
        "naswot.fast._common.native_kernels", native_kernels.__wrapped__, raising=True
    )
    with pytest.raises(ScoringError, match="NASWOT_NATIVE"):
        elementwise_for("fused")
    assert not elementwise_for("auto").fused
    assert not FastNB201(kernels="auto").fused


@needs_native
def test_compiles_into_a_fresh_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NASWOT_CACHE_DIR", str(tmp_path))
    status = native_kernels.__wrapped__()
    assert status.kernels is not None, status.reason
    built = list((tmp_path / "native").glob("fused-*.so"))
    assert len(built) == 1
    assert not [p for p in (tmp_path / "native").iterdir() if p.is_dir()]  # no temp left


def _fused_against_eager(
    space_name: str, scorers: tuple[Any, Any], n: int, batch: int, tolerance: float
) -> None:
    """The fused and eager scorers on ``n`` seeded cells: same N_A and calls, close scores."""
    space = SPACES.get(space_name)
    rng = np.random.default_rng(5)
    x = torch.randn(batch, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    fused, eager = scorers
    for _ in range(n):
        arch = space.sample(rng)
        with torch_seeded(derive_seed(1, space_name, space.key(arch))):
            weights = fused.draw_weights(arch)
        with torch.no_grad():
            k_fused, units_fused, calls_fused = fused.kernel(arch, x, weights)
            k_eager, units_eager, calls_eager = eager.kernel(arch, x, weights)
        assert (units_fused, calls_fused) == (units_eager, calls_eager)
        a, b = log_abs_det(k_fused), log_abs_det(k_eager)
        assert math.isinf(a) == math.isinf(b)
        if math.isfinite(a):
            assert a == pytest.approx(b, abs=tolerance)


@needs_native
def test_portable_flags_when_the_tuned_ones_are_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real = shutil.which("cc") or shutil.which("gcc")
    assert real is not None
    fake = tmp_path / "fake-cc"
    fake.write_text(
        "#!/bin/sh\n"
        'for a in "$@"; do [ "$a" = "-march=native" ] && { echo refused >&2; exit 1; }; done\n'
        f'exec {real} "$@"\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv("CC", str(fake))
    monkeypatch.setenv("NASWOT_CACHE_DIR", str(tmp_path))
    status = native_kernels.__wrapped__()
    assert status.kernels is not None, status.reason
    assert len(list((tmp_path / "native").glob("fused-*.so"))) == 1
    x = _tensor((2, 4, 3, 3), torch.float32)
    torch.testing.assert_close(status.kernels.bn(x), bn(x), atol=1e-5, rtol=1e-5)
    if not any(flag in _cpu_flags() for flag in ("avx512bw",)):
        assert not status.kernels.gram_compiled  # portable flags: no AVX-512, the int8 product


def _cpu_flags() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


needs_popcount = pytest.mark.skipif(
    STATUS.kernels is None or not STATUS.kernels.gram_compiled,
    reason="the popcount Gram is not compiled in here (needs AVX-512 BW and VPOPCNTDQ)",
)


@needs_popcount
@pytest.mark.parametrize("n", [1, 7, 63, 64, 65, 129, 512, 4096, 16385])
@pytest.mark.parametrize("b", [1, 2, 5, 128])
def test_popcount_gram_is_the_exact_product(
    monkeypatch: pytest.MonkeyPatch, b: int, n: int
) -> None:
    kernels = _native()
    monkeypatch.setattr(kernels, "popcount_gram", True)
    monkeypatch.setattr(kernels, "amx", False)  # every length, also where AMX would leave some
    g = torch.Generator().manual_seed(b * 100_003 + n)
    codes = torch.rand(b, n, generator=g) > 0.4
    exact = codes.long() @ codes.long().t()
    for form in (codes, codes.to(torch.int8), codes.to(torch.uint8)):
        got = kernels.gram(form)
        assert got is not None and got.dtype == torch.int64
        assert torch.equal(got, exact), form.dtype
    assert kernels.gram(codes.float()) is None  # not one-byte codes: the caller's int8 product
    if n > 1:
        assert kernels.gram(codes[:, ::2]) is None  # strided rows: the caller's int8 product
    assert kernels.gram(codes[:, :0]) is None and kernels.gram(codes[:0]) is None  # empty


@needs_popcount
def test_with_amx_the_popcounts_take_only_the_lengths_where_they_are_faster(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kernels = _native()
    monkeypatch.setattr(kernels, "popcount_gram", True)
    monkeypatch.setattr(kernels, "amx", True)
    low, high = AMX_POPCOUNT_CODES
    g = torch.Generator().manual_seed(3)
    for n, taken in [(low - 1, False), (low, True), (16384, True), (high, True), (high + 1, False)]:
        codes = torch.rand(4, n, generator=g) > 0.5
        got = kernels.gram(codes)
        assert (got is not None) == taken, n
        if got is not None:
            assert torch.equal(got, codes.long() @ codes.long().t())


@needs_popcount
@pytest.mark.parametrize("space", ["nb201", "nb101"])
def test_the_scorers_get_the_same_kernel_from_either_gram(
    monkeypatch: pytest.MonkeyPatch, space: str
) -> None:
    kernels = _native()
    scorer = (FastNB201 if space == "nb201" else FastNB101)(kernels="fused")
    s = SPACES.get(space)
    rng = np.random.default_rng(5)
    x = torch.randn(16, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    for _ in range(3):
        arch = s.sample(rng)
        with torch_seeded(derive_seed(1, space, s.key(arch))):
            weights = scorer.draw_weights(arch)
        got = []
        for popcount in (True, False):
            monkeypatch.setattr(kernels, "popcount_gram", popcount)
            got.append(scorer.kernel(arch, x, weights))
        assert torch.equal(got[0][0], got[1][0]) and got[0][1:] == got[1][1:], s.key(arch)


@needs_native
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_fused_scores_match_eager_on_nb201(precision: str) -> None:
    fused = FastNB201(precision=precision, kernels="fused")
    eager = FastNB201(precision=precision, kernels="eager")
    assert fused.fused and not eager.fused
    assert engine_name(fused) == ("fast-fused" if precision == "fp32" else "fast-bf16-fused")
    assert engine_name(fused, "cuda") == engine_name(eager) == engine_name(eager, "cpu")
    _fused_against_eager("nb201", (fused, eager), 6, 16, 1e-3 if precision == "fp32" else 0.5)


@needs_native
def test_fused_scores_match_eager_on_nb101() -> None:
    scorers = (FastNB101(kernels="fused"), FastNB101(kernels="eager"))
    _fused_against_eager("nb101", scorers, 3, 8, 1e-3)


@needs_native
def test_a_worker_without_the_kernels_fails_instead_of_scoring_under_the_fused_label(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pickle

    import naswot.fast._common as common
    from naswot.fast._native import NativeStatus

    fused, eager = pickle.dumps(FastNB201()), pickle.dumps(FastNB201(kernels="eager"))
    monkeypatch.setattr(common, "native_kernels", lambda: NativeStatus(None, "no C compiler"))
    cell = SPACES.get("nb201").sample(np.random.default_rng(0))
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    scorer = pickle.loads(fused)  # made with kernels="auto", resolved to the fused kernels
    assert scorer.fused and engine_name(scorer) == "fast-fused"  # as the driver keys its rows
    with torch_seeded(0):
        weights = scorer.draw_weights(cell)
    with pytest.raises(ScoringError, match=r"no C compiler.*--kernels eager"):
        scorer.kernel(cell, x, weights)  # on CPU tensors: never eager under the fused label
    assert engine_name(scorer, "cuda") == "fast"  # CUDA tensors take the eager path anyway
    copy = pickle.loads(eager)
    assert copy.kernels == "eager" and not copy.fused
    copy.kernel(cell, x, weights)


def test_an_auto_scorer_travels_as_what_it_resolved_to() -> None:
    import pickle

    scorer = FastNB201()
    copy = pickle.loads(pickle.dumps(scorer))
    assert copy.kernels == "auto" and copy.fused == scorer.fused
    assert engine_name(copy) == engine_name(scorer)


def test_scorers_pickle_and_reload_their_kernels() -> None:
    import pickle

    for scorer in (FastNB201(precision="bf16"), FastNB101(kernels="eager")):
        copy = pickle.loads(pickle.dumps(scorer))
        assert (copy.kernels, copy.fused, copy.precision) == (
            scorer.kernels,
            scorer.fused,
            scorer.precision,
        )
