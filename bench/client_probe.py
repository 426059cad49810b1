"""Download one file with Filecast's own client in this process; print the figures as JSON.

``python3 bench/client_probe.py HOST PORT NAME FOLDER`` times ``FilecastClient.connect()`` +
``download()`` (receive, SHA-256, write, fsync, rename, receipt) and reports how the time
split between receiving and finishing, and the process's peak RSS (VmHWM).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.client import FilecastClient
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


def main() -> int:
    """Download, then print one JSON line."""
    host, port, name, folder = sys.argv[1], int(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
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
