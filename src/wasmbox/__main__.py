"""``python -m wasmbox``: the same command line as the ``wasmbox`` script."""

import sys

from .cli import main

sys.exit(main())
