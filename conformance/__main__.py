"""``python -m conformance`` runs the ``lcm-conformance`` command."""

import sys

from .cli import main

sys.exit(main())
