"""What a network costs: parameters, multiply-adds and measured latency, for budgets and cards.

Costs are counted on the network as it would be trained: built with the dataset's class count and
run on one input of the dataset's shape. Parameters are every element of every parameter (the
``params`` proxy); FLOPs are multiply-adds of convolutions and linear layers (the ``flops``
proxy's count). Latency is *measured*: the median wall time of repeated batch-1 forwards in eval
mode on a given device, so it depends on the machine and is cached per (space, arch, dataset,
device, machine) in a small side table of the result store file.
"""

from __future__ import annotations

import platform
import sqlite3
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from naswot._seeding import torch_seeded
from naswot.data.batch import Batch
from naswot.data.shapes import input_shape, n_classes_of
from naswot.exceptions import InvalidParameterError, NaswotError
from naswot.networks import NetworkBuilder
from naswot.proxies.flops import Flops
from naswot.spaces import SearchSpace

__all__ = [
    "COST_KINDS",
    "Cost",
    "LatencyCache",
    "build_for_cost",
    "count_cost",
    "count_params",
    "measure_latency",
    "network_cost",
]

#: The cost kinds a budget or a Pareto front can use.
COST_KINDS: tuple[str, ...] = ("params", "flops", "latency")


@dataclass(frozen=True, slots=True)
class Cost:
    """The static cost of one network.

    Attributes:
        params: the number of parameter elements.
        flops: multiply-adds of one forward of one input (convolutions and linear layers).
    """

    params: int
    flops: int

    @property
    def mparams(self) -> float:
        """Parameters in millions."""
        return self.params / 1e6

    @property
    def mflops(self) -> float:
        """Multiply-adds in millions."""
        return self.flops / 1e6


def count_cost(model: nn.Module, shape: tuple[int, ...]) -> Cost:
    """Counts the parameters and multiply-adds of ``model`` for one input of ``shape`` (C, H, W).

    Raises:
        ScoringError: if the model has no convolution or linear layer that runs.
    """
    params = count_params(model)
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    batch = Batch(inputs=torch.zeros((1, *shape), device=device), source="cost count")
    flops = Flops()(model, batch).score
    assert flops is not None  # finite_result never returns None
    return Cost(params=params, flops=int(flops))


def count_params(model: nn.Module) -> int:
    """The number of parameter elements of ``model`` (shared parameters once)."""
    return sum(p.numel() for p in model.parameters())


def build_for_cost(
    space: SearchSpace[Any], builder: NetworkBuilder, arch: Any, *, dataset: str
) -> nn.Module:
    """``arch``'s network with ``dataset``'s classes, built to be measured, not trained.

    Built under a fixed seed in a forked RNG (costs do not depend on weights), so counting never
    disturbs the caller's random state.
    """
    with torch_seeded(0):
        return builder(arch, n_classes=n_classes_of(dataset))


def network_cost(
    space: SearchSpace[Any], builder: NetworkBuilder, arch: Any, *, dataset: str
) -> Cost:
    """The cost of ``arch``'s network with ``dataset``'s classes at ``dataset``'s input shape."""
    model = build_for_cost(space, builder, arch, dataset=dataset)
    return count_cost(model, input_shape(dataset))


def measure_latency(
    model: nn.Module,
    shape: tuple[int, ...],
    *,
    device: torch.device | str = "cpu",
    repeats: int = 20,
    warmup: int = 3,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    """The median wall time (ms) of ``repeats`` batch-1 forwards of ``model`` in eval mode.

    ``warmup`` forwards run first and are not timed; on CUDA every forward is synchronised.
    """
    if repeats < 1 or warmup < 0:
        raise InvalidParameterError(
            f"measure_latency needs repeats >= 1 and warmup >= 0. Got {repeats}, {warmup}."
        )
    device = torch.device(device)
    was_training = model.training
    model.to(device).eval()
    x = torch.zeros((1, *shape), device=device)
    times: list[float] = []
    try:
        with torch.inference_mode():
            for i in range(warmup + repeats):
                start = clock()
                model(x)
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                if i >= warmup:
                    times.append((clock() - start) * 1000.0)
    finally:
        model.train(was_training)
    return float(statistics.median(times))


_LATENCY_SCHEMA = """
CREATE TABLE IF NOT EXISTS latency_ms (
    space TEXT NOT NULL, arch TEXT NOT NULL, dataset TEXT NOT NULL, device TEXT NOT NULL,
    machine TEXT NOT NULL, torch_version TEXT NOT NULL, repeats INTEGER NOT NULL,
    ms REAL NOT NULL, created_at TEXT NOT NULL DEFAULT (datetime('now')),
    PRIMARY KEY (space, arch, dataset, device, machine, torch_version, repeats)
)
"""


def _machine() -> str:
    """Which machine measured: host name, processor and thread count (latency is per machine)."""
    return f"{platform.node()}|{platform.machine()}|{torch.get_num_threads()} threads"


class LatencyCache:
    """Measured latencies kept in a side table (``latency_ms``) of a result store file.

    The scores table and its keys are untouched: this is its own table in the same SQLite file,
    opened with its own connection. A latency is reused only for the same space, architecture,
    dataset, device, machine (host, processor, threads), torch version and repeat count.
    ``path=None`` keeps the measurements in memory.
    """

    def __init__(self, path: Path | str | None) -> None:
        self.path = None if path is None else Path(path)
        try:
            self._db = sqlite3.connect(
                ":memory:" if path is None else str(path), timeout=60.0, isolation_level=None
            )
            self._db.execute(_LATENCY_SCHEMA)
        except sqlite3.Error as e:
            raise NaswotError(f"Cannot keep latencies in {path}: {e}.") from e
        self.hits = 0
        self.misses = 0

    def get_or_measure(
        self,
        space: str,
        arch: str,
        dataset: str,
        device: torch.device,
        measure: Callable[[], float],
        *,
        repeats: int,
    ) -> float:
        """The cached latency of this key, or ``measure()`` stored under it."""
        key = (space, arch, dataset, str(device), _machine(), torch.__version__, repeats)
        row = self._db.execute(
            "SELECT ms FROM latency_ms WHERE space=? AND arch=? AND dataset=? AND device=? "
            "AND machine=? AND torch_version=? AND repeats=?",
            key,
        ).fetchone()
        if row is not None:
            self.hits += 1
            return float(row[0])
        self.misses += 1
        ms = measure()
        self._db.execute(
            "INSERT OR REPLACE INTO latency_ms "
            "(space, arch, dataset, device, machine, torch_version, repeats, ms) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (*key, ms),
        )
        return ms

    def close(self) -> None:
        """Closes the connection."""
        self._db.close()
