"""The Connections table's model (core/gui/server_model.py): a visit that takes several
files (a selection, issue 12) says how many it took."""

from __future__ import annotations

from core.events import (
    ClientConnected,
    ClientDisconnected,
    ClientInfo,
    TransferFinished,
    TransferOutcome,
    TransferStarted,
)
from core.gui.server_model import ClientTable

ANA = ClientInfo(1, ("10.0.0.5", 4000), client_id="ana", name="Ana")


def test_a_visit_that_takes_several_files_counts_them() -> None:
    table = ClientTable()
    table.apply(ClientConnected(ANA))
    for n in range(3):
        name = f"Week 12/{n}.pdf"
        table.apply(TransferStarted(ANA, name, 0, 10, 10))
        table.apply(TransferFinished(ANA, name, 0, 10, 10, 10, TransferOutcome.DOWNLOADED,
                                     10, 10))
    row = table.rows[1]
    assert row.state_text == "downloaded · 3 files taken"
    table.apply(ClientDisconnected(ANA))
    assert row.state_text == "downloaded · 3 files taken · disconnected"
    assert table.counts.downloaded == 3  # the status bar counts files downloaded
