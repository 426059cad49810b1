"""The pure helpers of core/client/download.py: what a 200's headers describe, the sizes and
the sentence a person reads when the file changed, and the progress meter.

``file_info`` decides which version a body is (issue 9: anything else than the consented
file is refused); ``changed_sentence`` must say *what* changed in words a person can check;
``Meter`` sends at most ~10 DownloadProgress events a second, always the final one, with a
smoothed speed. No sockets: headers are parsed from bytes, and the meter runs on a fake clock.
"""

from __future__ import annotations

import functools
import io
import itertools
import types
from http.client import HTTPMessage, parse_headers

import pytest

from core.client import download
from core.client.download import (
    MIN_SLICE,
    PROGRESS_INTERVAL,
    SPEED_SMOOTHING,
    Meter,
    changed_sentence,
    file_info,
    size_words,
)
from core.errors import ProtocolError
from core.events import DownloadProgress, Event, Throttle
from core.wire.protocol import FileInfo, http_date, iso_utc, repr_digest

ADDRESS = "192.168.1.20:5001"
NAME = "report.pdf"
SHA = "ab" * 32
WHEN = 1_795_000_000


def headers(**fields: str) -> HTTPMessage:
    """An HTTPMessage as http.client parses it from the wire."""
    raw = "".join(f"{k.replace('_', '-')}: {v}\r\n" for k, v in fields.items()) + "\r\n"
    return parse_headers(io.BytesIO(raw.encode("latin-1")))


# --- file_info -------------------------------------------------------------------------------


def test_file_info_reads_size_version_digest_and_date() -> None:
    info = file_info(ADDRESS, NAME, headers(ETag='"9-1"', Repr_Digest=repr_digest(SHA),
                                            Last_Modified=http_date(WHEN)), 9)
    assert info == FileInfo(NAME, 9, SHA, iso_utc(WHEN), '"9-1"')


@pytest.mark.parametrize(("fields", "size"), [({"ETag": '"9-1"'}, None), ({}, 9)])
def test_file_info_refuses_an_answer_without_size_or_etag(fields: dict[str, str],
                                                          size: int | None) -> None:
    with pytest.raises(ProtocolError, match="without a size or an ETag") as caught:
        file_info(ADDRESS, NAME, headers(**fields), size)
    assert ADDRESS in str(caught.value) and f"'{NAME}'" in str(caught.value)


def test_file_info_borrows_the_known_digest_only_for_the_same_version() -> None:
    known = FileInfo(NAME, 9, SHA, "", '"9-1"')
    assert file_info(ADDRESS, NAME, headers(ETag='"9-1"'), 9, known).sha256 == SHA
    assert file_info(ADDRESS, NAME, headers(ETag='"9-2"'), 9, known).sha256 is None
    own = "cd" * 32
    assert file_info(ADDRESS, NAME, headers(ETag='"9-1"', Repr_Digest=repr_digest(own)),
                     9, known).sha256 == own  # the answer's own digest wins


@pytest.mark.parametrize("value", ["yesterday", "", "Wed, 21 Oct 2015 07:28:00"])
def test_file_info_leaves_an_unreadable_date_empty(value: str) -> None:
    info = file_info(ADDRESS, NAME, headers(ETag='"9-1"', Last_Modified=value), 9)
    assert info.modified == ""


def test_file_info_ignores_a_garbled_digest() -> None:
    info = file_info(ADDRESS, NAME, headers(ETag='"9-1"', Repr_Digest="sha-256=:???:"), 9)
    assert info.sha256 is None


# --- size_words and changed_sentence -----------------------------------------------------------


@pytest.mark.parametrize(("count", "other", "words"), [
    (999, 5_000_000, "999 bytes"),
    (1, 0, "1 byte"),
    (2_500_000, 1_000_000, "2.5 MB"),
    (1_000_001, 1_000_000, "1,000,001 bytes"),  # both would read "1.0 MB"
    (999_999_999, 1_000_000_000, "999,999,999 bytes"),  # both would read "1.0 GB"
])
def test_sizes_are_human_unless_that_hides_the_difference(count: int, other: int,
                                                          words: str) -> None:
    assert size_words(count, other) == words


def consented(size: int = 1_000_000, etag: str = '"1"') -> FileInfo:
    return FileInfo(NAME, size, SHA, "", etag)


def test_a_new_size_is_named_with_the_old_one() -> None:
    sentence = changed_sentence(consented(), FileInfo(NAME, 2_500_000, None, "", '"2"'))
    assert "it is now 2.5 MB, not 1.0 MB" in sentence
    assert sentence.startswith(f"'{NAME}' changed on the server since you said yes")
    assert "Nothing of it was saved" in sentence


