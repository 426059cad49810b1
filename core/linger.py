"""Close refused connections in stages, so the client reads why it was refused.

A connection over the server's cap is answered 503 at once, without reading its request.
Closing it then, with that request still unread, makes the kernel send a reset instead of
an orderly close, and a reset can destroy the 503 on its way (Windows drops data received
before one). RFC 9112 §9.6: half-close, then read until the client closes or a time-out.
One thread does this for every refused connection, so refusing costs no thread each.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading
import time

log = logging.getLogger("filecast.linger")

LINGER_SECONDS = 2.0  # how long a refused client may take to close its side
MAX_LINGERING = 512  # beyond this many at once, close at once (bounded descriptors)
MAX_DRAIN = 256 * 1024  # bytes read from one refused client before giving up on it


class Lingerer:
    """Sends a refusal, half-closes, drains and closes; its thread starts with the first."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        for end in (self._wake_r, self._wake_w):
            end.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._lock = threading.Lock()
        self._incoming: list[socket.socket] = []
        self._deadlines: dict[socket.socket, tuple[float, int]] = {}  # -> (deadline, read)
        self._thread: threading.Thread | None = None
        self._closed = False

    def refuse(self, sock: socket.socket, answer: bytes) -> None:
        """Send ``answer`` (small: it fits the socket buffer) and close ``sock`` in stages.

        Called from the accept thread; never blocks it."""
        try:
            sock.setblocking(False)
            sock.send(answer)
            sock.shutdown(socket.SHUT_WR)  # the FIN goes out after the answer
        except OSError:
            sock.close()
            return
        with self._lock:
            crowded = self._closed or len(self._incoming) + len(self._deadlines) >= MAX_LINGERING
            if not crowded:
                self._incoming.append(sock)
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="filecast-linger",
                                                    daemon=True)
                    self._thread.start()
        if crowded:
            sock.close()
            return
        with contextlib.suppress(OSError):  # BlockingIOError: a wake-up is pending already
            self._wake_w.send(b"x")

    def close(self, timeout: float = 1.0) -> None:
        """Close every connection still lingering and end the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.error("the lingering-close thread did not stop within %.1f s", timeout)
                return
        with self._lock:
            left, self._incoming = self._incoming, []
        for sock in left:
            sock.close()
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    # --- the thread --------------------------------------------------------------------

    def _run(self) -> None:
        """Drain what the refused clients still send; close each at EOF or its deadline."""
        try:
            while not self._closed:
                now = time.monotonic()
                due = min((d for d, _ in self._deadlines.values()), default=now + 1.0)
                for key, _ in self._selector.select(max(0.0, min(1.0, due - now))):
                    if key.data is None:
                        self._take_incoming()
                    else:
                        self._drain(key.data)
                self._expire(time.monotonic())
        except Exception:  # a bug: never leave descriptors open behind it
            log.exception("lingering close failed")
        finally:
            for sock in list(self._deadlines):
                self._forget(sock)

    def _take_incoming(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while self._wake_r.recv(4096):
                pass
        with self._lock:
            incoming, self._incoming = self._incoming, []
        for sock in incoming:
            self._deadlines[sock] = (time.monotonic() + LINGER_SECONDS, 0)
            try:
                self._selector.register(sock, selectors.EVENT_READ, sock)
            except (OSError, ValueError):
                self._forget(sock)

    def _drain(self, sock: socket.socket) -> None:
        """Read and drop what arrived; the client's close (or too much) ends the linger."""
        deadline, read = self._deadlines[sock]
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break  # the client closed its side: done
                read += len(chunk)
                if read > MAX_DRAIN:
                    break
        except BlockingIOError:
            self._deadlines[sock] = (deadline, read)
            return
        except OSError:
            pass
        self._forget(sock)

    def _expire(self, now: float) -> None:
        for sock in [s for s, (deadline, _) in self._deadlines.items() if deadline <= now]:
            self._forget(sock)

    def _forget(self, sock: socket.socket) -> None:
        self._deadlines.pop(sock, None)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._selector.unregister(sock)
        sock.close()
