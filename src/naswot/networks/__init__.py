"""Network builders: architecture description -> freshly initialised ``nn.Module``."""

from __future__ import annotations

from typing import Any, Protocol

from torch import nn

from naswot.networks.nasbench101 import NB101Network, build_nb101
from naswot.networks.nasbench201 import NB201Network, build_nb201
from naswot.networks.natsbench_sss import NatsSizeNetwork, build_nats_sss
from naswot.networks.nds import build_nds_cifar, build_nds_imagenet
from naswot.networks.nds_anynet import build_anynet_cifar, build_anynet_imagenet
from naswot.registry import Registry

__all__ = [
    "NETWORKS",
    "NB101Network",
    "NB201Network",
    "NatsSizeNetwork",
    "NetworkBuilder",
    "build_nats_sss",
    "build_nb101",
    "build_nb201",
]


class NetworkBuilder(Protocol):
    """Builds a new network for one architecture of a space, under the caller's RNG state."""

    def __call__(self, arch: Any, /, *, n_classes: int) -> nn.Module:  # Any: per space
        """A new network for ``arch`` with ``n_classes`` outputs."""
        ...


# Registered under the same names as the spaces in naswot.spaces.SPACES.
NETWORKS: Registry[NetworkBuilder] = Registry("network builder")
NETWORKS.add("nb201", build_nb201)
NETWORKS.add("nb101", build_nb101)
NETWORKS.add("nats-sss", build_nats_sss)
for _name in ("nds-darts", "nds-enas", "nds-pnas", "nds-nasnet", "nds-amoeba"):
    NETWORKS.add(_name, build_nds_cifar)
    NETWORKS.add(f"{_name}-in", build_nds_imagenet)
for _name in ("nds-resnet", "nds-resnext-a", "nds-resnext-b"):
    NETWORKS.add(_name, build_anynet_cifar)
    NETWORKS.add(f"{_name}-in", build_anynet_imagenet)
