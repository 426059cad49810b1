"""``python -m core``: the terminal front end (see core/cli.py)."""

import sys

from .cli import main

sys.exit(main())
