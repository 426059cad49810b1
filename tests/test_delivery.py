"""Unit tests of core/server/delivery.py: what one client received of one version of one file.

A download (docs/PROTOCOL.md, "What a download is") is the byte ranges one client's TCP
acknowledged of one version of one file, across all its connections; "downloaded the
file" once they cover it. No sockets here.
"""

from __future__ import annotations

from core.events import TransferOutcome
from core.server.delivery import DeliveryBook, client_key
from core.server.peers import address_group

ANA = client_key(("10.0.0.5", 50000), "ana-client-1", "Filecast/0.1.0")
BEN = client_key(("10.0.0.6", 50001), None, "curl/8.5.0")
SIZE = 1000
FILE, ETAG = "report.pdf", '"3e8-1"'


def finish(book: DeliveryBook, key: object, start: int, length: int, acked: int, *,
           fresh: bool = False, etag: str = ETAG) -> tuple[TransferOutcome, int]:
    book.start(key, FILE, etag, SIZE, fresh=fresh)  # type: ignore[arg-type]
    verdict = book.finish(key, FILE, etag, SIZE, start, length, acked,  # type: ignore[arg-type]
                          whole=fresh)
    return verdict.outcome, verdict.covered


def test_a_whole_body_acknowledged_is_a_download() -> None:
    assert finish(DeliveryBook(), ANA, 0, SIZE, SIZE, fresh=True) == (
        TransferOutcome.DOWNLOADED, SIZE)


def test_a_tail_range_is_a_range() -> None:
    book = DeliveryBook()
    assert finish(book, BEN, SIZE - 1, 1, 1) == (TransferOutcome.PARTIAL, 1)
    assert finish(book, BEN, 500, 500, 500) == (TransferOutcome.PARTIAL, 500)
    assert not book.covered_whole(BEN, FILE, ETAG)


def test_ranges_that_come_to_cover_the_file_are_one_download() -> None:
    book = DeliveryBook()
    assert finish(book, BEN, 0, 400, 400) == (TransferOutcome.PARTIAL, 400)
    assert finish(book, BEN, 600, 400, 400) == (TransferOutcome.PARTIAL, 800)
    assert finish(book, BEN, 300, 400, 400) == (TransferOutcome.DOWNLOADED, SIZE)
    assert book.covered_whole(BEN, FILE, ETAG)
    # more ranges of a file already had are ranges, never a second "downloaded"
    assert finish(book, BEN, SIZE - 1, 1, 1)[0] is TransferOutcome.PARTIAL


def test_a_cut_body_counts_what_was_acknowledged_and_a_resume_completes_it() -> None:
    book = DeliveryBook()
    assert finish(book, ANA, 0, SIZE, 300, fresh=True) == (TransferOutcome.INTERRUPTED, 300)
    assert finish(book, ANA, 300, 700, 700) == (TransferOutcome.DOWNLOADED, SIZE)


def test_a_body_sent_but_not_acknowledged_is_not_downloaded() -> None:
    outcome, covered = finish(DeliveryBook(), ANA, 0, SIZE, SIZE - 1, fresh=True)
    assert (outcome, covered) == (TransferOutcome.INTERRUPTED, SIZE - 1)


def test_clients_and_versions_do_not_mix() -> None:
    book = DeliveryBook()
    finish(book, ANA, 0, 500, 500)
    assert finish(book, BEN, 500, 500, 500) == (TransferOutcome.PARTIAL, 500)
    assert finish(book, ANA, 500, 500, 500, etag='"3e8-2"') == (TransferOutcome.PARTIAL, 500)
    assert not book.covered_whole(ANA, FILE, ETAG)


def test_the_same_id_from_another_address_is_another_client() -> None:
    book = DeliveryBook()
    finish(book, ANA, 0, SIZE, SIZE, fresh=True)
    spoofed = client_key(("10.0.0.66", 40000), "ana-client-1", "Filecast/0.1.0")
    assert book.covered_whole(ANA, FILE, ETAG)
    assert not book.covered_whole(spoofed, FILE, ETAG)


def test_a_fresh_whole_request_starts_a_new_download() -> None:
    book = DeliveryBook()
    assert finish(book, ANA, 0, SIZE, SIZE, fresh=True)[0] is TransferOutcome.DOWNLOADED
    assert finish(book, ANA, 0, SIZE, SIZE, fresh=True)[0] is TransferOutcome.DOWNLOADED


