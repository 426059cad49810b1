"""Unit tests of core/server/sendbody.py: the copy loop's progress is exact, also after a cut."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from core.server.sendbody import send_copy


def test_progress_after_a_stall_says_exactly_what_went_out(tmp_path: Path) -> None:
    """core.server.acks subtracts the unacknowledged bytes from what progress said was sent: a
    progress that only counted whole 1 MiB chunks made a cut download look shorter than
    what its client then held (issue 9)."""
    path = tmp_path / "data.bin"
    path.write_bytes(os.urandom(8 * 1024 * 1024))
    sender, receiver = socket.socketpair()
    with sender, receiver, open(path, "rb", buffering=0) as handle:
        receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sender.settimeout(0.2)
        said: list[int] = []
        with pytest.raises(TimeoutError):
            send_copy(sender, handle, 0, 8 * 1024 * 1024, said.append)
        receiver.setblocking(False)
        got = 0
        try:
            while chunk := receiver.recv(1 << 20):
                got += len(chunk)
        except BlockingIOError:
            pass
    assert said and said[-1] == got
