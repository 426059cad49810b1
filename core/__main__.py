"""``python -m core``: the terminal front end (see core/cli.py)."""

import sys

from core.cli import main

sys.exit(main())
