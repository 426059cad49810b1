"""What the windows remember between runs (recent servers, download folder, last port, the
client's display name).

Kept in the platform's per-user config folder by core.settings; every value read back is
checked, since the file may be old, hand-edited or damaged.
"""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path
from typing import Any

from core import DEFAULT_PORT
from core.errors import StorageError
from core.settings import WRITE_LOCK, load_settings, save_settings
from core.wire.protocol import MAX_CLIENT_NAME_BYTES

log = logging.getLogger("filecast.gui")

PORT_KEY = "server_port"
SERVER_FOLDER_KEY = "server_folder"
RECENT_KEY = "client_recent_servers"
DOWNLOAD_FOLDER_KEY = "client_download_folder"
CLIENT_NAME_KEY = "client_display_name"
MAX_RECENT = 10


def remember(**values: Any) -> None:
    """Merge ``values`` into the settings file; raises StorageError when it cannot. Under
    the settings' lock, so a client id made meanwhile is not lost, nor this write."""
    with WRITE_LOCK:
        settings = load_settings()
        settings.update(values)
        save_settings(settings)


class _QuietWriter:
    """One daemon thread that writes remembered values in the order given, so the Tk
    thread never waits for the settings file's fsync (issue 10). Failures are logged."""

    def __init__(self) -> None:
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue()
        self._lock = threading.Lock()  # guards _thread
        self._thread: threading.Thread | None = None

    def put(self, values: dict[str, Any]) -> None:
        """Queue a write (any thread); the writer thread starts with the first one."""
        self._queue.put(values)
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="filecast-gui-settings")
                self._thread.start()

    def _run(self) -> None:
        """Writer thread: merge and save each queued change; end when none is left (a
        thread left waiting would outlive the window)."""
        while True:
            with self._lock:
                try:
                    values = self._queue.get_nowait()
                except queue.Empty:
                    self._thread = None  # put() starts a new one for the next change
                    return
            try:
                remember(**values)
            except StorageError as exc:
                log.warning("%s", exc)
            except Exception:  # a bug: logged, the window goes on
                log.exception("saving settings failed")
            finally:
                self._queue.task_done()

    def settled(self) -> None:
        """Wait until every queued write is on disk (a new window reads them back)."""
        self._queue.join()


_writer = _QuietWriter()


def remember_quietly(**values: Any) -> None:
    """Like remember(), in the writer thread; a failure is only logged: not worth
    interrupting the person. Safe to call from the Tk thread: it never blocks."""
    _writer.put(values)


def load_remembered() -> dict[str, Any]:
    """The settings, once the writes queued by remember_quietly are done."""
    _writer.settled()
    return load_settings()


def saved_port(settings: dict[str, Any]) -> int:
    """The port of the last run, else the default 5001."""
    value = settings.get(PORT_KEY)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 65535:
        return value
    return DEFAULT_PORT


def recent_hosts(settings: dict[str, Any]) -> list[str]:
    """The remembered servers, most recent first."""
    value = settings.get(RECENT_KEY)
    if not isinstance(value, list):
        return []
    return [h for h in value if isinstance(h, str) and h.strip()][:MAX_RECENT]


def display_name(settings: dict[str, Any]) -> str | None:
    """The display name the person last connected with ("" when they chose to give none),
    else None: never asked yet. Capped at what the header may carry, in characters."""
    value = settings.get(CLIENT_NAME_KEY)
    return value.strip()[:MAX_CLIENT_NAME_BYTES].strip() if isinstance(value, str) else None


def with_recent(hosts: list[str], address: str) -> list[str]:
    """``hosts`` with ``address`` moved to the front, capped."""
    return [address, *(h for h in hosts if h != address)][:MAX_RECENT]


def default_folder() -> Path:
    """~/Downloads when it exists, else the home folder: never the folder the program
    happened to start in (double-clicked, that is wherever the script lies)."""
    home = Path.home()
    downloads = home / "Downloads"
    return downloads if downloads.is_dir() else home


def download_folder(settings: dict[str, Any]) -> Path:
    """The remembered download folder if it still exists, else the default."""
    value = settings.get(DOWNLOAD_FOLDER_KEY)
    if isinstance(value, str) and value and Path(value).is_dir():
        return Path(value)
    return default_folder()
