"""What one session may use of the server: a narrow interface instead of the whole
FilecastServer (issue 10: a session once received the server object and reached into it).

Every member is safe to use from a session's worker thread.
"""

from __future__ import annotations

import socket
from contextlib import AbstractContextManager
from typing import Protocol

from core.events import ServerEvent
from core.server.config import ServerConfig
from core.server.delivery import DeliveryBook
from core.server.ledger import LedgerEntry
from core.server.offer import OfferTable
from core.server.origin import HostNames
from core.server.sendfile_loop import SendfileLoop


class SessionContext(Protocol):
    """The offer lookup, the record, the limits and the shared senders a session needs."""

    config: ServerConfig
    offer: OfferTable
    deliveries: DeliveryBook
    host_names: HostNames
    sendfile_loop: SendfileLoop

    @property
    def stopping(self) -> bool:
        """True once the server's stop() has begun: end the visit."""

    def emit(self, event: ServerEvent) -> None:
        """Report an event to the server's listener (from the calling worker thread)."""

    def record(self, entry: LedgerEntry, *, fold: bool = True) -> None:
        """Write one ledger line (through the folder); a failing ledger is reported."""

    def record_many(self, entries: list[LedgerEntry]) -> None:
        """Write lines backed by delivered bytes in one group commit, never folded."""

    def record_list(self, entries: list[LedgerEntry]) -> None:
        """Write the lines of one request about many files (core.server.fold)."""

    def close_gently(self, sock: socket.socket) -> None:
        """Close a connection that may still be sending without a reset."""

    def body_in_flight(self) -> AbstractContextManager[int]:
        """Count a body going out while the block runs; yields the count with this one."""
