"""Settings: platform folder, atomic round trip, damaged files, the stable client id."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from core import settings
from core.errors import StorageError
from core.wire.protocol import clean_client_id


@pytest.fixture(autouse=True)
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own configuration folder."""
    folder = tmp_path / "config"
    monkeypatch.setenv(settings.ENV_CONFIG_DIR, str(folder))
    return folder


def test_override_and_platform_folder(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.config_dir() == config
    monkeypatch.delenv(settings.ENV_CONFIG_DIR)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_CONFIG_HOME", "/xdg")
    assert settings.config_dir() == Path("/xdg/filecast")
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative")  # invalid per the XDG spec
    assert settings.config_dir() == Path.home() / ".config" / "filecast"
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("APPDATA", "/appdata")
    assert settings.config_dir() == Path("/appdata/filecast")
    monkeypatch.setattr(sys, "platform", "darwin")
    assert settings.config_dir() == Path.home() / "Library" / "Application Support" / "filecast"


def test_round_trip(config: Path) -> None:
    assert settings.load_settings() == {}
    data = {"server": "192.168.1.20:5001", "folder": "/home/zoë/Downloads", "n": 3}
    settings.save_settings(data)
    assert settings.load_settings() == data
    assert sorted(p.name for p in config.iterdir()) == ["settings.json"]  # no temp left


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"\xff\xfe", b""])
def test_damaged_file_gives_defaults(config: Path, content: bytes) -> None:
    config.mkdir()
    (config / "settings.json").write_bytes(content)
    assert settings.load_settings() == settings.DEFAULTS
    settings.save_settings({"a": 1})  # and the next save replaces it
    assert settings.load_settings() == {"a": 1}


def test_client_id_is_created_once(config: Path) -> None:
    first = settings.client_id()
    assert clean_client_id(first) == first
    assert settings.client_id() == first
    settings.save_settings({**settings.load_settings(), "other": True})
    assert settings.client_id() == first


def test_invalid_client_id_is_replaced(config: Path) -> None:
    settings.save_settings({"client_id": "bad id!"})
    assert settings.client_id() != "bad id!"


def test_unwritable_folder_still_gives_an_id(config: Path) -> None:
    config.write_text("a file where the folder should be")
    assert clean_client_id(settings.client_id()) is not None
    with pytest.raises(StorageError, match="Could not save the settings"):
        settings.save_settings({})