def test_whole_bodies_at_once_to_lookalike_clients_each_count() -> None:
    book = DeliveryBook()
    for _ in range(3):  # a lab: one NAT address, one browser build, three people
        book.start(BEN, FILE, ETAG, SIZE, fresh=True)
    verdicts = [book.finish(BEN, FILE, ETAG, SIZE, 0, SIZE, SIZE, whole=True)
                for _ in range(3)]
    assert [v.outcome for v in verdicts] == [TransferOutcome.DOWNLOADED] * 3


def test_a_receipt_is_counted_once_per_download() -> None:
    book = DeliveryBook()
    finish(book, ANA, 0, SIZE, SIZE, fresh=True)
    assert book.first_receipt(ANA, FILE, ETAG)
    assert not book.first_receipt(ANA, FILE, ETAG)
    finish(book, ANA, 0, SIZE, SIZE, fresh=True)  # downloaded again: a new receipt counts
    assert book.first_receipt(ANA, FILE, ETAG)


def test_an_empty_file_is_downloaded_by_its_empty_body() -> None:
    book = DeliveryBook()
    book.start(ANA, FILE, ETAG, 0, fresh=True)
    verdict = book.finish(ANA, FILE, ETAG, 0, 0, 0, 0, whole=True)
    assert verdict.outcome is TransferOutcome.DOWNLOADED


def test_memory_is_bounded() -> None:
    book = DeliveryBook(max_downloads=100, max_ranges=8)
    for n in range(1000):
        key = client_key((f"10.1.{n // 250}.{n % 250}", 1), None, "x")
        finish(book, key, 0, 10, 10)
    assert len(book) == 100
    one = DeliveryBook(max_ranges=8)
    for start in range(0, SIZE, 20):  # 50 disjoint ranges: only 8 are kept
        finish(one, BEN, start, 10, 10)
    # dropping ranges only ever under-counts: never a download that did not happen
    assert finish(one, BEN, 995, 5, 5)[1] <= 9 * 10


# --- continuity across a restart: the book is rebuilt from the ledger's recent lines ----

def record(event: str, start: int, acked: int, *, etag: str = ETAG, repeats: int = 0,
           client_id: str | None = "ana-client-1") -> dict[str, object]:
    return {"event": event, "address": "10.0.0.5", "port": 50000, "client_id": client_id,
            "user_agent": "Filecast/0.1.0", "file": FILE, "etag": etag, "start": start,
            "acked": acked, "repeats": repeats}


def test_a_download_cut_by_a_clean_stop_continues_after_a_restart() -> None:
    book = DeliveryBook()
    book.replay([record("interrupted", 0, 600)], {(FILE, ETAG): SIZE})
    assert finish(book, ANA, 600, 400, 400) == (TransferOutcome.DOWNLOADED, SIZE)


def test_replay_keeps_what_was_whole_and_receipted() -> None:
    book = DeliveryBook()
    book.replay([record("downloaded", 0, SIZE), record("verified", 0, 0)], {(FILE, ETAG): SIZE})
    assert book.covered_whole(ANA, FILE, ETAG)
    assert not book.first_receipt(ANA, FILE, ETAG)  # no second "verified" line


def test_replay_ignores_other_versions_folded_lines_and_junk() -> None:
    book = DeliveryBook()
    book.replay([record("partial", 0, 600, etag='"old"'), record("partial", 0, 600, repeats=3),
                 {"event": "partial", "address": 5}, {"nothing": True},
                 record("partial", -5, 10**12), record("downloaded", 0, SIZE, client_id=None)],
                {(FILE, ETAG): SIZE})
    assert finish(book, ANA, 600, 400, 400) == (TransferOutcome.PARTIAL, 400)


def test_a_cut_body_of_a_download_already_had_is_a_range_of_what_it_delivered() -> None:
    """Bodies overlap (a client reconnects while the server still drains the cut one), so
    the one that completes a download may be recorded before another cut one ends: that
    one must not say "did not finish downloading (1000 of 1000 bytes)"."""
    book = DeliveryBook()
    finish(book, ANA, 0, SIZE, SIZE, fresh=True)
    book.start(ANA, FILE, ETAG, SIZE, fresh=False)
    verdict = book.finish(ANA, FILE, ETAG, SIZE, 300, 700, 200)
    assert (verdict.outcome, verdict.acked) == (TransferOutcome.PARTIAL, 200)
    nothing = book.finish(ANA, FILE, ETAG, SIZE, 300, 700, 0)
    assert (nothing.outcome, nothing.acked) == (TransferOutcome.PARTIAL, 0)


