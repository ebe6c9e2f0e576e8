from collections.abc import Sequence

import numpy as np
import pytest

from naswot.exceptions import InvalidParameterError
from naswot.search import AssistedRegularizedEvolution, RegularizedEvolution
from naswot.spaces import Cell201, NasBench201Space

SPACE = NasBench201Space()


def fitness(cell: Cell201) -> float:
    return float(sum(op == "nor_conv_3x3" for op in cell.ops))


def run(strategy: RegularizedEvolution[Cell201], n: int) -> list[Cell201]:
    asked = []
    for _ in range(n):
        arch = strategy.ask()
        strategy.tell(arch, fitness(arch))
        asked.append(arch)
    return asked


def test_rea_ages_out_and_improves() -> None:
    rea = RegularizedEvolution(SPACE, population_size=10, tournament_size=3, seed=0)
    asked = run(rea, 200)
    assert len(rea.population) == 10
    assert list(rea.population)[-1][0] == asked[-1]  # newest last, oldest removed
    assert max(fitness(a) for a in asked[-20:]) >= max(fitness(a) for a in asked[:10])


def test_children_are_one_mutation_from_a_member() -> None:
    rea = RegularizedEvolution(SPACE, population_size=5, tournament_size=2, seed=1)
    run(rea, 5)
    members = [m[0] for m in rea.population]
    child = rea.ask()
    assert any(sum(a != b for a, b in zip(m.ops, child.ops, strict=True)) == 1 for m in members)


def test_same_seed_same_trajectory() -> None:
    a = run(RegularizedEvolution(SPACE, seed=7), 40)
    b = run(RegularizedEvolution(SPACE, seed=7), 40)
    assert a == b


def test_area_starts_from_the_best_scored_cells() -> None:
    calls: list[int] = []

    def score(archs: Sequence[Cell201]) -> list[float | None]:
        calls.append(len(archs))
        return [fitness(a) if i % 5 else None for i, a in enumerate(archs)]

    area = AssistedRegularizedEvolution(SPACE, score, n_scored=20, population_size=10, seed=0)
    assert calls == [20]
    initial = [area.ask() for _ in range(10)]
    values = [fitness(a) for a in initial]
    assert values == sorted(values, reverse=True)  # best first
    rng = np.random.default_rng(0)
    candidates = [SPACE.sample(rng) for _ in range(20)]
    scored = sorted((fitness(a) for i, a in enumerate(candidates) if i % 5), reverse=True)
    assert values == scored[:10]


def test_invalid_parameters() -> None:
    with pytest.raises(InvalidParameterError):
        RegularizedEvolution(SPACE, population_size=3, tournament_size=4)
    with pytest.raises(InvalidParameterError):
        AssistedRegularizedEvolution(
            SPACE, lambda a: [0.0] * len(a), n_scored=5, population_size=10
        )
