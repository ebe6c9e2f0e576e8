"""The NASWOT kernel K_H and its log-determinant, as exact arithmetic."""

from __future__ import annotations

import math

import torch

__all__ = [
    "MAX_EXACT_UNITS",
    "hamming_kernel",
    "int8_gram",
    "int8_kernel_update",
    "kernel_update",
    "log_abs_det",
]

# A float32 product of +-1 codes is exact while every partial sum stays below 2**24.
MAX_EXACT_UNITS = 2**24


def kernel_update(codes: torch.Tensor) -> torch.Tensor:
    """The kernel contribution ``c cᵀ + (1-c)(1-c)ᵀ`` of one layer's codes, in float64.

    With s = 2c - 1 (±1 codes), ``s sᵀ`` counts agreements minus disagreements, so the
    contribution is ``(n + s sᵀ) / 2``: the number of the layer's n units on which two inputs agree.

    Args:
        codes: boolean tensor of shape (B, n): unit active (pre-activation > 0) per input.

    Returns:
        A (B, B) float64 tensor of exact integers on the codes' device.
    """
    b, n = codes.shape
    out = torch.zeros(b, b, dtype=torch.float64, device=codes.device)
    for start in range(0, n, MAX_EXACT_UNITS):
        s = codes[:, start : start + MAX_EXACT_UNITS].to(torch.float32).mul_(2.0).sub_(1.0)
        out += (s @ s.T).to(torch.float64)
    return out.add_(n).mul_(0.5)


def int8_kernel_update(codes: torch.Tensor) -> torch.Tensor:
    """The same contribution as :func:`kernel_update`, from one exact int8 matrix product.

    With 0/1 codes and G = c cᵀ (int32), agreements are ``n - d_i - d_j + 2 G_ij`` where
    ``d = diag(G)``. ``torch._int_mm`` is a private op; where it is missing or refuses the shapes
    the float path is used.

    Args:
        codes: boolean tensor of shape (B, n), any strides whose last dimension is contiguous.

    Returns:
        A (B, B) int64 tensor on the codes' device.
    """
    g = int8_gram(codes)
    if g is None:
        return kernel_update(codes).round_().to(torch.int64)
    n = codes.shape[1]
    d = g.diagonal().clone()
    return g.mul_(2).add_(n).sub_(d[:, None]).sub_(d[None, :])


def int8_gram(codes: torch.Tensor) -> torch.Tensor | None:
    """G = c cᵀ (int64) of 0/1 codes from one exact int8 matrix product, or None.

    None where ``torch._int_mm`` is missing or refuses the shapes (then use
    :func:`kernel_update`).

    Args:
        codes: boolean or 0/1 int8 tensor of shape (B, n) whose last dimension is contiguous.
    """
    n = codes.shape[1]
    # _int_mm gives garbage for k = 1 here; tiny layers take the (exact) float path.
    if n < 8 or n >= 2**31 or not hasattr(torch, "_int_mm"):
        return None
    c8 = codes.contiguous().view(torch.int8)
    try:
        return torch._int_mm(c8, c8.t()).to(torch.int64)
    except RuntimeError:
        return None


def hamming_kernel(codes: torch.Tensor) -> torch.Tensor:
    """K[i, j] = N_A - Hamming(c_i, c_j) for boolean codes of shape (B, N_A) (paper Eq. 1)."""
    return kernel_update(codes)


def log_abs_det(kernel: torch.Tensor) -> float:
    """``log |K|`` in float64, or ``-inf`` when K is singular (paper Eq. 2).

    K is a positive semi-definite integer matrix. A floating-point LU of a singular K rarely
    yields an exact zero pivot (it yields a plausible finite number), so singularity is decided by
    the eigenvalues first, with NumPy's ``matrix_rank`` tolerance.
    """
    k = kernel.detach().to(device="cpu", dtype=torch.float64)
    eigenvalues = torch.linalg.eigvalsh(k)
    largest = float(eigenvalues[-1])
    tolerance = largest * k.shape[0] * torch.finfo(torch.float64).eps
    if largest <= 0.0 or float(eigenvalues[0]) <= tolerance:
        return -math.inf
    sign, logabsdet = torch.linalg.slogdet(k)
    if float(sign) <= 0.0:
        return -math.inf
    return float(logabsdet)
