"""The layers: descriptions, ensembles and evaluation load without torch."""

import subprocess
import sys
from pathlib import Path

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


def test_the_table_commands_and_help_start_without_torch(tmp_path: Path) -> None:
    """``--help``, ``list ensembles/spaces``, ``replay``, ``evaluate``: no torch (~1 s) loaded."""
    bench = tmp_path / "b.csv"
    scores = tmp_path / "s.csv"
    archs = [
        "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        "|avg_pool_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        "|nor_conv_1x1~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    ]
    bench.write_text(
        "arch_str,test_acc_cifar10\n" + "".join(f"{a},{90 + i}\n" for i, a in enumerate(archs))
    )
    scores.write_text("arch,score\n" + "".join(f"{a},{i}\n" for i, a in enumerate(archs)))
    runs = [
        ["--help"],
        ["list", "ensembles"],
        ["list", "spaces"],
        ["replay", "--scores", str(scores), "--benchmark", str(bench), "--n-samples", "2"],
        ["evaluate", "--scores", str(scores), "--benchmark", str(bench), "--n-bootstrap", "0"],
    ]
    for argv in runs:
        code = (
            "import sys\nfrom naswot.cli.main import main\n"
            f"try:\n    code = main({argv!r})\nexcept SystemExit as e:\n    code = e.code\n"
            "sys.exit(100 + code if 'torch' in sys.modules else code)"
        )
        result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True)
        assert result.returncode == 0, (argv, result.returncode, result.stderr[-800:])
