"""The training loop: NAS-Bench-201's recipe, a CSV log, a checkpoint per epoch, exact resume.

The recipe (Dong and Yang, "NAS-Bench-201", ICLR 2020, Sec. 2.3 and Table 1): SGD with Nesterov
momentum 0.9, weight decay 5e-4, learning rate 0.1 decayed to 0 by a cosine schedule (updated
every iteration, as the authors' ``CosineAnnealingLR`` with fractional epochs), batch 256, 200
epochs, cross-entropy, random crop (padding 4) and horizontal flip, the scoring normalisation.

Resuming reloads the model, the optimizer (momentum buffers), the step counter, torch's RNG and
the augmentation generator from ``checkpoint.pt``: a run stopped after epoch k and resumed ends
with the same weights, bit for bit on the same device, as a run that was never stopped.
"""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn
from tqdm.auto import tqdm

from naswot._io import atomic_path, atomic_write_text
from naswot._seeding import derive_seed
from naswot.exceptions import InvalidParameterError, NaswotError
from naswot.training.data import Augment, ImageData

__all__ = ["CHECKPOINT", "LOG", "EpochRecord", "TrainConfig", "Trainer", "evaluate"]

CHECKPOINT = "checkpoint.pt"
LOG = "train_log.csv"
_EVAL_BATCH = 500


@dataclass(frozen=True)
class TrainConfig:
    """A training recipe; the defaults are NAS-Bench-201's 200-epoch schedule.

    Attributes:
        epochs: passes over the training images.
        batch_size: images per step (the last step of an epoch takes the rest).
        lr: the initial learning rate, decayed to 0 by a per-step cosine.
        momentum, nesterov, weight_decay: SGD's.
        padding: zero padding before the random crop (0: no crop); flip: random flips.
        seed: seeds the augmentation and torch's generator during training.
        limit: the first ``limit`` training images only (None: all); the test split is whole.
    """

    epochs: int = 200
    batch_size: int = 256
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    padding: int = 4
    flip: bool = True
    seed: int = 1
    limit: int | None = None

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise InvalidParameterError(
                    f"TrainConfig.{name} must be an int >= 1. Got {value!r} instead."
                )
        if not self.lr > 0 or self.weight_decay < 0 or not 0 <= self.momentum < 1:
            raise InvalidParameterError(
                f"TrainConfig needs lr > 0, weight_decay >= 0 and 0 <= momentum < 1; got "
                f"{self.lr}, {self.weight_decay}, {self.momentum}."
            )


@dataclass(frozen=True)
class EpochRecord:
    """One row of ``train_log.csv``."""

    epoch: int
    lr: float
    train_loss: float
    train_acc: float
    test_loss: float
    test_acc: float
    seconds: float


