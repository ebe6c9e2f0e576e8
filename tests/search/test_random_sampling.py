import math
from collections.abc import Sequence

import pytest

from naswot.exceptions import InvalidParameterError
from naswot.search import RandomSampling, run_search
from naswot.spaces import Cell201, NasBench201Space

SPACE = NasBench201Space()


def conv_count(archs: Sequence[Cell201]) -> list[float | None]:
    return [float(sum("conv" in op for op in a.ops)) for a in archs]


def test_budget_is_respected_and_best_is_the_max() -> None:
    result = run_search(RandomSampling(SPACE, seed=0), conv_count, budget=25)
    assert len(result.history) == 25
    assert result.best is not None
    assert result.best.score == max(c.score for c in result.history if c.score is not None)
    assert result.n_skipped == 0


def test_same_seed_same_trajectory() -> None:
    a = run_search(RandomSampling(SPACE, seed=4), conv_count, budget=10)
    b = run_search(RandomSampling(SPACE, seed=4), conv_count, budget=10, batch_size=3)
    assert [c.arch for c in a.history] == [c.arch for c in b.history]


def test_singular_and_failed_candidates_are_never_chosen() -> None:
    def score(archs: Sequence[Cell201]) -> list[float | None]:
        return [
            -math.inf if i % 3 == 0 else None if i % 3 == 1 else float(i)
            for i, _ in enumerate(archs)
        ]

    result = run_search(RandomSampling(SPACE, seed=0), score, budget=9)
    assert result.best is not None and result.best.score == 8.0
    assert result.n_skipped == 6
    none = run_search(RandomSampling(SPACE, seed=0), lambda a: [None] * len(a), budget=3)
    assert none.best is None and none.n_skipped == 3


def test_first_maximum_wins_ties() -> None:
    result = run_search(RandomSampling(SPACE, seed=0), lambda a: [1.0] * len(a), budget=5)
    assert result.best is result.history[0] or result.best == result.history[0]


def test_budget_must_be_positive() -> None:
    with pytest.raises(InvalidParameterError, match="budget"):
        run_search(RandomSampling(SPACE, seed=0), conv_count, budget=0)


def test_search_never_imports_benchmarks() -> None:
    import ast
    import pathlib

    import naswot.search

    for path in pathlib.Path(naswot.search.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert "benchmarks" not in (node.module or ""), path
