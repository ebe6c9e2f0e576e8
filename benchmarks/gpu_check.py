"""GPU check: the CUDA path of naswot in one run of at most 5 minutes (run by gpu_check.sh).

Stages, each with a time budget (seconds of the real run) so the whole run fits 5 minutes; a
stage that runs out of time stops between cells and reports what it did:

1. environment: Python, torch, CUDA, the device, naswot;
2. the ``gpu``-marked tests (pytest on the files that use the marker);
3. CUDA against CPU: the same cells and weights scored on both (fast engine on a noise batch of
   128 and on the bundled 20 CIFAR-10 images, with cuDNN's TF32 convolutions on (torch's default)
   and off; the module engine on a few cells). Pass: Spearman >= 0.999 over the cells finite on
   both and the same ``-inf`` cells;
4. the paper's search, ``naswot search --n-samples 100`` (paper: 30 s on a GTX 1080 Ti), through
   the CLI in a fresh process with each engine, and the bare start-up (import + CUDA init);
5. throughput: 1,000 cells with the fast engine, projected to the whole space (15,625 cells);
6. concurrency: the same cells scored sequentially and from several threads, each with its own
   CUDA stream (the scorer has no batched multi-architecture forward; one small NB201 network
   leaves a large GPU mostly idle, so overlapping cells is the cheap way to fill it);
7. the proxy suite: every registered proxy on 100 cells (module engine).

The report (markdown) goes to ``$OUT/gpu_check.md`` (and the figures to ``$OUT/gpu_check.json``)
when ``$OUT`` is set, and always to stdout. ``--dry-run`` runs every stage on the CPU with 3
cells and small batches (well under a minute): it tests this script, not the GPU.

Inputs are the bundled 20 CIFAR-10 images and seeded N(0, 1) noise (timings do not depend on the
pixels), unless ``--data-dir`` names a folder with ``cifar-10-batches-py``. The device machine has
no internet: nothing is downloaded.

    benchmarks/gpu_check.sh [--dry-run]
    python benchmarks/gpu_check.py [--dry-run] [--device cuda] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
WHOLE_SPACE = 15_625
PAPER_SEARCH_SECONDS = 30.0  # N=100 on a GTX 1080 Ti (Mellor et al. 2021, Table 2)
MIN_SPEARMAN = 0.999


@dataclass(frozen=True)
class Plan:
    """Counts, batch sizes and per-stage budgets (seconds) of one run."""

    device: str
    agree_cells: int = 100
    module_cells: int = 10
    search_samples: int = 100
    throughput_cells: int = 1000
    stream_cells: int = 300
    streams: tuple[int, ...] = (4, 8)
    proxy_cells: int = 100
    batch: int = 128  # noise batch (the paper's batch size)
    real_batch: int = 20  # the bundled images
    budgets: dict[str, float] = field(
        default_factory=lambda: {
            "tests": 30.0,
            "agreement": 40.0,
            "search": 70.0,
            "throughput": 35.0,
            "streams": 25.0,
            "proxies": 45.0,
        }
    )


def dry_plan() -> Plan:
    return Plan(
        device="cpu",
        agree_cells=3,
        module_cells=2,
        search_samples=3,
        throughput_cells=3,
        stream_cells=3,
        streams=(2,),
        proxy_cells=2,
        batch=8,
        real_batch=8,
        # generous: the tiny counts end each stage, on a loaded machine too
        budgets=dict.fromkeys(
            ("tests", "agreement", "search", "throughput", "streams", "proxies"), 60.0
        ),
    )


# --------------------------------------------------------------------------------------------
# Report


class Report:
    """Markdown sections written out after each stage, so a killed run keeps what it did."""

    def __init__(self, out: Path | None) -> None:
        self.out = out
        self.lines: list[str] = []
        self.figures: dict[str, Any] = {}
        self.failures: list[str] = []
        self.printed = 0

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def fail(self, what: str) -> None:
        self.failures.append(what)
        self.add(f"**FAILED:** {what}")

    def flush(self) -> None:
        """Prints the lines added since the last flush; rewrites the files under ``out``."""
        print("\n".join(self.lines[self.printed :]), flush=True)
        self.printed = len(self.lines)
        if self.out is None:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "gpu_check.md").write_text("\n".join(self.lines) + "\n")
        figures = {**self.figures, "failures": self.failures}
        (self.out / "gpu_check.json").write_text(json.dumps(figures, indent=2, default=str) + "\n")


def stage(report: Report, title: str, fn: Callable[[], None]) -> None:
    report.add("", f"## {title}", "")
    start = time.perf_counter()
    try:
        fn()
    except Exception as e:  # noqa: BLE001 -- one broken stage must not hide the others
        report.fail(f"{title}: {type(e).__name__}: {e}")
    report.add("", f"_stage time {time.perf_counter() - start:.1f} s_")
    report.flush()


# --------------------------------------------------------------------------------------------
# Scoring helpers


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@contextlib.contextmanager
def cudnn_tf32(enabled: bool) -> Iterator[None]:
    old = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = enabled
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32 = old


@dataclass
class Scored:
    keys: list[str]
    scores: list[float | None]
    statuses: list[str]
    seconds: float

    @property
    def rate(self) -> float:
        return len(self.keys) / self.seconds if self.seconds > 0 else math.nan


def cells(n: int, seed: int = 1) -> list[str]:
    from naswot.spaces import NasBench201Space

    space = NasBench201Space()
    rng = np.random.default_rng(seed)
    return [space.key(space.sample(rng)) for _ in range(n)]


def score(
    keys: Sequence[str],
    batch: Any,
    device: torch.device,
    *,
    engine: str = "fast",
    proxy_name: str = "naswot",
    budget: float = math.inf,
    seed: int = 1,
) -> Scored:
    """Scores ``keys`` one by one (as the CLI does), stopping between cells when out of time.

    At least one cell is scored, whatever the budget.
    """
    from naswot.cli._proxies import n_classes_for, resolve_proxy
    from naswot.exceptions import Interrupted
    from naswot.fast import FastNB201
    from naswot.networks import build_nb201
    from naswot.parallel import ScoringJob
    from naswot.proxies import PROXIES
    from naswot.spaces import NasBench201Space

    proxy = resolve_proxy(proxy_name, PROXIES.get(proxy_name).variants[0])
    job = ScoringJob(
        space=NasBench201Space(),
        builder=build_nb201,
        proxy=proxy,
        batch=batch,
        seed=seed,
        device=str(device),
        fast=FastNB201(proxy.variant) if engine == "fast" else None,
        n_classes=n_classes_for(proxy, batch.dataset),
    )
    records: list[Any] = []
    deadline = time.perf_counter() + budget
    sync(device)
    start = time.perf_counter()
    with contextlib.suppress(Interrupted):
        job.run(
            list(keys),
            on_record=records.append,
            stop=lambda: bool(records) and time.perf_counter() > deadline,
        )
    sync(device)
    seconds = time.perf_counter() - start
    return Scored(
        [r.arch for r in records],
        [r.score for r in records],
        [r.status for r in records],
        seconds,
    )


def score_concurrently(
    keys: Sequence[str],
    batch: Any,
    device: torch.device,
    n_threads: int,
    *,
    budget: float = math.inf,
    seed: int = 1,
) -> Scored:
    """The fast engine from ``n_threads`` threads, each on its own CUDA stream.

    Weights are drawn in this thread, one cell at a time, under the same per-cell seed as
    ``naswot.scoring.score_one`` (torch's global RNG is process-wide); the forwards and kernel
    products run in the workers. On the CPU (the dry run) the threads share no stream. No new
    cell is started after ``budget`` seconds; the result covers the cells started.
    """
    from naswot._seeding import derive_seed, torch_seeded
    from naswot.fast import FastNB201
    from naswot.proxies import log_abs_det
    from naswot.spaces import NasBench201Space

    space = NasBench201Space()
    fast = FastNB201()
    inputs = batch.to(device).inputs
    streams = (
        [torch.cuda.Stream(device) for _ in range(n_threads)]
        if device.type == "cuda"
        else [None] * n_threads
    )
    archs = [space.parse(k) for k in keys]

    def work(i: int, weights: Any) -> float:
        s = streams[i % n_threads]
        ctx = torch.cuda.stream(s) if s is not None else contextlib.nullcontext()
        with ctx, torch.no_grad():
            kernel, _, _ = fast.kernel(archs[i], inputs, weights)
            return log_abs_det(kernel)  # copies K to the CPU: waits for this stream only

    sync(device)
    start = time.perf_counter()
    with ThreadPoolExecutor(n_threads) as pool:
        futures = []
        for i, arch in enumerate(archs):
            if i and time.perf_counter() > start + budget:
                break
            with torch_seeded(derive_seed(seed, space.name, space.key(arch)), devices=[device]):
                weights = fast.draw_weights(arch)
            futures.append(pool.submit(work, i, weights))
        scores: list[float | None] = [f.result() for f in futures]
    sync(device)
    seconds = time.perf_counter() - start
    statuses = ["ok" if s is not None and math.isfinite(s) else "singular" for s in scores]
    return Scored(list(keys[: len(scores)]), scores, statuses, seconds)


def compare(a: Scored, b: Scored) -> dict[str, Any]:
    """Spearman over the cells finite in both, the -inf cells of each, the largest difference."""
    from scipy.stats import spearmanr

    n = min(len(a.keys), len(b.keys))
    assert a.keys[:n] == b.keys[:n]
    errors = [
        k for k, sa, sb in zip(a.keys, a.statuses, b.statuses, strict=False) if "error" in (sa, sb)
    ]
    inf_a = {k for k, s in zip(a.keys[:n], a.scores[:n], strict=True) if s == -math.inf}
    inf_b = {k for k, s in zip(b.keys[:n], b.scores[:n], strict=True) if s == -math.inf}
    pairs = [
        (x, y)
        for x, y in zip(a.scores[:n], b.scores[:n], strict=True)
        if x is not None and y is not None and math.isfinite(x) and math.isfinite(y)
    ]
    if len(pairs) >= 3:
        rho = float(spearmanr([p[0] for p in pairs], [p[1] for p in pairs]).statistic)
    else:
        rho = math.nan  # too few cells to rank
    return {
        "cells": n,
        "finite_both": len(pairs),
        "spearman": rho,
        "same_inf": inf_a == inf_b,
        "inf_a": len(inf_a),
        "inf_b": len(inf_b),
        "max_abs_diff": max((abs(x - y) for x, y in pairs), default=0.0),
        "errors": errors,
    }


def check_agreement(report: Report, label: str, c: dict[str, Any], *, dry: bool) -> None:
    rho = c["spearman"]
    report.add(
        f"| {label} | {c['cells']} | {c['finite_both']} | "
        f"{'n/a' if math.isnan(rho) else f'{rho:.6f}'} | {c['inf_a']} / {c['inf_b']} | "
        f"{c['same_inf']} | {c['max_abs_diff']:.3g} |"
    )
    if c["errors"]:
        report.fail(f"{label}: scoring errors on {c['errors'][:3]}")
    if not c["same_inf"]:
        report.fail(f"{label}: the -inf cells differ")
    if not math.isnan(rho) and rho < MIN_SPEARMAN:
        report.fail(f"{label}: Spearman {rho:.6f} < {MIN_SPEARMAN}")
    if math.isnan(rho) and not dry:
        report.fail(f"{label}: fewer than 3 cells finite on both")


def run_python(args: Sequence[str], timeout: float) -> tuple[float, int, str]:
    """Runs ``python ARGS`` in a fresh process: (seconds, exit code (124: timeout), output)."""
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return time.perf_counter() - start, 124, f"timed out after {timeout:.0f} s"
    return time.perf_counter() - start, done.returncode, (done.stdout + done.stderr).strip()


# --------------------------------------------------------------------------------------------
# Stages


class Check:
    def __init__(self, plan: Plan, report: Report, data_dir: Path | None, dry: bool) -> None:
        from naswot.data import load_batch

        self.plan, self.report, self.dry = plan, report, dry
        self.device = torch.device(plan.device)
        if data_dir is not None:
            self.noise = load_batch("cifar10", data_dir=data_dir, batch_size=plan.batch, seed=1)
        else:
            self.noise = load_batch("noise", batch_size=plan.batch, seed=1)
        self.real = load_batch("cifar10", batch_size=plan.real_batch, seed=1)
        self.data_dir = data_dir

    def budget(self, name: str) -> float:
        return self.plan.budgets[name]

    def warm_up(self) -> None:
        """One cell per engine first (CUDA context, cuDNN, allocator), not timed elsewhere."""
        fast = score(cells(1, seed=99), self.noise, self.device)
        module = score(cells(1, seed=99), self.noise, self.device, engine="module")
        self.report.add(f"first cell: fast {fast.seconds:.2f} s, module {module.seconds:.2f} s")

    # 1
    def environment(self) -> None:
        from naswot import __version__

        r, d = self.report, self.device
        info: dict[str, Any] = {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": np.__version__,
            "naswot": __version__,
            "device": str(d),
            "cuda_available": torch.cuda.is_available(),
            "torch_cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version()
            if torch.backends.cudnn.is_available()
            else None,
            "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
            "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
            "threads": torch.get_num_threads(),
            "commit": git_commit(),
        }
        if d.type == "cuda":
            props = torch.cuda.get_device_properties(d)
            info["gpu"] = props.name
            info["gpu_memory_gib"] = round(props.total_memory / 2**30, 1)
            info["capability"] = f"{props.major}.{props.minor}"
        r.figures["environment"] = info
        r.add(*(f"- {k}: {v}" for k, v in info.items()))
        r.add(f"- noise batch: {self.noise.source} ({self.noise.size})")
        r.add(f"- real batch: {self.real.source} ({self.real.size})")

    # 2
    def tests(self) -> None:
        r = self.report
        files = sorted(
            str(p.relative_to(REPO))
            for p in (REPO / "tests").rglob("test_*.py")
            if "pytest.mark.gpu" in p.read_text(errors="replace")
        )
        try:
            import pytest  # noqa: F401
        except ImportError:
            r.add("not run: pytest is not installed here")
            r.figures["tests"] = "pytest missing"
            return
        cmd = [sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider", *files]
        try:
            done = subprocess.run(
                cmd, cwd=REPO, capture_output=True, text=True, timeout=self.budget("tests")
            )
        except subprocess.TimeoutExpired:
            r.fail(f"the gpu tests ran past {self.budget('tests'):.0f} s")
            return
        tail = (done.stdout + done.stderr).strip().splitlines()[-8:]
        r.add(f"`{' '.join(cmd[1:])}` -> exit {done.returncode}", "", "```", *tail, "```")
        r.figures["tests"] = {"files": files, "exit": done.returncode, "tail": tail}
        if done.returncode not in (0, 5):  # 5: nothing collected
            r.fail("the gpu-marked tests failed")

    # 3
    def agreement(self) -> None:
        r, p = self.report, self.plan
        cpu = torch.device("cpu")
        keys = cells(p.agree_cells)
        share = self.budget("agreement") / 8
        r.add(
            f"Cells: {len(keys)} seeded NB201 cells (seed 1), the same per-cell weights on both "
            f"devices. Pass: Spearman >= {MIN_SPEARMAN} and the same -inf cells."
            + (
                " (Dry run: both sides are the CPU; this only exercises the comparison.)"
                if self.dry
                else ""
            ),
            "",
            "| comparison | cells | finite on both | Spearman | -inf (CPU / device) | same -inf "
            "| max abs diff |",
            "|---|---|---|---|---|---|---|",
        )
        figures: dict[str, Any] = {}
        runs: list[tuple[str, Any, str, bool | None, list[str]]] = [
            (f"fast, {self.noise.dataset} {self.noise.size}", self.noise, "fast", None, keys),
            (f"fast, bundled cifar10 {self.real.size}", self.real, "fast", None, keys),
        ]
        if self.device.type == "cuda" and torch.backends.cudnn.allow_tf32:
            runs.append(
                (
                    f"fast, {self.noise.dataset} {self.noise.size}, TF32 conv off",
                    self.noise,
                    "fast",
                    False,
                    keys,
                )
            )
        runs.append(
            (
                f"module, bundled cifar10 {self.real.size}",
                self.real,
                "module",
                None,
                keys[: p.module_cells],
            )
        )
        for label, batch, engine, tf32, ks in runs:
            with cudnn_tf32(torch.backends.cudnn.allow_tf32 if tf32 is None else tf32):
                here = score(ks, batch, self.device, engine=engine, budget=share)
            base = score(here.keys, batch, cpu, engine=engine, budget=share)
            c = compare(base, here)
            figures[label] = c
            check_agreement(r, label, c, dry=self.dry)
        r.figures["agreement"] = figures

    # 4
    def search(self) -> None:
        r, p = self.report, self.plan
        device = str(self.device)
        data = (
            ["--dataset", "cifar10", "--data-dir", str(self.data_dir)]
            if self.data_dir is not None
            else ["--dataset", "noise"]
        )
        common = [
            "search", "--space", "nb201", "--n-samples", str(p.search_samples), "--seed", "1",
            "--device", device, "--batch-size", str(p.batch), "--no-store", "--quiet", *data,
        ]  # fmt: skip
        startup = "import torch, naswot.cli; " + (
            "torch.zeros(1, device='cuda'); torch.cuda.synchronize()" if device != "cpu" else ""
        )
        budget = self.budget("search")
        start = time.perf_counter()
        deadline = start + budget
        base, base_code, base_out = run_python(["-c", startup], timeout=budget / 4)
        if base_code != 0:
            r.fail(f"start-up alone exited {base_code}: {base_out[-300:]}")
        r.add(
            f"`naswot search {' '.join(common[1:])} --engine E` in a fresh process (wall "
            f"includes start-up). Paper: {PAPER_SEARCH_SECONDS:.0f} s on a GTX 1080 Ti.",
            "",
            "| engine | wall | minus start-up | exit | best |",
            "|---|---|---|---|---|",
            f"| (start-up only: {'import + CUDA init' if device != 'cpu' else 'import'}) "
            f"| {base:.1f} s | | {base_code} | |",
        )
        figures: dict[str, Any] = {"startup_s": base}
        for engine in ("fast", "module"):
            # the fast engine gets half of what is left, the module engine the rest
            left = deadline - time.perf_counter()
            timeout = max(1.0, left / 2 if engine == "fast" else left)
            wall, code, out = run_python(["-m", "naswot", *common, "--engine", engine], timeout)
            best = (out.splitlines()[-1][:120] if out else "").replace("|", "\\|")
            r.add(f"| {engine} | {wall:.1f} s | {wall - base:.1f} s | {code} | `{best}` |")
            figures[engine] = {"wall_s": wall, "exit": code, "out": out[-500:]}
            if code != 0:
                r.fail(f"search with --engine {engine} exited {code}: {out[-300:]}")
        r.figures["search"] = figures

    # 5
    def throughput(self) -> None:
        r, p = self.report, self.plan
        s = score(
            cells(p.throughput_cells, seed=2),
            self.noise,
            self.device,
            budget=self.budget("throughput"),
        )
        whole = WHOLE_SPACE / s.rate
        r.add(
            f"Fast engine (fp32), batch {self.noise.size}, one cell at a time: {len(s.keys)} of "
            f"{p.throughput_cells} cells in {s.seconds:.1f} s = **{s.rate:.1f} cells/s**; the "
            f"whole space ({WHOLE_SPACE:,} cells) would take **{whole / 60:.1f} min** at this rate."
        )
        if len(s.keys) < p.throughput_cells:
            r.add(f"(stopped at the stage budget of {self.budget('throughput'):.0f} s)")
        r.figures["throughput"] = {
            "cells": len(s.keys),
            "seconds": s.seconds,
            "cells_per_s": s.rate,
            "whole_space_min": whole / 60,
        }

    # 6
    def streams(self) -> None:
        r, p = self.report, self.plan
        keys = cells(p.stream_cells, seed=3)
        seq = score(keys, self.noise, self.device, budget=self.budget("streams") / 3)
        keys = seq.keys
        kind = (
            "threads, one CUDA stream each"
            if self.device.type == "cuda"
            else "threads (CPU: no streams)"
        )
        r.add(
            f"{len(keys)} cells, batch {self.noise.size}: sequential {seq.rate:.1f} cells/s.",
            "",
            f"| {kind} | cells/s | speed-up | Spearman vs sequential | same -inf | max abs diff |",
            "|---|---|---|---|---|---|",
        )
        figures: dict[str, Any] = {"sequential_cells_per_s": seq.rate, "cells": len(keys)}
        notes: list[str] = []
        deadline = time.perf_counter() + self.budget("streams") * 2 / 3
        for i, n in enumerate(p.streams):
            left = (deadline - time.perf_counter()) / (len(p.streams) - i)
            conc = score_concurrently(keys, self.noise, self.device, n, budget=left)
            if len(conc.keys) < len(keys):
                notes.append(f"({n} threads: {len(conc.keys)} of {len(keys)} cells in the budget)")
            c = compare(seq, conc)
            rho = c["spearman"]
            r.add(
                f"| {n} | {conc.rate:.1f} | {conc.rate / seq.rate:.2f}x | "
                f"{'n/a' if math.isnan(rho) else f'{rho:.6f}'} | {c['same_inf']} | "
                f"{c['max_abs_diff']:.3g} |"
            )
            figures[f"threads_{n}"] = {"cells_per_s": conc.rate, **c}
            if not c["same_inf"] or (not math.isnan(rho) and rho < MIN_SPEARMAN):
                r.fail(f"concurrent scoring with {n} threads disagrees with sequential scoring")
        r.add(*notes)
        r.figures["streams"] = figures

    # 7
    def proxies(self) -> None:
        from naswot.proxies import PROXIES

        r, p = self.report, self.plan
        names = sorted(PROXIES.names())
        keys = cells(p.proxy_cells, seed=4)
        batch = self.labelled()
        share = self.budget("proxies") / len(names)
        r.add(
            f"Module engine, {batch.source}, {p.proxy_cells} cells per proxy, at most "
            f"{share:.1f} s each (default variant).",
            "",
            "| proxy | cells | cells/s | ok | singular / degenerate | errors |",
            "|---|---|---|---|---|---|",
        )
        figures: dict[str, Any] = {}
        for name in names:
            s = score(keys, batch, self.device, engine="module", proxy_name=name, budget=share)
            ok = s.statuses.count("ok")
            errors = s.statuses.count("error")
            r.add(
                f"| {name} | {len(s.keys)} | {s.rate:.1f} | {ok} | {len(s.keys) - ok - errors} "
                f"| {errors} |"
            )
            figures[name] = {
                "cells": len(s.keys),
                "cells_per_s": s.rate,
                "ok": ok,
                "errors": errors,
            }
            if errors:
                r.fail(f"proxy {name}: {errors} scoring errors")
        r.figures["proxies"] = figures

    def labelled(self) -> Any:
        """A labelled batch of the plan's size: real images if given, else noise with labels."""
        from naswot.data import Batch

        if self.noise.targets is not None:
            return self.noise
        generator = torch.Generator().manual_seed(1)
        targets = torch.randint(0, 10, (self.noise.size,), generator=generator)
        return Batch(
            inputs=self.noise.inputs,
            targets=targets,
            dataset="cifar10",
            source=f"{self.noise.size} N(0, 1) inputs with seeded random CIFAR-10 labels",
            seed=1,
        )


def git_commit() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return done.stdout.strip() or "unknown (no git here)"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="CPU, 3 cells: tests this script")
    parser.add_argument("--device", default=None, help="default: cuda (cpu with --dry-run)")
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="folder with cifar-10-batches-py"
    )
    args = parser.parse_args(argv)
    plan = dry_plan() if args.dry_run else Plan(device="cuda")
    if args.device:
        plan = replace(plan, device=args.device)
    out = Path(os.environ["OUT"]) if os.environ.get("OUT") else None
    report = Report(out)
    title = "GPU check" + (
        " (DRY RUN on the CPU: tests the script, measures nothing)" if args.dry_run else ""
    )
    report.add(f"# {title}", "", f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}")
    if plan.device.startswith("cuda") and not torch.cuda.is_available():
        report.fail("CUDA is not available here (use --dry-run to test the script on the CPU)")
        report.flush()
        return 1

    from naswot import tune_malloc

    tune_malloc()
    check = Check(plan, report, args.data_dir, args.dry_run)
    start = time.perf_counter()
    stage(report, "Environment", check.environment)
    stage(report, "gpu-marked tests", check.tests)
    stage(report, "Warm-up", check.warm_up)
    stage(report, "CUDA against CPU", check.agreement)
    stage(report, f"Search, N={plan.search_samples}", check.search)
    stage(report, f"Throughput, {plan.throughput_cells} cells", check.throughput)
    stage(report, "Concurrent cells", check.streams)
    stage(report, "Proxy suite", check.proxies)
    report.figures["total_s"] = time.perf_counter() - start
    verdict = "all checks passed" if not report.failures else f"{len(report.failures)} failed"
    report.add("", f"**Total {report.figures['total_s']:.0f} s; {verdict}.**")
    report.flush()
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
