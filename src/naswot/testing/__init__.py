"""Shipped test helpers: a reference NASWOT implementation and conformance checks.

Third-party spaces and proxies can run the same checks as the built-in ones.
"""

from __future__ import annotations

from naswot.testing.conformance import check_proxy, check_space
from naswot.testing.reference import reference_naswot
from naswot.testing.shared import shared_data_dir

__all__ = ["check_proxy", "check_space", "reference_naswot", "shared_data_dir"]
