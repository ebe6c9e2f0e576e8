"""The layers: descriptions, ensembles and evaluation load without torch."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module", ["naswot.spaces", "naswot.ensembles", "naswot.evaluation", "naswot.benchmarks"]
)
def test_module_does_not_import_torch(module: str) -> None:
    code = f"import sys, {module}; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0, module


def test_the_package_still_offers_its_lazy_names() -> None:
    import naswot

    assert naswot.Status.OK.value == "ok" and callable(naswot.score)
    with pytest.raises(AttributeError):
        naswot.nothing  # noqa: B018


@pytest.mark.parametrize(
    "modules",
    [
        "naswot.parallel, naswot.scoring, naswot.ensembles",  # what each spawned worker loads
        "naswot.cli.main",  # every command's start-up
    ],
)
def test_start_up_does_not_import_scipy_stats(modules: str) -> None:
    """scipy.stats alone takes ~0.6 s to import: the functions that need it import it."""
    code = f"import sys, {modules}; sys.exit('scipy.stats' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0, modules
