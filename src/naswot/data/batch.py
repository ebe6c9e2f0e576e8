"""The minibatch that a proxy scores, with where it came from."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import torch

__all__ = ["Batch"]


@dataclass(frozen=True, slots=True)
class Batch:
    """One minibatch of inputs and (optional) labels, with its provenance.

    Attributes:
        inputs: float32 tensor of shape (B, C, H, W), already normalised.
        targets: int64 tensor of shape (B,), or None when the inputs have no labels (noise).
        dataset: the dataset name (``cifar10``, ``cifar100``, ``imagenet16-120``, ``noise``, ...).
        source: a human-readable description of where the images came from.
        seed: the seed the batch was drawn with, or None when it is fixed (the bundled batch).
        indices: the indices of the images in their split, when known.
    """

    inputs: torch.Tensor
    targets: torch.Tensor | None = None
    dataset: str = "custom"
    source: str = "user-supplied tensor"
    seed: int | None = None
    indices: tuple[int, ...] | None = field(default=None, repr=False)

    @property
    def size(self) -> int:
        """The number of inputs (B)."""
        return int(self.inputs.shape[0])

    @property
    def fingerprint(self) -> str:
        """A SHA-256 prefix of the exact input values, shape and dtype (identifies the batch)."""
        x = self.inputs.detach().to("cpu").contiguous()
        h = hashlib.sha256(f"{tuple(x.shape)}|{x.dtype}".encode())
        h.update(x.numpy().tobytes())
        return h.hexdigest()[:16]

    def to(self, device: torch.device | str) -> Batch:
        """A copy of this batch with its tensors on ``device``."""
        return Batch(
            inputs=self.inputs.to(device),
            targets=None if self.targets is None else self.targets.to(device),
            dataset=self.dataset,
            source=self.source,
            seed=self.seed,
            indices=self.indices,
        )
