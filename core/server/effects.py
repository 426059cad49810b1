"""What a reply or a finished body means for the record: one table from the router's
Outcome (and the book of downloads' TransferOutcome) to the ledger line and the events.

Pure: the session hands in the Reply and who the client is, and only writes and reports what
comes back, so each fact has one spelling (issue 10: Outcome, LedgerEvent and the event
classes were once matched up in two if-chains inside the connection code).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.events import (
    ClientInfo,
    Declined,
    FileRequested,
    OfferSent,
    ReceiptReceived,
    ReceiptRefused,
    ServerEvent,
    TransferFinished,
    TransferOutcome,
)
from core.server.delivery import Verdict
from core.server.ledger import LedgerEntry, LedgerEvent
from core.server.routing import Outcome, Reply


@dataclass(frozen=True)
class Effects:
    """The ledger line to write before the answer goes out (so a client that saw the answer
    is always on record), the events to report before it and those to report after it."""

    entry: LedgerEntry | None = None
    before: tuple[ServerEvent, ...] = ()
    after: tuple[ServerEvent, ...] = ()


def entry_for(client: ClientInfo, event: LedgerEvent, file: str, **fields: object) -> LedgerEntry:
    """A ledger entry about ``client``, with who it says it is."""
    return LedgerEntry(event, client.address, file, client_id=client.client_id,
                       name=client.name, user_agent=client.user_agent,
                       **fields)  # type: ignore[arg-type]


def reply_effects(reply: Reply, client: ClientInfo) -> Effects:
    """What answering ``reply`` to ``client`` records and reports (bodies: transfer_effects)."""
    outcome, name = reply.outcome, reply.subject or ""
    if outcome is Outcome.OFFER_SENT:
        return Effects(after=(OfferSent(client),))
    if outcome is Outcome.FILE_FOUND and reply.file is not None:
        return Effects(before=(FileRequested(client, name, True, reply.file.size),))
    if outcome is Outcome.FILE_MISSING:
        return Effects(entry_for(client, LedgerEvent.NOT_OFFERED, name),
                       before=(FileRequested(client, name, False, None),))
    if outcome is Outcome.DECLINED:
        etag = reply.file.etag if reply.file is not None else None
        return Effects(entry_for(client, LedgerEvent.DECLINED, name, etag=etag),
                       after=(Declined(client, name),))
    receipt = reply.receipt
    if receipt is None:
        return Effects()
    if outcome is Outcome.RECEIPT_REFUSED:
        return Effects(entry_for(client, LedgerEvent.RECEIPT_REFUSED, name, etag=receipt.etag),
                       after=(ReceiptRefused(client, name),))
    said = (ReceiptReceived(client, name, receipt.sha256, receipt.verified),)
    if outcome is Outcome.RECEIPT_AGAIN:  # one line per download: a repeat adds none
        return Effects(after=said)
    if outcome is Outcome.RECEIPT:
        event = LedgerEvent.VERIFIED if receipt.verified else LedgerEvent.DIGEST_MISMATCH
        return Effects(entry_for(client, event, name, sha256=receipt.sha256,
                                 size=receipt.size, etag=receipt.etag), after=said)
    return Effects()


# TransferOutcome (decided once, by core.server.delivery) -> its ledger line.
_TRANSFER_EVENTS = {
    TransferOutcome.DOWNLOADED: LedgerEvent.DOWNLOADED,
    TransferOutcome.PARTIAL: LedgerEvent.PARTIAL,
    TransferOutcome.INTERRUPTED: LedgerEvent.INTERRUPTED,
}


@dataclass(frozen=True)
class Body:
    """One body that went out: which file version, which span, how much was sent."""

    file: str
    etag: str
    start: int
    length: int
    size: int
    sent: int


def transfer_effects(body: Body, verdict: Verdict, acked: int, client: ClientInfo, *,
                     stopping: bool) -> tuple[Effects, bool]:
    """The ledger line and TransferFinished for a finished body, and whether the line may
    fold (a cut by our own stop() is the server's doing, never folded as client noise)."""
    finished = TransferFinished(client, body.file, body.start, body.sent, body.length,
                                body.size, verdict.outcome, acked, verdict.covered)
    if verdict.outcome is TransferOutcome.PARTIAL and not verdict.acked:
        # nothing delivered of a file the client already has: no line
        return Effects(after=(finished,)), True
    count = verdict.acked if verdict.outcome is TransferOutcome.PARTIAL else verdict.covered
    entry = entry_for(client, _TRANSFER_EVENTS[verdict.outcome], body.file, bytes=count,
                      size=body.size, start=body.start, acked=verdict.acked, etag=body.etag)
    fold = verdict.outcome is not TransferOutcome.INTERRUPTED or not stopping
    return Effects(entry, after=(finished,)), fold
