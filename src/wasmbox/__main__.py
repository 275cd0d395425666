"""``python -m wasmbox``: the same command line as the ``wasmbox`` script."""

import sys

from .cli import console_main

sys.exit(console_main())