def evaluate(
    model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, *, device: torch.device
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy (%) of ``model`` in eval mode over all of ``inputs``."""
    was_training = model.training
    model.eval()
    loss_sum, correct = 0.0, 0
    try:
        with torch.inference_mode():
            for start in range(0, len(inputs), _EVAL_BATCH):
                x = inputs[start : start + _EVAL_BATCH].to(device)
                y = labels[start : start + _EVAL_BATCH].to(device)
                out = model(x)
                loss_sum += float(nn.functional.cross_entropy(out, y, reduction="sum"))
                correct += int((out.argmax(1) == y).sum())
    finally:
        model.train(was_training)
    return loss_sum / len(inputs), 100.0 * correct / len(inputs)


def cosine_lr(base: float, step: int, total: int) -> float:
    """The learning rate at ``step`` of ``total``: ``base/2 (1 + cos(pi step/total))``."""
    return 0.5 * base * (1.0 + math.cos(math.pi * step / total))


class Trainer:
    """Trains ``model`` on ``data`` with ``config``, writing the log and checkpoint in ``out``.

    Args:
        model: the network (moved to ``device``).
        data: the training and test images.
        config: the recipe.
        out: the folder for ``train_log.csv`` and ``checkpoint.pt``.
        device: where to train.
        progress: show a progress bar (loss, accuracy, ETA) on stderr.
        on_epoch: called with each finished epoch's record.
    """

    def __init__(
        self,
        model: nn.Module,
        data: ImageData,
        config: TrainConfig,
        out: Path,
        *,
        device: torch.device | str = "cpu",
        progress: bool = False,
        on_epoch: Callable[[EpochRecord], None] | None = None,
    ) -> None:
        self.device = torch.device(device)
        self.model = model.to(self.device)
        self.data = data
        self.config = config
        self.out = Path(out)
        self.progress = progress
        self.on_epoch = on_epoch
        self.optimizer = torch.optim.SGD(
            model.parameters(),
            lr=config.lr,
            momentum=config.momentum,
            nesterov=config.nesterov,
            weight_decay=config.weight_decay,
        )
        self.augment = Augment(
            derive_seed(config.seed, "augment"), padding=config.padding, flip=config.flip
        )
        self.epoch = 0
        self.step = 0
        self.log: list[EpochRecord] = []
        self._torch_state: torch.Tensor | None = None
        n = len(data.train_labels)
        self.steps_per_epoch = -(-n // config.batch_size)
        self._test_x = data.inputs(data.test_images)
        self._test_y = torch.from_numpy(data.test_labels.astype(np.int64))

    @property
    def checkpoint_path(self) -> Path:
        """Where the checkpoint is written after every epoch."""
        return self.out / CHECKPOINT

    def resume(self) -> None:
        """Loads ``checkpoint.pt``; raises NaswotError if missing or made with another recipe."""
        path = self.checkpoint_path
        try:
            state = torch.load(path, map_location=self.device, weights_only=True)
        except FileNotFoundError:
            raise NaswotError(f"--resume: there is no checkpoint {path}.") from None
        except Exception as e:  # a corrupt file: one line
            raise NaswotError(f"Cannot read the checkpoint {path} ({type(e).__name__}).") from e
        if state.get("config") != asdict(self.config):
            diff = {
                k: (state.get("config", {}).get(k), v)
                for k, v in asdict(self.config).items()
                if state.get("config", {}).get(k) != v
            }
            raise NaswotError(
                f"The checkpoint {path} was made with another recipe (saved, now): {diff}; "
                "resume with the same options or start a new folder."
            )
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.augment.set_state(state["augment"])
        self._torch_state = state["torch_rng"]
        self.epoch = int(state["epoch"])
        self.step = int(state["step"])
        self.log = [EpochRecord(**r) for r in state["log"]]

    def _save(self) -> None:
        state = {
            "config": asdict(self.config),
            "epoch": self.epoch,
            "step": self.step,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "augment": self.augment.state(),
            "torch_rng": torch.get_rng_state(),
            "log": [asdict(r) for r in self.log],
        }
        with atomic_path(self.checkpoint_path) as tmp:
            torch.save(state, tmp)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=[f.name for f in fields(EpochRecord)])
        writer.writeheader()
        writer.writerows(asdict(r) for r in self.log)
        atomic_write_text(self.out / LOG, buffer.getvalue())

    def run(self, *, stop_after: int | None = None) -> list[EpochRecord]:
        """Trains up to ``config.epochs`` (or until epoch ``stop_after``); returns the log."""
        config = self.config
        last = config.epochs if stop_after is None else min(stop_after, config.epochs)
        total = config.epochs * self.steps_per_epoch
        self.out.mkdir(parents=True, exist_ok=True)
        bar = tqdm(
            total=total,
            initial=self.step,
            desc="train",
            unit="step",
            disable=not self.progress,
            dynamic_ncols=True,
        )
        with torch.random.fork_rng(devices=[]):
            if self._torch_state is None:
                torch.manual_seed(derive_seed(config.seed, "torch"))
            else:
                torch.set_rng_state(self._torch_state)
            try:
                while self.epoch < last:
                    record = self._epoch(bar, total)
                    self.log.append(record)
                    self._save()
                    if self.on_epoch is not None:
                        bar.clear()
                        self.on_epoch(record)
            finally:
                self._torch_state = torch.get_rng_state()
                bar.close()
        return self.log

    def _epoch(self, bar: Any, total: int) -> EpochRecord:  # Any: tqdm
        config, model, data = self.config, self.model, self.data
        start = time.perf_counter()
        model.train()
        order = self.augment.permutation(len(data.train_labels))
        loss_sum, correct, seen = 0.0, 0, 0
        lr = config.lr
        for first in range(0, len(order), config.batch_size):
            idx: npt.NDArray[np.int64] = order[first : first + config.batch_size]
            x = data.inputs(self.augment(data.train_images[idx])).to(self.device)
            y = torch.from_numpy(data.train_labels[idx].astype(np.int64)).to(self.device)
            lr = cosine_lr(config.lr, self.step, total)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            out = model(x)
            loss = nn.functional.cross_entropy(out, y)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            self.optimizer.step()
            self.step += 1
            loss_sum += float(loss.detach()) * len(idx)
            correct += int((out.argmax(1) == y).sum())
            seen += len(idx)
            bar.set_postfix(
                epoch=f"{self.epoch + 1}/{config.epochs}",
                loss=f"{loss_sum / seen:.3f}",
                acc=f"{100.0 * correct / seen:.1f}%",
                refresh=False,
            )
            bar.update()
        test_loss, test_acc = evaluate(model, self._test_x, self._test_y, device=self.device)
        self.epoch += 1
        return EpochRecord(
            epoch=self.epoch,
            lr=lr,
            train_loss=loss_sum / seen,
            train_acc=100.0 * correct / seen,
            test_loss=test_loss,
            test_acc=test_acc,
            seconds=time.perf_counter() - start,
        )
