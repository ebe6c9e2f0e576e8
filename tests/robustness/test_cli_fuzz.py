"""Property-based checks of the CLI boundary: bad input is one line and exit 1, never a traceback."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from naswot.cli import main
from naswot.exceptions import ArchParseError
from naswot.spaces import parse_arch

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as e:  # argparse usage errors
        code = int(e.code or 0)
    return code, capsys.readouterr().err


def is_valid(text: str) -> bool:
    try:
        parse_arch(text)
    except ArchParseError:
        return False
    return True


@SETTINGS
@given(st.text(min_size=1, max_size=80).filter(lambda t: not t.startswith("-")))
def test_malformed_architectures(capsys: pytest.CaptureFixture[str], text: str) -> None:
    if is_valid(text):
        return
    code, err = run(capsys, ["score", "--arch", text, "--no-store", "--quiet"])
    assert code == 1
    assert err.startswith("naswot: error: ")
    assert "Traceback" not in err


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(-5, 40))
def test_batch_sizes(capsys: pytest.CaptureFixture[str], size: int) -> None:
    arch = "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    code, err = run(
        capsys, ["score", "--arch", arch, "--batch-size", str(size), "--no-store", "--quiet"]
    )
    if 2 <= size <= 20:  # the bundled batch holds 20 images
        assert code == 0, err
    else:
        assert code == 1
        assert "batch_size" in err and "Traceback" not in err


@SETTINGS
@given(
    st.sampled_from(["evaluate", "replay", "evolve", "plot", "list", "data"]),
    st.lists(st.text(alphabet="-abcdefghijklmnopqrstuvwxyz0123456789=", max_size=12), max_size=4),
)
def test_random_arguments_never_crash(
    capsys: pytest.CaptureFixture[str], command: str, extra: list[str]
) -> None:
    # Commands that need a benchmark or a dataset argument: random words never run a long job.
    code, err = run(capsys, [command, *extra])
    assert code in (0, 1, 2)
    assert "Traceback" not in err
