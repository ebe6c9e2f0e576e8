"""The oracle adapters (benchmarks/oracles) name registered proxies and import nothing foreign."""

import importlib.util
import sys
from pathlib import Path

from naswot.proxies import PROXIES

ORACLES = Path(__file__).resolve().parents[2] / "benchmarks" / "oracles"


def test_every_adapter_names_a_registered_proxy_variant() -> None:
    spec = importlib.util.spec_from_file_location("oracle_adapters", ORACLES / "adapters.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    before = set(sys.modules)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    assert not {m for m in set(sys.modules) - before if m.startswith(("foresight", "compute_"))}
    for key, adapter in module.ADAPTERS.items():
        name, _, variant = key.partition(":")
        assert adapter.proxy == key
        assert (variant or "default") in PROXIES.get(name).variants
        assert adapter.repo.count("/") == 1 and adapter.files
