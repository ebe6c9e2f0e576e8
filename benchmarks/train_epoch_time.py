"""Estimated time of one NAS-Bench-201 training epoch on full CIFAR-10 on this machine.

Times ``--steps`` training steps at batch 256 (after one warm-up step) and the forward of
``--eval`` test images, then extrapolates to 196 steps (50,000 images) and 10,000 test images,
the work of one epoch of ``naswot train`` on the full dataset. Random inputs: the time does not
depend on the pixels.

python benchmarks/train_epoch_time.py [--arch STR] [--steps 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import time

import torch

from naswot.export import build

DEFAULT = (
    "|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_3x3~1|"
    "+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_3x3~2|"
)


def main() -> None:
    """Prints seconds per step, per test image and the extrapolated epoch."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--arch", default=DEFAULT, help="NB201 cell (default: the README's)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps (default: 5)")
    parser.add_argument("--eval", type=int, default=1000, help="timed test images (default: 1000)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default: 2)")
    parser.add_argument("--device", default="cpu", help="device (default: cpu)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    model = build("nb201", args.arch, n_classes=10).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    x = torch.randn(256, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (256,), device=device)

    def step() -> None:
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    step()
    sync()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    sync()
    per_step = (time.perf_counter() - start) / args.steps
    model.eval()
    xe = torch.randn(500, 3, 32, 32, device=device)
    start = time.perf_counter()
    with torch.inference_mode():
        for _ in range(max(1, args.eval // 500)):
            model(xe)
    sync()
    per_image = (time.perf_counter() - start) / (max(1, args.eval // 500) * 500)
    epoch = 196 * per_step + 10_000 * per_image
    print(
        f"{args.arch} on {device} ({args.threads} threads): {per_step:.2f} s per step of 256, "
        f"{per_image * 1000:.2f} ms per test image; one full CIFAR-10 epoch ~ {epoch / 60:.1f} "
        f"min, 200 epochs ~ {200 * epoch / 3600:.1f} h"
    )


if __name__ == "__main__":
    main()
