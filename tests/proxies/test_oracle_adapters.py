"""The oracle adapters (benchmarks/oracles) name registered proxies and import nothing foreign."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import torch
from torch import nn

from naswot.data.batch import Batch
from naswot.proxies import PROXIES
from naswot.proxies._common import noise_like
from naswot.proxies.az_nas import kaiming_fan_in

ORACLES = Path(__file__).resolve().parents[2] / "benchmarks" / "oracles"


def _adapters() -> ModuleType:
    spec = importlib.util.spec_from_file_location("oracle_adapters", ORACLES / "adapters.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def test_every_adapter_names_a_registered_proxy_variant() -> None:
    before = set(sys.modules)
    module = _adapters()
    assert not {m for m in set(sys.modules) - before if m.startswith(("foresight", "compute_"))}
    for key, adapter in module.ADAPTERS.items():
        name, _, variant = key.partition(":")
        assert adapter.proxy == key
        assert (variant or "default") in PROXIES.get(name).variants
        assert adapter.repo.count("/") == 1 and adapter.files
        assert adapter.undo is None or callable(adapter.undo)
    assert {"az_expressivity", "az_progressivity", "az_trainability"} <= set(module.ADAPTERS)
    assert module.ADAPTERS["vkdnw"].undo is not None
    assert module.ADAPTERS["vkdnw:single"].undo is not None


def test_the_reference_sees_naswots_weights_and_inputs() -> None:
    module = _adapters()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4, 2))
    batch = Batch(torch.zeros(2, 3, 3, 3))
    x, generator = module._naswot_draws(model, batch, 7)
    reference = torch.Generator().manual_seed(7)
    params = kaiming_fan_in(model, reference)
    (seed_x,) = torch.randint(0, 2**62, (1,), generator=reference).tolist()
    assert all(torch.equal(p, params[n]) for n, p in model.named_parameters())
    assert torch.equal(x, noise_like(batch.inputs, seed_x))
    assert torch.equal(torch.rand(3, generator=generator), torch.rand(3, generator=reference))


def test_the_reference_torch_overrides_only_what_it_names() -> None:
    shim = _adapters()._Torch(bernoulli=lambda p: p)
    assert shim.bernoulli(torch.ones(1)).item() == 1.0
    assert shim.zeros is torch.zeros
