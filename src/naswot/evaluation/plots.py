"""Figures of the paper, as functions that take arrays and an optional ``Axes``.

matplotlib is an optional extra (``pip install 'naswot[plot]'``). These functions never call
``show``/``savefig`` and never change global style; the CLI saves the figures.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from naswot.exceptions import MissingDependencyError

__all__ = [
    "off_diagonal",
    "plot_kernel",
    "plot_kernel_histograms",
    "plot_replay_curve",
    "plot_score_vs_accuracy",
    "require_matplotlib",
]


def require_matplotlib() -> Any:  # Any: the matplotlib.pyplot module
    """``matplotlib.pyplot`` (Agg backend), or an error naming the extra to install."""
    try:
        matplotlib = importlib.import_module("matplotlib")
    except ImportError:
        raise MissingDependencyError(
            "Plots need matplotlib: pip install 'naswot[plot]' (or pip install matplotlib)."
        ) from None
    matplotlib.use("Agg")
    return importlib.import_module("matplotlib.pyplot")


def _axes(ax: Any) -> Any:  # Any: matplotlib Axes
    if ax is not None:
        return ax
    plt = require_matplotlib()
    return plt.subplots(figsize=(5, 4), constrained_layout=True)[1]


def plot_score_vs_accuracy(
    scores: NDArray[np.float64],
    accuracy: NDArray[np.float64],
    *,
    tau: float,
    title: str = "",
    xlabel: str = "Accuracy (%)",
    ax: Any = None,
) -> Any:
    """Score against accuracy, Kendall tau in the title (the paper's Figure 3).

    ``-inf`` scores are drawn at the bottom edge in another colour.
    """
    ax = _axes(ax)
    finite = np.isfinite(scores)
    ax.scatter(accuracy[finite], scores[finite], s=2, alpha=0.4, color="tab:blue", rasterized=True)
    if (~finite).any():
        floor = scores[finite].min() if finite.any() else 0.0
        ax.scatter(
            accuracy[~finite],
            np.full((~finite).sum(), floor),
            s=6,
            marker="v",
            color="tab:red",
            label=f"-inf ({int((~finite).sum())})",
        )
        ax.legend(loc="upper left", fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("NASWOT score  log|K_H|")
    ax.set_title(f"{title}  τ = {tau:.3f}".strip())
    return ax


def plot_kernel(
    kernel: NDArray[np.float64],
    *,
    title: str,
    ax: Any = None,
    vmin: float | None = None,
    vmax: float = 1.0,
) -> Any:
    """K_H normalised to unit diagonal (the paper's Figure 1).

    Pass the same ``vmin``/``vmax`` to panels that are compared, so one colour means one value
    (default ``vmin``: this kernel's smallest entry).
    """
    ax = _axes(ax)
    k = kernel / kernel[0, 0]
    low = float(k.min()) if vmin is None else vmin
    image = ax.imshow(k, vmin=low, vmax=vmax, cmap="viridis")
    ax.set_title(title, fontsize=8)
    ax.set_xlabel("image")
    ax.set_ylabel("image")
    ax.figure.colorbar(image, ax=ax, fraction=0.046)
    return ax


def off_diagonal(kernel: NDArray[np.float64]) -> NDArray[np.float64]:
    """The off-diagonal entries of K_H normalised to unit diagonal."""
    k = kernel / kernel[0, 0]
    return np.asarray(k[~np.eye(k.shape[0], dtype=bool)], dtype=np.float64)


def plot_kernel_histograms(
    groups: Sequence[tuple[str, NDArray[np.float64]]], *, ax: Any = None
) -> Any:
    """Histograms of normalised off-diagonal K_H entries per accuracy band (Figure 2).

    Args:
        groups: (label, entries) pairs; entries from :func:`off_diagonal`, pooled per band.
        ax: the Axes to draw on (a new figure when None).
    """
    ax = _axes(ax)
    for label, entries in groups:
        ax.hist(entries, bins=50, histtype="step", density=True, label=label)
    ax.set_xlabel("normalised K_H entry (share of units two images agree on)")
    ax.set_ylabel("density")
    ax.legend(fontsize=7, title="accuracy band", title_fontsize=8)
    return ax


def plot_replay_curve(
    n_samples: Sequence[int],
    mean: Sequence[float],
    std: Sequence[float],
    *,
    optimal_mean: Sequence[float] | None = None,
    random_mean: float | None = None,
    ylabel: str = "Accuracy (%)",
    ax: Any = None,
) -> Any:
    """Mean accuracy of the chosen cell against N (log scale), shaded ± 1 std over the runs.

    ``optimal_mean`` draws the best of the same N cells by accuracy; ``random_mean`` a line at the
    accuracy of a cell chosen at random (the mean over the benchmark, whatever N).
    """
    ax = _axes(ax)
    m, s = np.asarray(mean), np.asarray(std)
    ax.plot(n_samples, m, marker="o", label="NASWOT (mean over runs)")
    ax.fill_between(n_samples, m - s, m + s, alpha=0.2, label="NASWOT ± 1 std over runs")
    if optimal_mean is not None:
        ax.plot(n_samples, optimal_mean, marker="s", linestyle="--", label="Optimal (N)")
    if random_mean is not None:
        ax.axhline(random_mean, color="grey", linestyle=":", label="Random choice")
    ax.set_xscale("log")
    ax.set_xlabel("N (architectures sampled)")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    return ax


def plot_pareto(
    costs: Sequence[float],
    scores: Sequence[float],
    front_costs: Sequence[float],
    front_scores: Sequence[float],
    *,
    xlabel: str,
    ylabel: str = "score",
    ax: Any = None,
) -> Any:
    """Scored cells (grey) and their non-dominated front (a step line): score against cost."""
    ax = _axes(ax)
    if len(costs):
        ax.scatter(costs, scores, s=8, color="0.7", label="scored cells")
    order = np.argsort(np.asarray(front_costs, dtype=float), kind="stable")
    fc = np.asarray(front_costs, dtype=float)[order]
    fs = np.asarray(front_scores, dtype=float)[order]
    ax.step(fc, fs, where="post", color="C3", marker="o", label="Pareto front")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    return ax
