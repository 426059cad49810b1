"""Requests about many files at once (issue 12): a list of receipts, a selection declined.

Each file is decided as a request about it alone would be (core.server.routing and the
book of downloads), and the lines are written in one group commit (a selection declined
passes the flood gate as one list: core.server.fold). Runs on the session's worker thread.
"""

from __future__ import annotations

import time

from core.events import ClientInfo
from core.server.archive_send import carry_out_all
from core.server.context import SessionContext
from core.server.delivery import ClientKey
from core.server.effects import reply_effects
from core.server.routing import Outcome, Receipt, Reply, refused_receipt
from core.server.transfer import carry_out
from core.wire.protocol import RECEIPT_WAIT_SECONDS, dump_json


def _json(body: bytes) -> Reply:
    headers = (("Content-Type", "application/json"), ("Content-Length", str(len(body))),
               ("Cache-Control", "no-cache"))
    return Reply(200, headers, body)


def decline_many(ctx: SessionContext, client: ClientInfo, reply: Reply) -> Reply:
    """One "did not download the file" line per file of the selection declined."""
    effects = [reply_effects(Reply(200, (), outcome=Outcome.DECLINED, subject=entry.name,
                                   file=entry), client) for entry in reply.members]
    carry_out_all(ctx, effects, listed=True)
    return _json(dump_json({"recorded": len(effects)}))


def count_receipts(ctx: SessionContext, client: ClientInfo, key: ClientKey,
                   reply: Reply) -> Reply:
    """Count each receipt of a list as a single one is counted (only for a download
    delivered whole, once), write the lines in one group commit, and answer each."""
    book, effects, results = ctx.deliveries, [], []
    deadline = time.monotonic() + RECEIPT_WAIT_SECONDS
    refused: set[tuple[str, str]] = set()
    for item in reply.receipts:
        if not isinstance(item, Receipt):
            results.append(item)
            continue
        one = Reply(200, (), outcome=Outcome.RECEIPT, subject=item.file, receipt=item)
        # An archive of it may still be going out (delivery.settle); the wait is shared.
        book.settle(key, item.file, item.etag, max(0.0, deadline - time.monotonic()))
        if not book.covered_whole(key, item.file, item.etag):
            results.append("not_delivered")
            if (item.file, item.etag) not in refused:  # one line a file, however often
                refused.add((item.file, item.etag))
                # unbacked: through the flood gate one by one, as a single one would be
                carry_out(ctx, reply_effects(refused_receipt(item), client))
            continue
        elif not book.first_receipt(key, item.file, item.etag):
            one = Reply(200, (), outcome=Outcome.RECEIPT_AGAIN, subject=item.file, receipt=item)
            results.append("verified" if item.verified else "digest_mismatch")
        else:
            results.append("verified" if item.verified else "digest_mismatch")
        effects.append(reply_effects(one, client))
    carry_out_all(ctx, effects)
    return _json(dump_json({"results": results}))

