import sys

from naswot import tune_malloc


def test_tune_malloc_is_safe_to_call_twice() -> None:
    first = tune_malloc()
    assert tune_malloc() == first
    if sys.platform.startswith("linux"):
        assert first  # glibc: settings applied
