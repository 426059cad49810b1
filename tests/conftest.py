"""Shared fixtures: GUI helpers live in guikit.py, server helpers in serverkit.py."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from guikit import tk_root  # noqa: F401  (fixture)
