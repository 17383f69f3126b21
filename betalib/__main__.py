"""Run the ``betalib`` command line as ``python -m betalib``."""

import sys

from .cli import main

sys.exit(main())
