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
def _no_state_outside_its_table(caplog: pytest.LogCaptureFixture):  # type: ignore[no-untyped-def]
    """Every test fails if a client window or a server session entered a state its table
    does not allow (core/gui/client_stages.NEXT, core/server/keepalive.NEXT): the code only
    logs it, so a test must look."""
    with caplog.at_level(logging.ERROR, logger="filecast"):
        yield
    bad = [r.getMessage() for r in caplog.records if ".NEXT" in r.getMessage()]
    assert bad == [], bad


@pytest.fixture(autouse=True)
def _ledgers_in_a_folder_of_the_tests_own(tmp_path_factory: pytest.TempPathFactory,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A window or server started without --log-file writes its ledger into the per-user
    data folder (core.settings.default_ledger); in tests that is a temporary one."""
    monkeypatch.setenv("FILECAST_DATA_DIR", str(tmp_path_factory.mktemp("data")))
