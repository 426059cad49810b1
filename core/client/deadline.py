"""A client connection whose reads share one deadline per exchange (issue 9).

A socket time-out bounds one ``recv``: a server that sends endless ``100 Continue`` heads
(http.client skips them in a loop) or trickles an answer a byte at a time keeps a client
waiting for ever while each ``recv`` succeeds. :class:`DeadlineSocket` gives each exchange a
deadline instead: while one is set, every read may only wait for the time left before it.
http.client reads through ``sock.makefile()``, which calls ``recv_into``, so that is the one
method to bound. File bodies clear the deadline and keep the per-``recv`` stall time-out:
bytes that keep coming are progress the person sees and can cancel.
"""

from __future__ import annotations

import http.client
import socket
import time
from typing import Any


class DeadlineExpired(TimeoutError):
    """The exchange's deadline passed; ``began`` says whether any byte of the answer came."""

    def __init__(self, seconds: float, began: bool) -> None:
        """Remember what the sentence needs."""
        super().__init__(f"no whole answer within {seconds:g} seconds")
        self.seconds, self.began = seconds, began


class DeadlineSocket(socket.socket):
    """A connected TCP socket whose reads stop at the current deadline, when one is set."""

    deadline: float | None = None
    span = 0.0  # the seconds the current deadline allows, for the sentence
    # The per-recv time-out when no deadline is set (and the most one may wait); None: block.
    stall: float | None = None
    received = 0  # bytes read since the deadline was set

    @classmethod
    def adopt(cls, plain: socket.socket, stall: float | None) -> DeadlineSocket:
        """Take over ``plain``'s descriptor (``plain`` is left detached)."""
        sock = cls(plain.family, plain.type, plain.proto, fileno=plain.detach())
        sock.stall = stall
        sock.settimeout(stall)
        return sock

    def arm(self, seconds: float, stall: float | None = None) -> None:
        """Everything read from now on must arrive within ``seconds``."""
        self.deadline, self.span, self.received = time.monotonic() + seconds, seconds, 0
        if stall is not None:
            self.stall = stall
        self.settimeout(self.stall)

    def relax(self, stall: float) -> None:
        """No deadline from now on; each read may wait ``stall`` seconds (a file body)."""
        self.deadline, self.stall = None, stall
        self.settimeout(stall)

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        """``socket.recv_into`` that never waits past the deadline."""
        deadline = self.deadline
        if deadline is None:
            return super().recv_into(buffer, nbytes, flags)
        left = deadline - time.monotonic()
        if left <= 0:
            raise DeadlineExpired(self.span, self.received > 0)
        self.settimeout(left if self.stall is None else min(left, self.stall))
        try:
            got = super().recv_into(buffer, nbytes, flags)
        except TimeoutError as exc:
            if time.monotonic() >= deadline:
                raise DeadlineExpired(self.span, self.received > 0) from exc
            raise
        self.received += got
        return got


class DeadlineConnection(http.client.HTTPConnection):
    """An HTTPConnection over a :class:`DeadlineSocket` (``sock`` is one once connected)."""

    def connect(self) -> None:
        """Connect as http.client does, then adopt the socket."""
        super().connect()
        assert self.sock is not None
        # None (or http.client's default, "the global default") blocks; 0.0 would make the
        # socket non-blocking, and an answer not there yet would read as a hang-up.
        timeout = self.timeout if isinstance(self.timeout, (int, float)) else None
        self.sock = DeadlineSocket.adopt(self.sock, timeout)

    @property
    def deadline_socket(self) -> DeadlineSocket | None:
        """The connected socket, or None before connecting and after closing."""
        sock = self.sock
        return sock if isinstance(sock, DeadlineSocket) else None
