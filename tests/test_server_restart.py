"""FilecastServer lifecycle: a stopped server starts again, and stray stop() calls are harmless."""

from __future__ import annotations

import http.client
import time
from pathlib import Path

from core.server import FilecastServer, ServerConfig
from core.server.ledger import Ledger
from core.server.offer import OfferTable


def _server(tmp_path: Path) -> FilecastServer:
    path = tmp_path / "a.txt"
    path.write_bytes(b"hello")
    return FilecastServer(OfferTable([path]), Ledger(tmp_path / "Clients.txt"),
                          config=ServerConfig(host="127.0.0.1", port=0))


def _answers(port: int) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/api/v1/offer")
        return conn.getresponse().status
    finally:
        conn.close()


def _idle_cpu(seconds: float) -> float:
    """CPU time this process spends while every thread should be waiting."""
    start = time.process_time()
    time.sleep(seconds)  # a measurement window, not a synchronisation
    return time.process_time() - start


def test_start_after_stop_serves_again(tmp_path: Path) -> None:
    server = _server(tmp_path)
    try:
        server.start()
        server.stop()
        assert not server.running
        server.start()
        assert server.running
        assert _answers(server.port) == 200
    finally:
        server.close()


def test_stop_before_start_does_not_leave_the_accept_loop_spinning(tmp_path: Path) -> None:
    # A front end may call stop() on a server that is not running (closing a window that
    # never served, or stop() twice). The next start() must still idle without busy-looping.
    server = _server(tmp_path)
    try:
        server.stop()
        server.stop()
        server.start()
        assert _answers(server.port) == 200
        assert _idle_cpu(0.5) < 0.2
    finally:
        server.close()
