"""Adversarial pass: lengths a hostile server writes oddly are a sentence, not a traceback.

``str.isdigit()`` is true for '²' and for 5,000 digits; ``int()`` then raised ValueError and
``python -m core get`` ended in a traceback.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest

from core.client.visit import FilecastClient
from core.errors import ProtocolError
from core.wire.protocol import parse_length


@pytest.mark.parametrize(("text", "value"), [
    ("0", 0), ("11", 11), (" 11 ", 11), ("9" * 19, int("9" * 19)),
    ("²", None), ("٣", None), ("1" * 20, None), ("-1", None), ("+1", None), ("1.0", None),
    ("", None), ("1 1", None),
])
def test_parse_length(text: str, value: int | None) -> None:
    assert parse_length(text) == value


@contextlib.contextmanager
def answering(head: bytes) -> Iterator[int]:
    """A server that answers every request with ``head`` (and no body)."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue
            with sock, contextlib.suppress(OSError):
                sock.settimeout(5)
                while b"\r\n\r\n" not in sock.recv(65536):
                    pass
                sock.sendall(head)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        listener.close()


@pytest.mark.parametrize("length", ["\u00b2", "1" * 5000])
def test_a_strange_content_length_is_a_sentence(length: str) -> None:
    head = ("HTTP/1.1 200 OK\r\nETag: \"1-1\"\r\nContent-Length: " + length
            + "\r\nConnection: close\r\n\r\n").encode("latin-1", "replace")
    with answering(head) as port, FilecastClient("127.0.0.1", port, timeout=3.0) as client, \
            pytest.raises(ProtocolError) as caught:
        client.check("a.txt")
    assert "size" in str(caught.value) or "Content-Length" in str(caught.value)
