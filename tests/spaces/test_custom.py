import pickle
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from naswot.cli import _common
from naswot.cli.main import main
from naswot.data import load_batch
from naswot.exceptions import ArchParseError, InvalidParameterError, UnknownNameError
from naswot.proxies import Naswot
from naswot.scoring import score_architectures
from naswot.spaces import EnumerableSpace, MutableSpace, NasBench201Space
from naswot.spaces.custom import CustomSpace, EnumerableCustomSpace, load_custom_space
from naswot.testing import check_space

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = "examples.my_space:space"


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny networks: one torch thread; two spin-wait for CPU on a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A throw-away module ``user_space_<n>.py`` in the working directory."""
    name = f"user_space_{tmp_path.name.replace('-', '_')}"
    monkeypatch.chdir(tmp_path)
    yield name
    sys.modules.pop(name, None)


def write_module(name: str, body: str) -> None:
    Path(f"{name}.py").write_text(textwrap.dedent(body))


USER_BODY = """
    from torch import nn
    from naswot.spaces import NasBench201Space
    from naswot.networks import build_nb201

    class Tiny:
        def sample(self, rng):
            return str(int(rng.integers(1, 4)))

        def build(self, key, *, n_classes):
            width = int(key)
            return nn.Sequential(nn.Flatten(), nn.Linear(12, width), nn.ReLU(),
                                 nn.Linear(width, n_classes))

    tiny = Tiny()

    def pair():
        return NasBench201Space(), build_nb201

    def broken():
        return 42

    def not_a_str_sampler():
        class Bad(Tiny):
            def sample(self, rng):
                return 3
        return Bad()
