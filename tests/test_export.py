import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

import naswot.export as E
from naswot.exceptions import InvalidParameterError, NaswotError
from naswot.spaces import NasBench201Space

CELL = "|nor_conv_1x1~0|+|none~0|skip_connect~1|+|none~0|avg_pool_3x3~1|none~2|"


def test_build_takes_a_name_or_a_space_and_is_seeded() -> None:
    a = E.build("nb201", CELL, n_classes=7)
    b = E.build(NasBench201Space(), NasBench201Space().parse(CELL), n_classes=7)
    for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        assert torch.equal(x, y)
    assert a.eval()(torch.zeros(2, 3, 32, 32)).shape == (2, 7)
    c = E.build("nb201", CELL, n_classes=7, seed=2)
    assert not all(
        torch.equal(x, y)
        for x, y in zip(a.state_dict().values(), c.state_dict().values(), strict=True)
    )
    with pytest.raises(InvalidParameterError, match="n_classes"):
        E.build("nb201", CELL, n_classes=0)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("exp") / "model"
    E.export("nb201", CELL, out, dataset="cifar10", seed=3, score={"value": 1.5})
    return out


def test_export_round_trip_matches_the_module(exported: Path) -> None:
    card = json.loads((exported / E.CARD).read_text())
    assert card["arch"] == CELL and card["n_classes"] == 10 and card["score"] == {"value": 1.5}
    assert card["params"] == sum(p.numel() for p in E.build("nb201", CELL).parameters())
    assert card["flops"] > 0 and card["init"]["seed"] == 3
    module = E.build("nb201", CELL, n_classes=10, seed=3).eval()
    program = torch.export.load(str(exported / E.MODEL)).module()
    x = torch.randn(5, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(program(x), module(x), atol=1e-5, rtol=1e-5)
        assert program(x[:1]).shape == (1, 10)  # the batch size is dynamic
    rebuilt, _ = E.rebuild(exported)
    for a, b in zip(rebuilt.state_dict().values(), module.state_dict().values(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.slow  # a fresh interpreter importing torch: ~10 s on 2 shared cores
def test_the_program_loads_without_naswot(exported: Path) -> None:
    """A child where ``import naswot`` fails loads and runs model.pt2 with torch alone."""
    script = textwrap.dedent(
        f"""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == "naswot" or name.startswith("naswot."):
                    raise ImportError("naswot is blocked in this test")
        sys.meta_path.insert(0, Block())
        try:
            import naswot
        except ImportError:
            pass
        else:
            raise SystemExit("naswot was importable")
        import torch
        m = torch.export.load({str(exported / E.MODEL)!r}).module()
        print(tuple(m(torch.zeros(3, 3, 32, 32)).shape))
        assert not any(k == "naswot" or k.startswith("naswot.") for k in sys.modules)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(3, 10)"


def test_rebuild_names_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(NaswotError, match="naswot export"):
        E.rebuild(tmp_path)
    (tmp_path / E.CARD).write_text("{}")
    with pytest.raises(NaswotError, match="missing"):
        E.rebuild(tmp_path)


def test_export_refuses_a_file_as_folder(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    with pytest.raises(NaswotError, match="is a file"):
        E.export("nb201", CELL, f)
