"""Per-user settings in one JSON file: where it lives, atomic saves, and the client's id.

A damaged settings file must never stop the program from starting: it reads as the
defaults and is replaced by the next save.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from core.errors import StorageError
from core.wire.protocol import clean_client_id

log = logging.getLogger(__name__)

APP = "filecast"
ENV_CONFIG_DIR = "FILECAST_CONFIG_DIR"  # overrides the folder (tests, portable installs)
ENV_DATA_DIR = "FILECAST_DATA_DIR"  # overrides the data folder (tests, portable installs)
SETTINGS_FILE = "settings.json"
LEDGER_FILE = "Clients.txt"
CLIENT_ID_KEY = "client_id"
DEFAULTS: dict[str, Any] = {}

# One read-modify-write of the file at a time in this process: client_id() and the windows'
# remembered values (core.gui.prefs.remember) both take it, so neither loses the other's
# write (a window's first connect once dropped the name the quiet writer had just saved).
WRITE_LOCK = threading.Lock()


def config_dir(app: str = APP) -> Path:
    """The per-user configuration folder of this platform (not created here)."""
    override = os.environ.get(ENV_CONFIG_DIR)
    if override:
        return Path(override)
    home = Path.home()
    if sys.platform == "win32":
        appdata = os.environ.get("APPDATA")
        return (Path(appdata) if appdata else home / "AppData" / "Roaming") / app
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / app
    xdg = os.environ.get("XDG_CONFIG_HOME")
    # XDG Base Directory spec: a relative $XDG_CONFIG_HOME is invalid and must be ignored.
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".config"
    return base / app


def data_dir(app: str = APP) -> Path:
    """The per-user data folder of this platform, where the ledger lives by default (not
    created here): ~/.local/share/filecast ($XDG_DATA_HOME), ~/Library/Application
    Support/filecast, or %LOCALAPPDATA%\\filecast. FILECAST_DATA_DIR overrides it."""
    override = os.environ.get(ENV_DATA_DIR)
    if override:
        return Path(override)
    home = Path.home()
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA") or os.environ.get("APPDATA")
        return (Path(local) if local else home / "AppData" / "Local") / app
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / app
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".local" / "share"
    return base / app


def default_ledger() -> Path:
    """Where Clients.txt goes unless told otherwise (issue 11): one place per user, found
    again whatever folder the program was started from (a double-click once put it beside
    the program), and writable even when the offered file's folder is not."""
    return data_dir() / LEDGER_FILE


def settings_path() -> Path:
    """The settings file."""
    return config_dir() / SETTINGS_FILE


def load_settings() -> dict[str, Any]:
    """The saved settings over the defaults; a missing or damaged file gives the defaults."""
    path = settings_path()
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return dict(DEFAULTS)
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable settings %s: %s", path, exc)
        return dict(DEFAULTS)
    if not isinstance(saved, dict):
        log.warning("ignoring settings %s: not a JSON object", path)
        return dict(DEFAULTS)
    return {**DEFAULTS, **saved}


def save_settings(settings: dict[str, Any]) -> None:
    """Write the settings atomically: a temporary file beside them, fsynced, then os.replace."""
    path = settings_path()
    data = json.dumps(settings, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise StorageError(
            f"Could not save the settings in {path.parent}: {exc.strerror or exc}. Check that"
            " you may write to that folder."
        ) from exc
    finally:
        if tmp is not None:
            _remove(Path(tmp))


def _remove(path: Path) -> None:
    """Delete a leftover temporary file, logging (not raising) when that fails too."""
    try:
        path.unlink()
    except OSError as exc:
        log.warning("could not remove %s: %s", path, exc)


def client_id() -> str:
    """This user's random client id (docs/PROTOCOL.md), created once and kept in settings."""
    with WRITE_LOCK:
        settings = load_settings()
        current = settings.get(CLIENT_ID_KEY)
        if isinstance(current, str) and clean_client_id(current) is not None:
            return current
        new = secrets.token_urlsafe(16)  # 22 characters of [A-Za-z0-9_-]
        settings[CLIENT_ID_KEY] = new
        try:
            save_settings(settings)
        except StorageError as exc:  # the id then lasts for this run only; not worth a stop
            log.warning("%s", exc)
        return new


def account_name() -> str | None:
    """The account's full name (the first field of its GECOS entry on Unix), else None.

    Never the login name: in a lab where everyone shares one account, every ledger line
    once said "root" (issue 11). A person may give another name (``get --name``)."""
    try:
        import pwd  # Unix only
    except ImportError:
        return None
    try:
        gecos = pwd.getpwuid(os.getuid()).pw_gecos
    except (KeyError, OSError):
        return None
    full = gecos.split(",", 1)[0].strip()
    return full or None