def test_a_size_differing_by_one_byte_is_spelled_exactly() -> None:
    sentence = changed_sentence(consented(), FileInfo(NAME, 1_000_001, None, "", '"2"'))
    assert "it is now 1,000,001 bytes, not 1,000,000 bytes" in sentence


def test_a_new_version_of_the_same_size_says_so() -> None:
    sentence = changed_sentence(consented(), FileInfo(NAME, 1_000_000, None, "", '"2"'))
    assert "another version of the same size (1.0 MB)" in sentence


def test_another_digest_of_the_same_version_says_so() -> None:
    sentence = changed_sentence(consented(), FileInfo(NAME, 1_000_000, "cd" * 32, "", '"1"'))
    assert "its SHA-256 is not the one you were shown" in sentence


# --- Meter --------------------------------------------------------------------------------


STEP = 0.125  # a little over PROGRESS_INTERVAL, and exact in binary
HALF = STEP / 2  # under it


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The meter's clock, and its throttle's, made the test's."""
    fake = Clock()
    monkeypatch.setattr(download, "time", types.SimpleNamespace(monotonic=fake))
    monkeypatch.setattr(download, "Throttle", functools.partial(Throttle, clock=fake))
    return fake


class Sent:
    """The meter's events, with the fake time each went out."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.events: list[tuple[float, DownloadProgress]] = []

    def __call__(self, event: Event) -> None:
        assert isinstance(event, DownloadProgress)
        self.events.append((self.clock.now, event))


def test_the_first_progress_waits_until_a_speed_can_be_measured(clock: Clock) -> None:
    sent = Sent(clock)
    meter = Meter(sent, NAME, 1000)
    clock.now += HALF
    meter.update(100)
    assert sent.events == []
    clock.now += HALF
    meter.update(200)
    [(_, event)] = sent.events
    assert event == DownloadProgress(NAME, 200, 1000, 1600.0, 0.5)  # 200 B in 1/8 s


def test_progress_is_throttled_and_the_final_one_always_sent(clock: Clock) -> None:
    sent = Sent(clock)
    meter = Meter(sent, NAME, 10_000)
    for step in range(1, 100):  # a read every 10 ms for about a second
        clock.now = 100.0 + step / 100
        meter.update(step * 100)
    clock.now += 0.001
    meter.update(10_000, final=True)
    times = [when for when, _ in sent.events]
    assert 8 <= len(times) - 1 <= 10  # about ten a second, plus the final one
    assert all(b - a >= PROGRESS_INTERVAL - 1e-9 for a, b in itertools.pairwise(times[:-1]))
    final = sent.events[-1][1]
    assert (final.received, final.size, final.seconds_left) == (10_000, 10_000, 0.0)


def test_the_speed_is_smoothed_not_jumpy(clock: Clock) -> None:
    sent = Sent(clock)
    meter = Meter(sent, NAME, 10_000)
    clock.now += STEP
    meter.update(200)  # 1600 B/s
    clock.now += STEP
    meter.update(600)  # 3200 B/s for a moment
    speeds = [event.bytes_per_second for _, event in sent.events]
    assert speeds == pytest.approx([1600.0, 1600.0 + SPEED_SMOOTHING * 1600.0])
    assert sent.events[-1][1].seconds_left == pytest.approx((10_000 - 600) / speeds[-1])


def test_a_stalled_download_shows_no_time_left(clock: Clock) -> None:
    sent = Sent(clock)
    meter = Meter(sent, NAME, 1000)
    clock.now += 2 * STEP
    meter.update(0)
    [(_, event)] = sent.events
    assert event.bytes_per_second == 0.0 and event.seconds_left is None


def test_a_resumed_body_does_not_count_the_bytes_already_saved(clock: Clock) -> None:
    sent = Sent(clock)
    meter = Meter(sent, NAME, 1000)
    clock.now += 5.0
    meter.restart(600, 2000)  # a new body from byte 600, of a file now 2000 bytes
    clock.now += HALF
    meter.update(650)
    assert sent.events == []  # restart holds the next event an interval again
    clock.now += HALF
    meter.update(700)
    [(_, event)] = sent.events
    assert (event.received, event.size) == (700, 2000)
    assert event.bytes_per_second == 800.0  # 100 bytes in 1/8 s, not 700 in 5 s


def test_reads_grow_with_the_speed_within_the_limit(clock: Clock) -> None:
    meter = Meter(lambda event: None, NAME, 10**9)
    assert meter.slice_size(10**9) == MIN_SLICE
    assert meter.slice_size(1000) == 1000
    clock.now += STEP
    meter.update(1_250_000)  # 10 MB/s: a tenth of a second is 1 MB
    assert meter.slice_size(10**9) == 1_000_000
    assert meter.slice_size(300_000) == 300_000
