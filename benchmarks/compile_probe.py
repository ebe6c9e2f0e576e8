"""Does torch.compile fuse NB201's elementwise passes faster than eager? One stage-1 node.

The block is "batch-norm two conv outputs, add them to a skip input, code and ReLU the sum"
(128x16x32x32, channels_last), and a "code + ReLU" pass alone. It prints the compile time and the
median ms of eager and compiled. Needs a C++ compiler for Inductor.

    python benchmarks/compile_probe.py [--threads 1] [--precision fp32]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F


def bn(x: torch.Tensor) -> torch.Tensor:
    return F.batch_norm(x, None, None, training=True, momentum=0.0, eps=1e-5)


def node(a: torch.Tensor, b: torch.Tensor, s: torch.Tensor) -> tuple[torch.Tensor, ...]:
    total = bn(a) + bn(b) + s
    return total, total.permute(0, 2, 3, 1).reshape(total.shape[0], -1) > 0, F.relu(total)


def code_relu(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return x > 0, torch.relu(x)


def median_ms(f: Callable[..., object], *args: torch.Tensor, repeats: int = 20) -> float:
    f(*args)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        f(*args)
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dtype = torch.bfloat16 if args.precision == "bf16" else torch.float32
    xs = [
        torch.randn(128, 16, 32, 32).to(dtype).contiguous(memory_format=torch.channels_last)
        for _ in range(3)
    ]
    flat = xs[0].permute(0, 2, 3, 1).reshape(128, -1)
    for name, f, inputs in (("node block", node, xs), ("code + ReLU", code_relu, [flat])):
        compiled = torch.compile(f, dynamic=False)
        t = time.perf_counter()
        compiled(*inputs)
        seconds = time.perf_counter() - t
        eager, comp = median_ms(f, *inputs), median_ms(compiled, *inputs)
        print(
            f"{name:<12} compile {seconds:5.1f} s   eager {eager:6.2f} ms   compiled "
            f"{comp:6.2f} ms   ({eager / comp:.2f}x)"
        )


if __name__ == "__main__":
    main()
