"""The Filecast server: a listening socket, an accept thread and a worker per connection.

``start()`` binds and returns; everything else happens in worker threads, which report
through the listener. ``stop()`` returns within about two seconds with every worker gone and
the port free, also while downloads are in flight (their sockets are shut down, and each
cut-off download is recorded as interrupted). Ledger lines go through core.server.fold, whose
windows the accept thread closes on time; stop() writes what they still hold.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import logging
import selectors
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from core.errors import PortInUseError, ServeError, StorageError
from core.events import (
    ClientInfo,
    ConnectionsShed,
    EngineError,
    LedgerFloodLimited,
    Listener,
    NullListener,
    ServerEvent,
    ServerStarted,
    ServerStopped,
)
from core.server.config import ServerConfig
from core.server.delivery import DeliveryBook
from core.server.floodgate import FLOOD_BUDGET
from core.server.fold import LedgerFolder
from core.server.ledger import Ledger, LedgerEntry, read_recent
from core.server.linger import Lingerer
from core.server.netinfo import local_addresses, own_host_names, raise_open_file_limit, url_host
from core.server.offer import OfferTable
from core.server.origin import HostNames
from core.server.peers import address_group, unmapped
from core.server.sendfile_loop import SendfileLoop
from core.server.session import Session
from core.server.shedding import Admit, Crowd, Decision, Refuse, Seat, Shed
from core.wire.http11 import HttpError, response_head
from core.wire.protocol import error_body

log = logging.getLogger("filecast.server")


class FilecastServer:
    """Serves an :class:`OfferTable` and records decisions in a :class:`Ledger`."""

    def __init__(self, offer: OfferTable, ledger: Ledger, listener: Listener | None = None,
                 config: ServerConfig | None = None) -> None:
        self.offer = offer
        self.ledger = ledger
        self.config = config or ServerConfig()
        self._listener = listener or NullListener()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._workers: dict[int, _Worker] = {}
        self._per_address: dict[str, int] = {}  # open connections per address group
        self._shedding: set[int] = set()  # workers being closed to make room (core.server.shedding)
        self._shed_tally: Counter[tuple[str, bool]] = Counter()  # (ip, idle) not yet reported
        self._shed_reported = 0.0
        self._crowd: Crowd | None = None  # the policy's view, for one accept batch
        self._keys = itertools.count(1)
        self._bodies = 0  # file bodies going out now (core.server.sendbody.choose_mode)
        self.sendfile_loop = SendfileLoop()  # sends the sendfile bodies; a new one for each start()
        self._lingerer = Lingerer()  # closes refused connections gently; one per start()
        self._listen: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_w.setblocking(False)  # a wake-up never blocks; one pending byte is enough
        self._folder = LedgerFolder(ledger, self.config.fold_window, on_open=self._wake,
                                    on_flood=self._flooded)
        self.port = 0
        self.host_names = HostNames(own_host_names(self.config.allowed_hosts))
        self.deliveries = DeliveryBook()  # what each client has received (issue 9)

    @contextlib.contextmanager
    def body_in_flight(self) -> Iterator[int]:
        """Count a body going out while the block runs; yields the count, this one included.

        Called from worker threads."""
        with self._lock:
            self._bodies += 1
            count = self._bodies
        try:
            yield count
        finally:
            with self._lock:
                self._bodies -= 1

    @property
    def stopping(self) -> bool:
        """True once stop() has begun."""
        return self._stopping.is_set()

    @property
    def running(self) -> bool:
        """True between a successful start() and stop()."""
        return self._accept_thread is not None and self._accept_thread.is_alive()

    def emit(self, event: ServerEvent) -> None:
        """Give an event to the listener; a failing listener is a bug, logged, not fatal.

        Called from worker threads.
        """
        try:
            self._listener.on_event(event)
        except Exception:
            log.exception("listener failed on %r", event)

    def record(self, entry: LedgerEntry, *, fold: bool = True) -> None:
        """Write a ledger line through the folder (core.server.fold). Called from worker
        threads, as the two below; a failing ledger is reported, not fatal."""
        self._guarded(lambda entries: self._folder.record(entries[0], fold=fold), [entry])

    def record_many(self, entries: list[LedgerEntry]) -> None:
        """Write lines backed by delivered bytes in one group commit (core.server.fold)."""
        self._guarded(self._folder.record_many, entries)

    def record_list(self, entries: list[LedgerEntry]) -> None:
        """Write the lines of one request about many files (core.server.fold)."""
        self._guarded(self._folder.record_list, entries)

    def _guarded(self, write: Callable[[list[LedgerEntry]], None],
                 entries: list[LedgerEntry]) -> None:
        try:
            write(entries)
        except StorageError as error:
            self.emit(EngineError(str(error)))

    def close_gently(self, sock: socket.socket) -> None:
        """Hand a connection we are done with to the lingerer (half-close, drain, close).

        Called from worker threads."""
        self._lingerer.close_gently(sock)

    def _flush_folds(self, *, everything: bool = False) -> None:
        """Write the folded lines of closed (or, at stop, all) fold windows."""
        try:
            if everything:
                self._folder.flush_all()
            else:
                self._folder.flush_due()
        except StorageError as error:
            self.emit(EngineError(str(error)))

    def _flooded(self, ip: str) -> None:
        """The ledger began to sum an address's lines (core.server.floodgate): say so."""
        self.emit(LedgerFloodLimited(ip, FLOOD_BUDGET))

    def _wake(self) -> None:
        """Wake the accept loop (stop, or a fold window to schedule)."""
        with contextlib.suppress(OSError):  # BlockingIOError: a byte is pending already
            self._wake_w.send(b"x")

    def urls(self) -> tuple[str, ...]:
        """The addresses clients should use."""
        return tuple(f"http://{url_host(h)}:{self.port}/"
                     for h in local_addresses(self.config.host))

    # --- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        """Bind, listen and start accepting; PortInUseError/ServeError with a sentence."""
        if self.running:
            return
        raise_open_file_limit()
        self._listen = self._bind()
        self.port = self._listen.getsockname()[1]
        self._stopping.clear()
        self._drain_wake()
        if self.sendfile_loop.closed:  # stop() closed it: a fresh one for this run
            self.sendfile_loop = SendfileLoop()
        if self._lingerer.closed:
            self._lingerer = Lingerer()
        self.offer.start()
        # Downloads cut by a clean stop go on where they were (core.server.delivery).
        offered = {(f.name, f.etag): f.size for f in self.offer.state.files}
        self.deliveries.replay(read_recent(self.ledger.jsonl_path), offered)
        self._accept_thread = threading.Thread(target=self._accept_loop, name="filecast-accept",
                                               daemon=True)
        self._accept_thread.start()
        self.emit(ServerStarted(self.config.host, self.port, self.urls()))

    def _drain_wake(self) -> None:
        """Drop wake-up bytes left by a stop() while not running: a stale byte would keep
        the next accept loop's select() ready forever (a busy loop)."""
        self._wake_r.setblocking(False)
        try:
            while self._wake_r.recv(64):
                pass
        except BlockingIOError:
            pass

    def _bind(self) -> socket.socket:
        """The listening socket, with a backlog deep enough for a burst of 1,000 connects."""
        host, port = self.config.host, self.config.port
        both = host == "" and socket.has_dualstack_ipv6()
        family = socket.AF_INET6 if both or ":" in host else socket.AF_INET
        try:
            sock = socket.create_server(("::" if both else host or "0.0.0.0", port),
                                        family=family, backlog=self.config.backlog,
                                        dualstack_ipv6=both)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUseError(
                    f"Port {port} is already in use by another program. Stop that program "
                    f"or choose another port (for example {port + 1}).") from exc
            if exc.errno == errno.EACCES:
                raise ServeError(f"This user may not listen on port {port}; choose a port "
                                 "above 1024.") from exc
            raise ServeError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}.") from exc
        sock.setblocking(False)
        return sock

    def stop(self, timeout: float = 2.0) -> None:
        """Stop accepting, cut every connection and wait for every worker to end."""
        deadline = time.monotonic() + timeout
        self._stopping.set()
        self._wake()
        if self._accept_thread is not None:
            self._accept_thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            workers = list(self._workers.values())
        for worker in workers:
            with contextlib.suppress(OSError):
                worker.sock.shutdown(socket.SHUT_RDWR)
        # every body still in the sendfile loop fails now, so its worker records it and ends
        self.sendfile_loop.close(max(0.1, deadline - time.monotonic()))
        self._lingerer.close(max(0.1, deadline - time.monotonic()))
        # before joining: this also wakes workers waiting for a digest (a receipt)
        self.offer.stop(max(0.0, deadline - time.monotonic()))
        for worker in workers:
            worker.thread.join(max(0.0, deadline - time.monotonic()))
        self._flush_folds(everything=True)  # after the workers' last lines
        was_running = self._accept_thread is not None
        self._accept_thread = None
        if was_running:
            self.emit(ServerStopped())

    def close(self) -> None:
        """Stop if running and release the wake-up pair."""
        self.stop()
        self._wake_r.close()
        self._wake_w.close()

    # --- accepting -------------------------------------------------------------------

    def _accept_loop(self) -> None:
        """Accept until stopped; a wake-up byte on the socket pair ends the wait at once.

        The wait also ends when a ledger fold window closes, to write its folded line."""
        assert self._listen is not None
        with selectors.DefaultSelector() as selector, self._listen:
            selector.register(self._listen, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not self._stopping.is_set():
                due = self._folder.next_due()
                if self._shed_tally:  # news of shed connections goes out within seconds
                    due = min(due if due is not None else SHED_REPORT, SHED_REPORT)
                selector.select(due)
                self._drain_wake()
                self._flush_folds()
                self._accept_ready()
                self._report_sheds()
            self._drain_wake()

    def _accept_ready(self) -> None:
        """Accept the pending connections (bursts arrive together), at most ACCEPT_BATCH
        before the loop's other duties: clients that reconnect as fast as they are shed
        kept this loop from ever returning, and fold lines and reports waited (issue 9)."""
        assert self._listen is not None
        self._crowd = None  # a fresh view of the seats for this batch (core.server.shedding)
        for _ in range(ACCEPT_BATCH):
            if self._stopping.is_set():
                return
            try:
                sock, address = self._listen.accept()
            except BlockingIOError:
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    # Out of descriptors: leave the rest in the backlog and breathe.
                    self.emit(EngineError("Too many open connections; new clients wait."))
                    time.sleep(0.05)
                    return
                if exc.errno in (errno.ECONNABORTED, errno.EPROTO):
                    continue
                raise
            self._start_worker(sock, address)

    def _start_worker(self, sock: socket.socket, address: tuple[str, int]) -> None:
        """Give the connection a thread, making room when full (core.server.shedding), or a 503."""
        sock.setblocking(True)
        # A file answer goes out as a head, then a body: with Nagle's algorithm the body
        # waited for the head's ACK, ~40 ms of the peer's delayed ACK per answer (issue 5:
        # 100 small ranges took 4.4 s). Whole answers are written at once, so no tinygrams.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        host = unmapped(str(address[0]))  # a dual-stack socket's IPv4 peer: as IPv4
        group = address_group(host)  # an IPv6 host holds a whole /64 (core.server.peers)
        key = next(self._keys)
        with self._lock:
            decision = self._make_room(group, key)
            if isinstance(decision, Shed) and not self._still_sheddable(decision):
                self._crowd = None  # the view is a batch old: look again, once
                decision = self._make_room(group, key)
                if isinstance(decision, Shed) and not self._still_sheddable(decision):
                    decision = Refuse()
            victim = None
            if isinstance(decision, Shed):
                victim = self._workers[decision.key]
                self._shedding.add(decision.key)
                self._shed_tally[(victim.ip, decision.idle)] += 1
            if not isinstance(decision, Refuse):
                self._per_address[group] = self._per_address.get(group, 0) + 1
        if isinstance(decision, Refuse):
            self._lingerer.refuse(sock, BUSY_ANSWER)
            return
        if victim is not None:  # its thread sees the connection end and leaves
            with contextlib.suppress(OSError):
                victim.sock.shutdown(socket.SHUT_RDWR)
        client = ClientInfo(key, (host, int(address[1])))
        worker = Session(self, sock, client)
        thread = threading.Thread(target=self._run_worker, args=(key, worker),
                                  name=f"filecast-client-{key}", daemon=True)
        with self._lock:
            self._workers[key] = _Worker(sock, thread, worker, group, time.monotonic())
        thread.start()

    def _make_room(self, host: str, key: int) -> Decision:
        """Admit, shed a seat for, or refuse connection ``key`` from ``host`` (an address
        group, core.server.peers); lock held.
        The policy looks at the seats only when the server or the address is full, and
        then through one view per accept batch (core.server.shedding.Crowd)."""
        config, cap = self.config, self.config.max_per_address
        if self._crowd is None:
            leaving = [self._workers[k].ip for k in self._shedding if k in self._workers]
            staying = len(self._workers) - len(leaving)
            held = self._per_address.get(host, 0) - leaving.count(host)
            if staying < config.max_connections and (cap <= 0 or held < cap):
                return Admit()
        if len(self._shedding) >= MAX_SHEDDING:
            return Refuse()  # threads stay bounded while the shed ones leave
        if self._crowd is None:
            seats = [Seat(k, w.ip, w.session.idle_since, w.opened)
                     for k, w in self._workers.items() if k not in self._shedding]
            self._crowd = Crowd(seats, max_connections=config.max_connections,
                                max_per_address=cap)
        return self._crowd.decide(host, key, time.monotonic())

    def _still_sheddable(self, decision: Shed) -> bool:
        """Whether the seat a (possibly stale) view chose is still there and, if it was
        chosen as idle, still idle: never cut a download that began meanwhile. Lock held."""
        worker = self._workers.get(decision.key)
        if worker is None or decision.key in self._shedding:
            return False
        return not decision.idle or worker.session.idle_since is not None

    def _report_sheds(self) -> None:
        """Tell the listener of shed connections, at most every SHED_REPORT seconds.

        Called from the accept thread."""
        now = time.monotonic()
        if not self._shed_tally or now - self._shed_reported < SHED_REPORT:
            return
        with self._lock:
            tally, self._shed_tally = self._shed_tally, Counter()
        self._shed_reported = now
        for (ip, idle), count in tally.items():
            self.emit(ConnectionsShed(ip, count, idle))

    def _run_worker(self, key: int, worker: Session) -> None:
        """Thread body: serve, then forget the worker."""
        try:
            worker.run()
        finally:
            group = address_group(worker.client.address[0])
            with self._lock:
                self._workers.pop(key, None)
                self._shedding.discard(key)
                left = self._per_address.pop(group, 1) - 1
                if left > 0:
                    self._per_address[group] = left


@dataclass(frozen=True)
class _Worker:
    """One connection's thread, as the server keeps track of it."""

    sock: socket.socket
    thread: threading.Thread
    session: Session
    ip: str
    opened: float


def _busy_answer() -> bytes:
    """503 with Retry-After, for a connection over the cap (its request is never read)."""
    error = HttpError(503, "busy", "The server has too many clients; try again shortly.")
    body = error_body(error.code, error.message)
    head = response_head(503, [("Content-Type", "application/json"),
                               ("Content-Length", str(len(body))), ("Retry-After", "1"),
                               ("Connection", "close")])
    return head + body


BUSY_ANSWER = _busy_answer()
ACCEPT_BATCH = 256  # connections accepted per turn of the accept loop
MAX_SHEDDING = 64  # connections being closed to make room at once (bounds the threads)
SHED_REPORT = 2.0  # seconds between ConnectionsShed reports
