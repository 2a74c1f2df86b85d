"""``python -m core``: the Style Atlas command line."""

import sys

from core.cli import main

sys.exit(main())
