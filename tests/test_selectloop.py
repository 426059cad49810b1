"""core.server.selectloop.SelectorThread: the one-thread selector loop under the body pump and
the lingerer.

Tested through a small subclass that records its hooks. What a caller would notice if the
plumbing went wrong: an item handed over and never adopted (a download that never ends, a
refused connection never closed), a thread per item instead of one, a thread that outlives
close(), or a loop that dies on its first bug and takes every held socket down silently.
"""

from __future__ import annotations

import selectors
import socket
import threading
from collections.abc import Iterator

import pytest
from serverkit import wait_until

from core.server.selectloop import SelectorThread


class Hooks(SelectorThread[object]):
    """Adopts items (registering sockets for reading) and records every hook call."""

    def __init__(self, name: str = "filecast-test-loop") -> None:
        super().__init__(name)
        self.lock = threading.Lock()
        self.adopted: list[object] = []
        self.adopting_threads: set[str] = set()
        self.ready: list[bytes] = []
        self.orphans: list[object] = []
        self.stopped = 0
        self.hold_adopt = threading.Event()  # set() by default: adopting never waits
        self.hold_adopt.set()
        self.in_adopt = threading.Event()

    def _held(self) -> int:
        with self.lock:
            return len(self.adopted)

    def _adopt(self, item: object) -> None:
        self.in_adopt.set()
        self.hold_adopt.wait(5.0)
        with self.lock:
            self.adopted.append(item)
            self.adopting_threads.add(threading.current_thread().name)
        if isinstance(item, socket.socket):
            self._selector.register(item, selectors.EVENT_READ, item)

    def _ready(self, item: object) -> None:
        assert isinstance(item, socket.socket)
        data = item.recv(4096)
        if data == b"boom":
            raise RuntimeError("a bug in a hook")
        with self.lock:
            self.ready.append(data)

    def _stopping(self) -> None:
        self.stopped += 1

    def _orphan(self, item: object) -> None:
        self.orphans.append(item)


@pytest.fixture
def loop() -> Iterator[Hooks]:
    hooks = Hooks()
    yield hooks
    hooks.hold_adopt.set()
    hooks.close()


def test_no_thread_runs_before_the_first_item_and_one_starts_with_it(loop: Hooks) -> None:
    alive_before = loop.alive
    assert not alive_before
    assert not any(t.name == "filecast-test-loop" for t in threading.enumerate())
    assert loop.hand_over("first")
    wait_until(lambda: loop.adopted == ["first"], 5.0, "the first item to be adopted")
    assert loop.alive
    assert loop.adopting_threads == {"filecast-test-loop"}  # adopted on the loop's thread


def test_a_ready_socket_reaches_the_ready_hook_with_its_bytes(loop: Hooks) -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        assert loop.hand_over(ours)
        wait_until(lambda: ours in loop.adopted, 5.0, "the socket to be adopted")
        theirs.sendall(b"hello")
        wait_until(lambda: loop.ready == [b"hello"], 5.0, "the ready hook")
        theirs.sendall(b"again")
        wait_until(lambda: loop.ready == [b"hello", b"again"], 5.0, "the second read")


def test_close_ends_the_thread_once_and_refuses_later_items(loop: Hooks) -> None:
    assert loop.hand_over("item")
    wait_until(lambda: loop.adopted, 5.0, "the item to be adopted")
    loop.close()
    assert loop.closed
    assert not loop.alive
    assert loop.stopped == 1  # what it held was ended
    assert not loop.hand_over("late")
    assert loop.adopted == ["item"] and loop.orphans == []
    loop.close()  # a second close is harmless
    assert loop.stopped == 1


def test_closing_a_loop_that_never_started_is_harmless() -> None:
    hooks = Hooks()
    hooks.close()
    assert hooks.closed and not hooks.alive
    assert hooks.stopped == 0
    assert not hooks.hand_over("late")


def test_items_handed_over_from_many_threads_at_once_are_all_adopted_by_one_thread(
        loop: Hooks) -> None:
    senders, each = 8, 250
    start = threading.Barrier(senders)
    refused: list[tuple[int, int]] = []

    def send(which: int) -> None:
        start.wait()
        for i in range(each):
            if not loop.hand_over((which, i)):
                refused.append((which, i))

    threads = [threading.Thread(target=send, args=(n,)) for n in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10.0)
    assert refused == []
    wait_until(lambda: len(loop.adopted) >= senders * each, 5.0, "every item adopted")
    assert len(loop.adopted) == senders * each  # each once
    assert set(loop.adopted) == {(w, i) for w in range(senders) for i in range(each)}
    assert loop.adopting_threads == {"filecast-test-loop"}  # one thread, not one per sender
    assert sum(t.name == "filecast-test-loop" for t in threading.enumerate()) == 1


def test_a_limit_refuses_items_beyond_what_is_queued_and_held(loop: Hooks) -> None:
    assert loop.hand_over("a", limit=2)
    assert loop.hand_over("b", limit=2)
    wait_until(lambda: len(loop.adopted) == 2, 5.0, "both items adopted")
    assert not loop.hand_over("c", limit=2)  # two held already
    assert loop.hand_over("c", limit=3)
    wait_until(lambda: len(loop.adopted) == 3, 5.0, "the third item")
    assert "c" in loop.adopted and loop.adopted.count("c") == 1


def test_an_item_handed_over_while_the_thread_ends_goes_to_orphan_not_lost(
        loop: Hooks) -> None:
    loop.hold_adopt.clear()  # the thread sits in _adopt("first") until released
    assert loop.hand_over("first")
    assert loop.in_adopt.wait(5.0)
    assert loop.hand_over("second")  # queued: the thread is busy and will not take it
    closing = threading.Thread(target=loop.close)
    closing.start()
    wait_until(lambda: loop.closed, 5.0, "close() to begin")
    loop.hold_adopt.set()
    closing.join(5.0)
    assert not closing.is_alive() and not loop.alive
    assert loop.adopted == ["first"]
    assert loop.orphans == ["second"]
    assert loop.stopped == 1


def test_a_bug_in_a_hook_is_logged_and_ends_what_the_thread_held(
        loop: Hooks, caplog: pytest.LogCaptureFixture) -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        assert loop.hand_over(ours)
        wait_until(lambda: ours in loop.adopted, 5.0, "the socket to be adopted")
        theirs.sendall(b"boom")
        wait_until(lambda: not loop.alive, 5.0, "the failed thread to end")
    assert loop.stopped == 1
    assert "filecast-test-loop failed" in caplog.text
    assert "a bug in a hook" in caplog.text
