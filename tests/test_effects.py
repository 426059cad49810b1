"""Unit tests of core/server/effects.py: what each answer and each finished body puts on
record (the ledger line) and reports (the events before and after it).

Replies come from core.server.routing.route over a real OfferTable's snapshot of a real
file (hashed by the table's own watcher), and verdicts from a real DeliveryBook, so these
are the replies and verdicts a session and a transfer actually hand in.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_routing import request

from core.events import (
    ClientInfo,
    Declined,
    FileRequested,
    OfferSent,
    ReceiptReceived,
    ReceiptRefused,
    TransferFinished,
    TransferOutcome,
)
from core.server.delivery import DeliveryBook, Verdict, client_key
from core.server.effects import Body, Effects, reply_effects, transfer_effects
from core.server.entries import ServedFile
from core.server.ledger import LedgerEntry, LedgerEvent, sentence
from core.server.offer import OfferState, OfferTable
from core.server.routing import Outcome, Reply, refused_receipt, route
from core.wire.protocol import file_path

DATA = b"The offered file, one thousand and twenty-four bytes or so.\n" * 17
SHA = hashlib.sha256(DATA).hexdigest()
NAME = "notes.pdf"
LATER = 4_000_000_000.0
ANA = ClientInfo(7, ("10.0.0.5", 53552), client_id="ana-client-1", name="Ana's laptop",
                 user_agent="Filecast/0.1.0")


@pytest.fixture
def state(tmp_path: Path) -> Iterator[OfferState]:
    """The snapshot of a real OfferTable offering NAME, once its watcher hashed it."""
    (tmp_path / NAME).write_bytes(DATA)
    table = OfferTable([tmp_path / NAME], server_name="test-server")
    try:
        table.start()
        entry = table.state.files[0]
        assert table.wait_digest(NAME, entry.etag, 5.0) is not None
        yield table.state
    finally:
        table.close()


def answer(state: OfferState, method: str, target: str, *headers: str,
           data: dict[str, object] | None = None) -> Reply:
    body = b"" if data is None else json.dumps({"version": 1, **data}).encode()
    return route(request(method, target, *headers, body=body), body, state, now=LATER)


def about(event: LedgerEvent, file: str, **fields: object) -> LedgerEntry:
    """The entry expected about ANA, with who she says she is."""
    return LedgerEntry(event, ANA.address, file, client_id=ANA.client_id, name=ANA.name,
                       user_agent=ANA.user_agent, **fields)  # type: ignore[arg-type]


def receipt_of(entry: ServedFile, **changes: object) -> dict[str, object]:
    return {"file": entry.name, "etag": entry.etag, "bytes": entry.size, "sha256": SHA,
            **changes}


def test_sending_the_offer_reports_it_after_and_writes_no_line(state: OfferState) -> None:
    for method in ("GET", "HEAD"):
        reply = answer(state, method, "/api/v1/offer")
        assert reply_effects(reply, ANA) == Effects(after=(OfferSent(ANA),))


def test_asking_about_an_offered_file_is_reported_before_and_not_recorded(
        state: OfferState) -> None:
    for method, headers in (("HEAD", ()), ("GET", ()), ("GET", ("Range: bytes=0-9",))):
        reply = answer(state, method, file_path(NAME), *headers)
        assert reply.outcome is Outcome.FILE_FOUND
        assert reply_effects(reply, ANA) == Effects(
            before=(FileRequested(ANA, NAME, True, len(DATA)),))


@pytest.mark.parametrize("asked", ["tset.txt", "../../etc/passwd", "x'\u202ey"])
def test_asking_for_a_file_not_offered_is_recorded_before_the_404(state: OfferState,
                                                                  asked: str) -> None:
    effects = reply_effects(answer(state, "GET", file_path(asked)), ANA)
    assert effects == Effects(about(LedgerEvent.NOT_OFFERED, asked),
                              before=(FileRequested(ANA, asked, False, None),))
    assert effects.entry is not None
    assert sentence(effects.entry).startswith(
        "Client: ('10.0.0.5', 53552) \"Ana\\'s laptop\" asked for '")


def test_a_decline_is_recorded_and_reported_after(state: OfferState) -> None:
    reply = answer(state, "POST", "/api/v1/decisions", data={"file": NAME,
                                                             "decision": "declined"})
    effects = reply_effects(reply, ANA)
    # The decline is about the version offered when it was made (issue 11: a changed file
    # makes people "not yet" again in the roster, so a decline must say which version).
    version = state.files[0].etag
    assert effects == Effects(about(LedgerEvent.DECLINED, NAME, etag=version),
                              after=(Declined(ANA, NAME),))
    assert effects.entry is not None
    assert sentence(effects.entry) == (
        "Client: ('10.0.0.5', 53552) \"Ana\\'s laptop\" did not download the file 'notes.pdf'")


def test_a_matching_receipt_records_verified_with_the_digest(state: OfferState) -> None:
    entry = state.files[0]
    reply = answer(state, "POST", "/api/v1/receipts", data=receipt_of(entry))
    assert reply_effects(reply, ANA) == Effects(
        about(LedgerEvent.VERIFIED, NAME, sha256=SHA, size=len(DATA), etag=entry.etag),
        after=(ReceiptReceived(ANA, NAME, SHA, True),))


def test_a_wrong_digest_records_what_the_client_computed(state: OfferState) -> None:
    entry = state.files[0]
    wrong = "0" * 64
    reply = answer(state, "POST", "/api/v1/receipts", data=receipt_of(entry, sha256=wrong))
    assert reply_effects(reply, ANA) == Effects(
        about(LedgerEvent.DIGEST_MISMATCH, NAME, sha256=wrong, size=len(DATA),
              etag=entry.etag),
        after=(ReceiptReceived(ANA, NAME, wrong, False),))


def test_a_receipt_sent_again_is_reported_but_writes_no_second_line(
        state: OfferState) -> None:
    entry = state.files[0]
    first = answer(state, "POST", "/api/v1/receipts", data=receipt_of(entry))
    again = dataclasses.replace(first, outcome=Outcome.RECEIPT_AGAIN)  # as the session does
    assert reply_effects(again, ANA) == Effects(after=(ReceiptReceived(ANA, NAME, SHA, True),))


def test_a_receipt_for_a_download_not_delivered_whole_is_recorded_as_refused(
        state: OfferState) -> None:
    entry = state.files[0]
    reply = answer(state, "POST", "/api/v1/receipts", data=receipt_of(entry))
    assert reply.receipt is not None
    refused = refused_receipt(reply.receipt)
    assert refused.status == 403
    assert reply_effects(refused, ANA) == Effects(
        about(LedgerEvent.RECEIPT_REFUSED, NAME, etag=entry.etag),
        after=(ReceiptRefused(ANA, NAME),))


def test_answers_that_mean_nothing_for_the_record_have_no_effects(state: OfferState) -> None:
    entry = state.files[0]
    replies = [
        answer(state, "GET", "/"),
        answer(state, "GET", file_path(NAME), f"If-None-Match: {entry.etag}"),  # 304
    ]
    unhashed = dataclasses.replace(state, files=(dataclasses.replace(entry, sha256=None),))
    waiting = answer(unhashed, "POST", "/api/v1/receipts", data=receipt_of(entry))
    assert waiting.outcome is Outcome.WAIT_DIGEST
    for reply in [*replies, waiting]:
        assert reply_effects(reply, ANA) == Effects()


# --- finished bodies -------------------------------------------------------------------

SIZE = len(DATA)
ETAG = '"etag-1"'
KEY = client_key(ANA.address, ANA.client_id, ANA.user_agent)


def body_of(book: DeliveryBook, start: int, length: int, acked: int, *,
            whole: bool = False) -> tuple[Body, Verdict]:
    """One body through the book of downloads, as core.server.transfer does it."""
    book.start(KEY, NAME, ETAG, SIZE, fresh=whole)
    verdict = book.finish(KEY, NAME, ETAG, SIZE, start, length, acked, whole=whole)
    return Body(NAME, ETAG, start, length, SIZE, sent=length), verdict


def finished(body: Body, verdict: Verdict, acked: int) -> TransferFinished:
    return TransferFinished(ANA, NAME, body.start, body.sent, body.length, SIZE,
                            verdict.outcome, acked, verdict.covered)


def test_a_whole_download_is_recorded_as_downloaded() -> None:
    body, verdict = body_of(DeliveryBook(), 0, SIZE, SIZE, whole=True)
    assert verdict.outcome is TransferOutcome.DOWNLOADED
    effects, fold = transfer_effects(body, verdict, SIZE, ANA, stopping=False)
    assert effects == Effects(
        about(LedgerEvent.DOWNLOADED, NAME, bytes=SIZE, size=SIZE, start=0, acked=SIZE,
              etag=ETAG),
        after=(finished(body, verdict, SIZE),))
    assert fold


def test_a_range_is_recorded_as_the_bytes_acknowledged() -> None:
    body, verdict = body_of(DeliveryBook(), 100, 50, 50)
    assert verdict.outcome is TransferOutcome.PARTIAL
    effects, fold = transfer_effects(body, verdict, 50, ANA, stopping=False)
    assert effects.entry == about(LedgerEvent.PARTIAL, NAME, bytes=50, size=SIZE, start=100,
                                  acked=50, etag=ETAG)
    assert sentence(effects.entry) == (
        "Client: ('10.0.0.5', 53552) \"Ana\\'s laptop\" downloaded bytes 100-149 of the file"
        " 'notes.pdf'")
    assert effects.after == (finished(body, verdict, 50),) and effects.before == ()
    assert fold


def test_a_range_of_a_file_already_had_with_nothing_acknowledged_writes_no_line() -> None:
    book = DeliveryBook()
    body_of(book, 0, SIZE, SIZE, whole=True)
    body, verdict = body_of(book, 10, 100, 0)
    assert (verdict.outcome, verdict.acked) == (TransferOutcome.PARTIAL, 0)
    effects, fold = transfer_effects(body, verdict, 0, ANA, stopping=False)
    assert effects == Effects(after=(finished(body, verdict, 0),))
    assert fold


def test_a_cut_download_is_recorded_with_what_the_download_covers() -> None:
    book = DeliveryBook()
    body_of(book, SIZE - 24, 24, 24)  # a tail range first
    body, verdict = body_of(book, 0, SIZE, 100, whole=True)
    assert verdict.outcome is TransferOutcome.INTERRUPTED
    effects, fold = transfer_effects(body, verdict, 100, ANA, stopping=False)
    assert effects.entry == about(LedgerEvent.INTERRUPTED, NAME, bytes=verdict.covered,
                                  size=SIZE, start=0, acked=100, etag=ETAG)
    assert sentence(effects.entry) == (
        f"Client: ('10.0.0.5', 53552) \"Ana\\'s laptop\" did not finish downloading 'notes.pdf'"
        f" ({verdict.covered} of {SIZE} bytes)")
    assert effects.after == (finished(body, verdict, 100),)
    assert fold


def test_a_download_cut_by_our_own_stop_is_never_folded() -> None:
    body, verdict = body_of(DeliveryBook(), 0, SIZE, 10, whole=True)
    assert verdict.outcome is TransferOutcome.INTERRUPTED
    effects, fold = transfer_effects(body, verdict, 10, ANA, stopping=True)
    assert effects.entry is not None and effects.entry.event is LedgerEvent.INTERRUPTED
    assert not fold


@pytest.mark.parametrize(("start", "length", "whole"), [(0, SIZE, True), (5, 10, False)])
def test_a_finished_body_during_stop_still_folds(start: int, length: int,
                                                 whole: bool) -> None:
    body, verdict = body_of(DeliveryBook(), start, length, length, whole=whole)
    assert verdict.outcome is not TransferOutcome.INTERRUPTED
    assert transfer_effects(body, verdict, length, ANA, stopping=True)[1]
