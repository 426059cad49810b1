"""The server side: listening, one session per connection, routing, the offer (files,
hashing, change watch), sending bodies, the book of downloads and the ledger with its folding.

May import core.wire, core.errors and core.events; never core.client or a front end. Front
ends (core.cli, core.gui) use only the names below, so the insides can change freely.
"""

from core.server.config import ServerConfig
from core.server.ledger import Ledger
from core.server.listening import FilecastServer
from core.server.offer import OfferTable

__all__ = ["FilecastServer", "Ledger", "OfferTable", "ServerConfig"]