# --- the adversarial pass: one address cannot push others' downloads out of the book -----

def test_an_address_making_downloads_by_the_thousand_cannot_evict_another_clients() -> None:
    book = DeliveryBook()
    finish(book, ANA, 0, 500, 500)
    for n in range(20_000):  # one-byte downloads, a fresh client id each, from one address
        finish(book, client_key(("10.0.0.66", 40000), f"fresh-id-{n:06d}", "x"), 0, 1, 1)
    assert finish(book, ANA, 500, 500, 500)[0] is TransferOutcome.DOWNLOADED


def test_an_ipv6_host_is_one_address_for_the_book() -> None:
    book = DeliveryBook()
    finish(book, ANA, 0, 500, 500)
    for n in range(20_000):  # one host holds a whole /64
        finish(book, client_key((f"2001:db8:1:2::{n:x}", 40000), None, "x"), 0, 1, 1)
    assert finish(book, ANA, 500, 500, 500)[0] is TransferOutcome.DOWNLOADED


def test_a_class_behind_one_address_keeps_every_download() -> None:
    """300 clients behind one NAT address, each between its body and its receipt."""
    book = DeliveryBook()
    keys = [client_key(("10.0.0.5", 40000 + n), f"student-{n:04d}", "x") for n in range(1000)]
    for key in keys:
        finish(book, key, 0, SIZE, SIZE, fresh=True)
    assert all(book.first_receipt(key, FILE, ETAG) for key in keys)


def test_address_group() -> None:
    assert address_group("192.168.1.20") == "192.168.1.20"
    assert address_group("2001:db8:1:2::5") == address_group("2001:db8:1:2:ffff::1")
    assert address_group("2001:db8:1:2::5") != address_group("2001:db8:1:3::5")
    assert address_group("fe80::1%eth0") == address_group("fe80::2%eth0")
    assert address_group("::ffff:10.0.0.1") == "10.0.0.1"
    assert address_group("not an address") == "not an address"


def test_a_range_from_zero_to_the_end_twice_is_one_download() -> None:
    """Adversarial pass: two 206 answers to 'bytes=0-' each wrote 'downloaded the file'."""
    book = DeliveryBook()
    assert finish(book, ANA, 0, SIZE, SIZE)[0] is TransferOutcome.DOWNLOADED
    assert finish(book, ANA, 0, SIZE, SIZE)[0] is TransferOutcome.PARTIAL


def test_two_people_on_one_shared_account_do_not_add_up_to_a_download() -> None:
    """A lab shares one account, so one client id (issue 11): Ana got the first half, Ben
    the second, and neither has the file; the book must not merge them into "downloaded"."""
    book = DeliveryBook()
    ana = client_key(("10.0.0.5", 50000), "lab-account", "Filecast/0.1.0", name="Ana")
    ben = client_key(("10.0.0.5", 50001), "lab-account", "Filecast/0.1.0", name="Ben")
    assert finish(book, ana, 0, SIZE, 500, fresh=True) == (TransferOutcome.INTERRUPTED, 500)
    assert finish(book, ben, 500, 500, 500) == (TransferOutcome.PARTIAL, 500)
    assert not book.covered_whole(ben, FILE, ETAG)
    assert not book.covered_whole(ana, FILE, ETAG)
    # the name is matched as the roster matches it (case and spacing ignored)
    same_ana = client_key(("10.0.0.5", 50002), "lab-account", "Filecast/0.1.0", name=" ana ")
    assert finish(book, same_ana, 500, 500, 500) == (TransferOutcome.DOWNLOADED, SIZE)


def test_a_replayed_download_belongs_to_the_person_named_in_its_line() -> None:
    book = DeliveryBook()
    line = {**record("interrupted", 0, 600, client_id="lab-account"), "name": "Ana"}
    book.replay([line], {(FILE, ETAG): SIZE})
    ana = client_key(("10.0.0.5", 1), "lab-account", "Filecast/0.1.0", name="Ana")
    ben = client_key(("10.0.0.5", 1), "lab-account", "Filecast/0.1.0", name="Ben")
    assert finish(book, ben, 600, 400, 400) == (TransferOutcome.PARTIAL, 400)
    assert finish(book, ana, 600, 400, 400) == (TransferOutcome.DOWNLOADED, SIZE)
