"""A TCP proxy on loopback that plays a bad network between a client and a server.

``FaultProxy(port)`` listens on 127.0.0.1 (port 0) and forwards every connection to
``127.0.0.1:port``. Bytes from the client go through untouched; bytes from the server
(responses, bodies) can be slowed (``rate``), cut after N bytes (the connection drops, as
when Wi-Fi goes), or stalled after N bytes (the connection stays open and silent, as when
a laptop lid closes). Each new connection takes the next fault from the knobs' lists, so a
test can script "the first connection drops at 1 MiB, the second stalls at 2 MiB".

Threads are named ``proxy-*`` (never ``filecast-*``), so engine leak checks ignore them.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

CHUNK = 16 * 1024


@dataclass
class ProxyKnobs:
    """How the network misbehaves; tests change these between connections."""

    cuts: list[int] = field(default_factory=list)  # each connection pops one: drop after N
    stalls: list[int] = field(default_factory=list)  # each connection pops one: go silent at N
    reset: bool = False  # a cut sends a TCP RST instead of a FIN
    rate: float = 0.0  # bytes per second from the server, per connection (0: unlimited)
    refuse: int = 0  # the next ``refuse`` connections are closed at once, unforwarded


@dataclass
class ProxyStats:
    """What the proxy saw: connections and how each one ended."""

    connections: int = 0
    cut: int = 0
    stalled: int = 0
    refused: int = 0
    downstream_bytes: list[int] = field(default_factory=list)


class FaultProxy:
    """Forwards 127.0.0.1:<port> to 127.0.0.1:``target`` with scripted faults."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.knobs = ProxyKnobs()
        self.stats = ProxyStats()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._listen = socket.create_server(("127.0.0.1", 0), backlog=256)
        self._listen.settimeout(0.05)
        self.port: int = self._listen.getsockname()[1]
        self._spawn(self._accept_loop, "proxy-accept")

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _spawn(self, target: object, name: str, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)  # type: ignore[arg-type]
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listen.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.stats.connections += 1
                number = self.stats.connections
                refuse = self.knobs.refuse > 0
                if refuse:
                    self.knobs.refuse -= 1
                    self.stats.refused += 1
                cut = self.knobs.cuts.pop(0) if self.knobs.cuts else None
                stall = self.knobs.stalls.pop(0) if self.knobs.stalls and not refuse else None
            if refuse:
                client.close()
                continue
            self._spawn(self._pump, f"proxy-{number}", client, cut, stall, number)

    def _pump(self, client: socket.socket, cut: int | None, stall: int | None,
              number: int) -> None:
        """One connection: forward up in a helper thread, down here with the faults."""
        self._track(client)
        try:
            server = socket.create_connection(("127.0.0.1", self.target), timeout=5)
        except OSError:
            client.close()
            return
        self._track(server)
        server.settimeout(None)
        client.settimeout(None)
        self._spawn(_forward_up, f"proxy-{number}-up", client, server)
        sent = 0
        how = "closed"
        try:
            started = time.monotonic()
            while not self._stop.is_set():
                want = CHUNK
                for limit in (cut, stall):
                    if limit is not None:
                        want = min(want, limit - sent)
                if want <= 0:
                    how = "cut" if cut is not None and sent >= cut else "stalled"
                    break
                data = server.recv(want)
                if not data:
                    break
                client.sendall(data)
                sent += len(data)
                rate = self.knobs.rate
                if rate:  # pace: never ahead of ``rate`` bytes per second
                    ahead = sent / rate - (time.monotonic() - started)
                    if ahead > 0:
                        self._stop.wait(ahead)
        except OSError:
            how = "closed"
        with self._lock:
            self.stats.downstream_bytes.append(sent)
            if how == "cut":
                self.stats.cut += 1
            elif how == "stalled":
                self.stats.stalled += 1
        if how == "stalled":
            # silent but open: wait until the client gives up (its side closes) or stop()
            with contextlib.suppress(OSError):
                client.settimeout(0.05)
                while not self._stop.is_set():
                    try:
                        if not client.recv(65536):
                            break
                    except TimeoutError:
                        continue
        if how == "cut" and self.knobs.reset:
            with contextlib.suppress(OSError):
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        for sock in (client, server):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def stop(self) -> None:
        """Close every connection and the listener; join every proxy thread."""
        self._stop.set()
        self._listen.close()
        with self._lock:
            sockets = list(self._sockets)
            threads = list(self._threads)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(5)
        for sock in sockets:
            sock.close()


def _forward_up(client: socket.socket, server: socket.socket) -> None:
    """Client to server, untouched, until either side closes."""
    try:
        while data := client.recv(65536):
            server.sendall(data)
        server.shutdown(socket.SHUT_WR)
    except OSError:
        pass
