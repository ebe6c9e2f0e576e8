"""Training a found network: the NAS-Bench-201 recipe, per-epoch CSV log, checkpoints, resume.

``naswot train`` is the command; the pieces are:

* :class:`TrainConfig`: the recipe (defaults: NAS-Bench-201's 200-epoch schedule);
* :class:`ImageData` / :func:`load_image_data`: a dataset's training and test splits in memory;
* :class:`Augment`: random crop with zero padding and horizontal flip from a seeded numpy
  generator whose state is checkpointed;
* :class:`Trainer`: the loop, with :meth:`Trainer.run` resuming bit-identically from its
  checkpoint.
"""

from __future__ import annotations

from naswot.training.data import Augment, ImageData, load_image_data
from naswot.training.loop import CHECKPOINT, LOG, EpochRecord, TrainConfig, Trainer, evaluate

__all__ = [
    "CHECKPOINT",
    "LOG",
    "Augment",
    "EpochRecord",
    "ImageData",
    "TrainConfig",
    "Trainer",
    "evaluate",
    "load_image_data",
]
