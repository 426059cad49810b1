"""Download one file with Filecast's own client in this process; print the figures as JSON.

``python3 bench/client_probe.py HOST PORT NAME FOLDER`` times ``FilecastClient.connect()`` +
``download()`` (receive, SHA-256, write, fsync, rename, receipt) and reports how the time
split between receiving and finishing, and the process's peak RSS (VmHWM).

``--no-write`` is a diagnostic, never a way to use Filecast: the sink's writer is replaced
by one that drops the bytes, so the figure is the client's network + SHA-256 pipeline
without the disk (the saved file is empty; the digest is still checked).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.client import pipeline as sink
from core.client.visit import FilecastClient
from core.events import DownloadStarted, DownloadVerifying, Event


class Clock:
    """Listener noting when the body starts and when receiving ends."""

    def __init__(self) -> None:
        self.started: float | None = None
        self.received: float | None = None

    def on_event(self, event: Event) -> None:
        """Called on the downloading thread."""
        if isinstance(event, DownloadStarted) and self.started is None:
            self.started = time.perf_counter()
        elif isinstance(event, DownloadVerifying):
            self.received = time.perf_counter()


def vmhwm_kib() -> int:
    """This process's peak resident set size."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def drop_writes() -> None:
    """Make every Sink "write" by counting the bytes (--no-write)."""
    original = sink.Sink.__init__

    def init(self: sink.Sink, *args: Any, **kwargs: Any) -> None:
        kwargs["write"] = lambda _fd, view: len(view)
        original(self, *args, **kwargs)

    sink.Sink.__init__ = init  # type: ignore[method-assign]


def main() -> int:
    """Download, then print one JSON line."""
    host, port, name, folder = sys.argv[1], int(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
    if "--no-write" in sys.argv[5:]:
        drop_writes()
    clock = Clock()
    begin = time.perf_counter()
    with FilecastClient(host, port, listener=clock, timeout=60.0) as client:
        client.connect()
        result = client.download(name, folder)
    end = time.perf_counter()
    received = clock.received or end
    print(json.dumps({
        "seconds": end - begin,
        "receive_seconds": received - (clock.started or begin),
        "finish_seconds": end - received,
        "bytes": result.size,
        "verified": result.verified,
        "sha256": result.sha256,
        "path": str(result.path),
        "vmhwm_kib": vmhwm_kib(),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
