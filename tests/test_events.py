"""core/events.py: the throttle every progress display relies on, the peer spelling of the
original program, and events that can cross threads because nobody can change them.

Throttle runs on an injected fake clock, so each interval is exact and no test sleeps.
"""

from __future__ import annotations

import dataclasses
import time

import pytest

from core.events import (
    ClientInfo,
    DownloadProgress,
    Event,
    NullListener,
    ServerStopped,
    Throttle,
    TransferOutcome,
    format_address,
)

STEP = 0.125  # exact in binary, a little over one interval of 0.1
HALF = STEP / 2


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def throttle(interval: float = 0.1) -> tuple[Throttle, Clock]:
    clock = Clock()
    return Throttle(interval, clock=clock), clock


def test_the_first_event_goes_out_at_once() -> None:
    gate, _ = throttle()
    assert gate.due()


def test_no_second_event_before_the_interval() -> None:
    gate, clock = throttle()
    assert gate.due()
    assert not gate.due()
    clock.now += HALF
    assert not gate.due()
    clock.now += HALF
    assert gate.due()
    assert not gate.due()  # and the interval starts again from the one that went out


def test_an_event_exactly_one_interval_later_goes_out() -> None:
    gate, clock = throttle(interval=STEP)
    assert gate.due()
    clock.now += STEP
    assert gate.due()


def test_events_refused_do_not_push_the_next_one_back() -> None:
    gate, clock = throttle()
    assert gate.due()
    for _ in range(5):  # asked often: still one event per interval, counted from the last sent
        clock.now += 0.01
        gate.due()
    clock.now += STEP - 0.05
    assert gate.due()


def test_the_final_event_is_always_due_and_restarts_the_interval() -> None:
    gate, clock = throttle()
    assert gate.due()
    assert gate.due(final=True)  # at once, though the interval has not passed
    assert gate.due(final=True)
    clock.now += HALF
    assert not gate.due()
    clock.now += HALF
    assert gate.due()


def test_hold_delays_even_the_first_event_by_one_interval() -> None:
    gate, clock = throttle()
    gate.hold()
    assert not gate.due()
    clock.now += HALF
    assert not gate.due()
    assert gate.due(final=True)  # a final one is never held back


def test_hold_restarts_the_interval_from_now() -> None:
    gate, clock = throttle()
    assert gate.due()
    clock.now += STEP
    gate.hold()  # e.g. a new body begins: its first event waits for a measurable speed
    assert not gate.due()
    clock.now += STEP
    assert gate.due()


def test_the_default_interval_is_about_ten_a_second() -> None:
    clock = Clock()
    gate = Throttle(clock=clock)
    assert gate.due()
    clock.now += HALF
    assert not gate.due()
    clock.now += HALF
    assert gate.due()


def test_without_a_clock_the_throttle_follows_real_time() -> None:
    gate = Throttle(interval=0.05)
    assert gate.due()
    assert not gate.due()
    time.sleep(0.06)
    assert gate.due()


# --- spelling ------------------------------------------------------------------------------


@pytest.mark.parametrize(("address", "spelled"), [
    (("127.0.0.1", 53552), "('127.0.0.1', 53552)"),
    (("::1", 5001), "('::1', 5001)"),
    (("fe80::1%eth0", 1), "('fe80::1%eth0', 1)"),
])
def test_a_peer_is_spelled_as_the_original_program_did(address: tuple[str, int],
                                                       spelled: str) -> None:
    assert format_address(address) == spelled


def test_only_host_and_port_are_spelled_of_an_ipv6_peer() -> None:
    """An IPv6 socket address also carries flowinfo and scope id: they are not shown."""
    assert format_address(("::1", 5001, 0, 0)) == "('::1', 5001)"  # type: ignore[arg-type]


def test_a_client_label_wraps_the_spelling() -> None:
    client = ClientInfo(7, ("10.0.0.5", 53552))
    assert client.label == "<ip: ('10.0.0.5', 53552)>"


# --- frozen events and the null listener ---------------------------------------------------------


def test_an_event_cannot_be_changed_after_it_was_sent() -> None:
    event = DownloadProgress("a.bin", 10, 100, 5.0, 18.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.received = 11  # type: ignore[misc]
    client = ClientInfo(1, ("127.0.0.1", 1))
    with pytest.raises(dataclasses.FrozenInstanceError):
        client.name = "mallory"  # type: ignore[misc]
    assert event.received == 10 and client.name is None


def test_equal_events_compare_and_hash_equal() -> None:
    """Frozen dataclasses hash by value, so a front end may keep them in sets and dicts."""
    one = DownloadProgress("a.bin", 10, 100, 5.0, None)
    two = DownloadProgress("a.bin", 10, 100, 5.0, None)
    assert one == two and len({one, two}) == 1
    assert ServerStopped() == ServerStopped()


def test_the_null_listener_ignores_every_event() -> None:
    listener = NullListener()
    events: list[Event] = [ServerStopped(), DownloadProgress("a", 1, 2, 0.0, None)]
    for event in events:
        assert listener.on_event(event) is None


def test_outcomes_are_spelled_as_the_ledger_writes_them() -> None:
    assert [o.value for o in TransferOutcome] == ["downloaded", "partial", "interrupted"]
