"""How much of what was sent the peer's TCP has acknowledged (issue 9, item 10).

``send()`` returns once bytes are in the kernel's send buffer, which holds megabytes: a
10-minute soak counted 5,806 connections that read at most 1 MB of a 5 MB file and closed
as "downloaded". Linux reports the bytes sent but not yet acknowledged with the SIOCOUTQ
ioctl (``write_seq - snd_una``; checked here: it keeps its value after the peer resets
the connection), so "acknowledged" is what the server sent minus that. Elsewhere there is
no such call: the bytes handed to the kernel count, as before (docs/PROTOCOL.md).
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import sys
import time
from collections.abc import Callable

try:
    import fcntl
    import termios
except ImportError:  # Windows
    _SIOCOUTQ: int | None = None
else:
    _SIOCOUTQ = termios.TIOCOUTQ if sys.platform.startswith("linux") else None

# TCP states (linux/tcp_states.h) in which our FIN was sent and not yet acknowledged: it
# takes one sequence number, so SIOCOUTQ counts it as one more unacknowledged byte.
_FIN_OUTSTANDING = {4, 9, 11}  # FIN_WAIT1, LAST_ACK, CLOSING
FIRST_WAIT = 0.004  # seconds before the first check (the next request wakes it sooner)
LONGEST_WAIT = 1.0  # the next request wakes the wait at once whatever this is
STOP_DRAIN = 0.5  # once the server stops: how much longer the whole wait may last
# The peer reset the connection (our own shutdown raises POLLHUP, which is not this).
_GONE = select.POLLERR | select.POLLNVAL if hasattr(select, "poll") else 0


def unacknowledged(sock: socket.socket) -> int | None:
    """Bytes sent on ``sock`` that the peer has not acknowledged; None where the system
    cannot tell (not Linux, or the socket is closed)."""
    left = _outq(sock)
    if not left:
        return left
    try:
        state = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]
    except (OSError, ValueError):
        return left
    return left - 1 if state in _FIN_OUTSTANDING else left


def _outq(sock: socket.socket) -> int | None:
    """SIOCOUTQ as the kernel says it: our own FIN, when outstanding, counts as one."""
    if _SIOCOUTQ is None:
        return None
    try:
        raw = fcntl.ioctl(sock.fileno(), _SIOCOUTQ, b"\0\0\0\0")
    except (OSError, ValueError):  # ValueError: fileno() of a closed socket is -1
        return None
    return max(0, int(struct.unpack("i", raw)[0]))


def wait_acknowledged(sock: socket.socket, *, stall: float,
                      stopping: Callable[[], bool] = lambda: False) -> int | None:
    """Wait until the peer has acknowledged everything sent on ``sock``; returns what is
    still unacknowledged when the wait ends (0: all of it; None: the system cannot tell).

    The wait ends early when the peer resets the connection, when no byte was acknowledged
    for ``stall`` seconds, or ``STOP_DRAIN`` seconds after ``stopping()`` turned true,
    however fast bytes are still acknowledged (the adversarial pass: a client reading
    slowly kept a stopping server's drain going past its 2 s). The next request wakes it:
    a keep-alive client's next request carries the acknowledgement with it, so it is not
    held up by the peer's delayed-ACK timer (up to 200 ms).

    Checks are paced by the drain rate seen so far, the next one at 3/4 of the time the
    rest should take: with 1,000 clients each draining megabytes at a crowd's share
    of the bandwidth, checking every 50 ms doubled the server's CPU (bench/, ab 1,000 x
    10 MiB: 4.8 s without the wait, 9.3 s with it).
    """
    left = _outq(sock)
    if not left or not hasattr(select, "poll"):
        return left
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    last_change = checked = time.monotonic()
    stop_by: float | None = None
    wait = FIRST_WAIT
    while left:
        try:
            ready = poller.poll(wait * 1000)
        except OSError:
            break
        flags = ready[0][1] if ready else 0
        if flags & select.POLLIN:  # a request (or EOF) waits: from now on, time only
            with contextlib.suppress(KeyError, ValueError, OSError):
                poller.modify(sock, 0)
        if flags:  # poll answers at once from now on (POLLIN, or our own POLLHUP)
            time.sleep(min(wait, 0.1))
        before = left
        left = _outq(sock)
        if left is None or flags & _GONE:
            break
        now = time.monotonic()
        if stop_by is None and stopping():
            stop_by = now + STOP_DRAIN
        if stop_by is not None and now >= stop_by:
            break
        limit = stall if stop_by is None else min(stall, stop_by - now)
        if left < before:  # next check at 3/4 of the time the rest should take
            rate = (before - left) / max(now - checked, 1e-6)
            wait = min(max(0.75 * left / rate, FIRST_WAIT), LONGEST_WAIT, limit)
            last_change = now
        elif now - last_change > limit:
            break
        else:
            wait = min(wait * 2, LONGEST_WAIT, limit)
        checked = now
    return unacknowledged(sock) if left else left  # our FIN is no byte of the file


def end_cut(sock: socket.socket) -> None:
    """End a connection whose body stopped short: a reset that drops whatever is still
    queued, so the client never receives bytes beyond those counted for it."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
