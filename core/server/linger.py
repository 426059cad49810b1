"""Close connections in stages, so the client reads the last answer it was sent.

A connection over the server's cap is answered 503 at once, without reading its request.
Closing it then, with that request still unread, makes the kernel send a reset instead of
an orderly close, and a reset can destroy the 503 on its way (Windows drops data received
before one). RFC 9112 §9.6: half-close, then read until the client closes or a time-out.
One thread does this for every refused connection, so refusing costs no thread each.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import time

from core.server.selectloop import SelectorThread

LINGER_SECONDS = 2.0  # how long a refused client may take to close its side
MAX_LINGERING = 512  # beyond this many at once, close at once (bounded descriptors)
MAX_DRAIN = 256 * 1024  # bytes read from one refused client before giving up on it


class Lingerer(SelectorThread[socket.socket]):
    """Sends a refusal, half-closes, drains and closes; its thread starts with the first."""

    def __init__(self) -> None:
        super().__init__("filecast-linger")
        self._deadlines: dict[socket.socket, tuple[float, int]] = {}  # -> (deadline, read)

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
        if not self.hand_over(sock, limit=MAX_LINGERING):
            sock.close()  # crowded or stopping: bounded descriptors come first

    def close_gently(self, sock: socket.socket) -> None:
        """Close a connection we are done with after answering it: half-close, then drain
        what the client still sends (a pipelined request, the rest of a body), so the
        answer is not destroyed by a reset (RFC 9112 §9.6; issue 9).

        Called from worker threads; never blocks them."""
        try:
            sock.setblocking(False)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            sock.close()
            return
        if not self.hand_over(sock, limit=MAX_LINGERING):
            sock.close()

    # --- on the thread -----------------------------------------------------------------

    def _held(self) -> int:
        return len(self._deadlines)

    def _adopt(self, sock: socket.socket) -> None:
        self._deadlines[sock] = (time.monotonic() + LINGER_SECONDS, 0)
        try:
            self._selector.register(sock, selectors.EVENT_READ, sock)
        except (OSError, ValueError):
            self._forget(sock)

    def _ready(self, sock: socket.socket) -> None:
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

    def _timeout(self, now: float) -> float:
        return min((d for d, _ in self._deadlines.values()), default=now + 1.0) - now

    def _tick(self, now: float) -> None:
        for sock in [s for s, (deadline, _) in self._deadlines.items() if deadline <= now]:
            self._forget(sock)

    def _stopping(self) -> None:
        for sock in list(self._deadlines):
            self._forget(sock)

    def _orphan(self, item: socket.socket) -> None:
        item.close()

    def _forget(self, sock: socket.socket) -> None:
        self._deadlines.pop(sock, None)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._selector.unregister(sock)
        sock.close()
