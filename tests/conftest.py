"""Shared fixtures: GUI helpers live in guikit.py, server helpers in serverkit.py."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from guikit import tk_root  # noqa: F401  (fixture)


@pytest.fixture(autouse=True)
def _no_stage_outside_the_table(caplog: pytest.LogCaptureFixture):  # type: ignore[no-untyped-def]
    """Every test fails if the client window entered a stage its table does not allow
    (core/gui/client_stages.NEXT): the window only logs it, so a test must look."""
    with caplog.at_level(logging.ERROR, logger="filecast.gui"):
        yield
    bad = [r.getMessage() for r in caplog.records if "client_stages.NEXT" in r.getMessage()]
    assert bad == [], bad
