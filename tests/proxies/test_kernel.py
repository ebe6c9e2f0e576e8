import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from naswot.proxies import _kernel, hamming_kernel, log_abs_det

codes_strategy = st.integers(2, 10).flatmap(
    lambda b: arrays(np.bool_, st.tuples(st.just(b), st.integers(1, 40)))
)


def naive_kernel(codes: np.ndarray) -> np.ndarray:
    b, n = codes.shape
    k = np.zeros((b, b))
    for i, j in itertools.product(range(b), range(b)):
        k[i, j] = n - int(np.sum(codes[i] != codes[j]))
    return k


@given(codes_strategy)
def test_kernel_equals_pairwise_hamming_loop(codes: np.ndarray) -> None:
    k = hamming_kernel(torch.from_numpy(codes))
    assert k.dtype == torch.float64
    np.testing.assert_array_equal(k.numpy(), naive_kernel(codes))


@given(codes_strategy)
def test_kernel_invariants(codes: np.ndarray) -> None:
    k = hamming_kernel(torch.from_numpy(codes)).numpy()
    n = codes.shape[1]
    np.testing.assert_array_equal(k, k.T)
    np.testing.assert_array_equal(np.diag(k), n)
    assert k.min() >= 0 and k.max() <= n


@settings(max_examples=50)
@given(codes_strategy, st.randoms(use_true_random=False))
def test_log_det_is_invariant_to_batch_order(codes: np.ndarray, rnd: object) -> None:
    perm = list(range(codes.shape[0]))
    rnd.shuffle(perm)  # type: ignore[attr-defined]
    a = log_abs_det(hamming_kernel(torch.from_numpy(codes)))
    b = log_abs_det(hamming_kernel(torch.from_numpy(codes[perm])))
    assert a == pytest.approx(b, abs=1e-9) or (a == b == -np.inf)


@given(codes_strategy)
def test_duplicate_codes_are_singular(codes: np.ndarray) -> None:
    dup = np.concatenate([codes, codes[:1]])
    assert log_abs_det(hamming_kernel(torch.from_numpy(dup))) == -np.inf


def test_chunked_products_stay_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    codes = torch.from_numpy(rng.random((6, 1000)) > 0.5)
    whole = hamming_kernel(codes)
    monkeypatch.setattr(_kernel, "MAX_EXACT_UNITS", 7)
    assert torch.equal(hamming_kernel(codes), whole)


def test_log_det_matches_numpy_on_a_hand_example() -> None:
    k = torch.tensor([[4.0, 3, 2], [3, 4, 1], [2, 1, 4]], dtype=torch.float64)
    assert log_abs_det(k) == pytest.approx(np.log(20.0))
    assert log_abs_det(torch.zeros(3, 3, dtype=torch.float64)) == -np.inf


def test_near_singular_integer_matrix_is_not_a_false_finite_score() -> None:
    # rank 2: the third row is the sum of the first two; LU would give a tiny nonzero pivot
    a = torch.tensor([[7.0, 3, 10], [3, 5, 8], [10, 8, 18]], dtype=torch.float64) * 1e5
    assert log_abs_det(a) == -np.inf


@given(codes_strategy)
def test_int8_kernel_equals_float_kernel(codes: np.ndarray) -> None:
    c = torch.from_numpy(codes)
    exact = _kernel.int8_kernel_update(c)
    assert exact.dtype == torch.int64
    np.testing.assert_array_equal(exact.numpy(), naive_kernel(codes))


@pytest.mark.parametrize(("b", "n"), [(2, 8), (20, 1001), (128, 16384), (7, 4097)])
def test_int8_kernel_exact_on_layer_sized_codes(b: int, n: int) -> None:
    codes = torch.rand(b, n, generator=torch.Generator().manual_seed(n)) > 0.5
    expected = hamming_kernel(codes)
    assert torch.equal(_kernel.int8_kernel_update(codes).to(torch.float64), expected)
