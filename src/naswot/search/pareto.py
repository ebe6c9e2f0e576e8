"""The Pareto front of scored architectures: highest score for the lowest cost."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["pareto_front"]


def pareto_front(scores: Sequence[float], costs: Sequence[float]) -> list[int]:
    """The indices of the non-dominated points, by increasing cost (then decreasing score).

    Point j dominates point i when ``score_j >= score_i`` and ``cost_j <= cost_i`` with one of
    them strict; higher score and lower cost are better. Points that are equal in both are all
    kept. Points with a non-finite score or cost (``-inf`` singular scores, failures) are never on
    the front. One sort and one sweep: O(n log n).

    Example:
        >>> pareto_front([1.0, 3.0, 2.0, 3.0], [1.0, 5.0, 4.0, 6.0])
        [0, 2, 1]
    """
    if len(scores) != len(costs):
        raise ValueError(f"{len(scores)} scores but {len(costs)} costs.")
    usable = [i for i in range(len(scores)) if math.isfinite(scores[i]) and math.isfinite(costs[i])]
    order = sorted(usable, key=lambda i: (costs[i], -scores[i]))
    front: list[int] = []
    best = -math.inf  # the highest score among points of strictly lower cost
    k = 0
    while k < len(order):
        cost = costs[order[k]]
        group = []
        while k < len(order) and costs[order[k]] == cost:
            group.append(order[k])
            k += 1
        top = scores[group[0]]  # the group is sorted by decreasing score
        if top > best:
            front += [i for i in group if scores[i] == top]
            best = top
    return front
