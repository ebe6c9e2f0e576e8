"""``python -m naswot``: the same as the ``naswot`` command."""

import sys

from naswot.cli import main

sys.exit(main())