"""


def test_example_space_loads_and_conforms(in_repo: None) -> None:
    space, builder = load_custom_space(EXAMPLE)
    assert isinstance(space, EnumerableCustomSpace)
    assert isinstance(space, EnumerableSpace) and isinstance(space, MutableSpace)
    assert space.name == "my-widths" and len(space) == 64
    check_space(space)
    key = space.sample(np.random.default_rng(0))
    assert space.parse(key) == key and space.key(key) == key
    assert space.mutate(key, np.random.default_rng(1)) != key
    net = builder(key, n_classes=3)
    assert net(load_batch("noise", batch_size=2, seed=0).inputs).shape == (2, 3)


def test_example_keys_are_validated(in_repo: None) -> None:
    space, _ = load_custom_space(EXAMPLE)
    with pytest.raises(ArchParseError, match="3 widths"):
        space.parse("16-32")
    with pytest.raises(ArchParseError):
        space.parse("")


def test_example_scores_through_the_scoring_driver(in_repo: None) -> None:
    space, builder = load_custom_space(EXAMPLE)
    rng = np.random.default_rng(0)
    keys = [space.key(space.sample(rng)) for _ in range(3)]
    batch = load_batch("noise", batch_size=8, seed=0)
    records = score_architectures(
        keys, space=space, builder=builder, proxy=Naswot(), batch=batch, seed=1
    )
    assert [r.status for r in records] == ["ok"] * 3
    again = score_architectures(
        keys, space=space, builder=builder, proxy=Naswot(), batch=batch, seed=1
    )
    assert [r.score for r in again] == [r.score for r in records]


def test_space_and_builder_pickle_by_name(in_repo: None) -> None:
    space, builder = load_custom_space(EXAMPLE)
    space2 = pickle.loads(pickle.dumps(space))
    builder2 = pickle.loads(pickle.dumps(builder))
    assert space2.name == space.name and space2.spec == EXAMPLE
    assert builder2.space.spec == EXAMPLE


def test_cli_command_from_the_docs(
    in_repo: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["score", "--space", EXAMPLE, "--sample", "5", "--dataset", "noise", "--no-store"]
    assert main([*argv, "--batch-size", "16", "--quiet"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 6 and all(" ok " in line for line in lines[1:])


def test_plain_object_form(user_module: str) -> None:
    write_module(user_module, USER_BODY)
    space, builder = load_custom_space(f"{user_module}:tiny")
    assert type(space) is CustomSpace and not isinstance(space, EnumerableSpace)
    assert space.name == f"{user_module}:tiny"
    key = space.sample(np.random.default_rng(0))
    assert key in {"1", "2", "3"}
    assert space.mutate(key, np.random.default_rng(0)) != key  # a fresh, different sample
    assert builder(key, n_classes=2)(torch.randn(2, 3, 2, 2)).shape == (2, 2)


def test_factory_of_a_space_and_builder_pair(user_module: str) -> None:
    write_module(user_module, USER_BODY)
    space, builder = load_custom_space(f"{user_module}:pair")
    # The built-in's name is not reused: its stored scores and fast scorer are not this builder's.
    assert space.name == f"{user_module}:pair" and isinstance(space, EnumerableCustomSpace)
    assert len(space) == 15625
    arch = space.sample(np.random.default_rng(0))
    assert space.parse(space.key(arch)) == arch
    assert builder(arch, n_classes=1) is not None


def test_bad_targets_are_reported(user_module: str) -> None:
    write_module(user_module, USER_BODY)
    with pytest.raises(InvalidParameterError, match="sample"):
        load_custom_space(f"{user_module}:broken")
    space, _ = load_custom_space(f"{user_module}:not_a_str_sampler")
    with pytest.raises(InvalidParameterError, match="non-empty str"):
        space.sample(np.random.default_rng(0))
    with pytest.raises(UnknownNameError, match="no attribute"):
        load_custom_space(f"{user_module}:missing")
    with pytest.raises(UnknownNameError, match="does not exist"):
        load_custom_space("no_such_module_here:space")
    with pytest.raises(InvalidParameterError, match=r"package\.module:attribute"):
        load_custom_space(f"{user_module}:")


def test_resolve_space_takes_registry_names_and_module_strings(in_repo: None) -> None:
    resolve_space = _common.resolve_space  # the CLI's: registered names, then module:attribute
    space, builder = resolve_space("nb201")
    assert isinstance(space, NasBench201Space) and callable(builder)
    assert resolve_space(EXAMPLE)[0].name == "my-widths"
    with pytest.raises(UnknownNameError, match="Did you mean 'nb201'"):
        resolve_space("nb210")


CHANGING_BODY = """
    from torch import nn

    class Tiny:
        name = "tiny-widths"
        {revision}

        def sample(self, rng):
            return str(int(rng.integers(1, 4)))

        def build(self, key, *, n_classes):
            return nn.Sequential(nn.Flatten(), nn.Linear(12, {width} * int(key)), nn.ReLU(),
                                 nn.Linear({width} * int(key), n_classes))

    tiny = Tiny()
"""


@pytest.mark.parametrize("declared", [False, True])
def test_an_edited_builder_is_not_served_the_old_rows(
    user_module: str, tmp_path: Path, declared: bool
) -> None:
    from naswot.data import Batch
    from naswot.store import ResultStore

    batch = Batch(torch.randn(6, 3, 2, 2, generator=torch.Generator().manual_seed(0)))
    keys = ["1", "2", "3"]
    results = []
    for width in (4, 5):  # the same space name, a different builder
        revision = "revision = 7" if declared else ""
        write_module(user_module, CHANGING_BODY.format(width=width, revision=revision))
        sys.modules.pop(user_module, None)
        space, builder = load_custom_space(f"{user_module}:tiny")
        assert space.name == "tiny-widths"
        assert space.revision.startswith("rev:7" if declared else "src:")
        with ResultStore(tmp_path / "s.sqlite") as store:
            results.append(
                score_architectures(
                    keys, space=space, builder=builder, proxy=Naswot(), batch=batch, seed=1,
                    store=store,
                )
            )  # fmt: skip
    if declared:  # the user says the networks are the same: the rows are served
        assert all(r.cached for r in results[1])
    else:
        assert not any(r.cached for r in results[1])
        assert [r.score for r in results[1]] != [r.score for r in results[0]]
