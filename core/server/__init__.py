"""The server side: listening, one session per connection, routing, the offer (files,
hashing, change watch), sending bodies, the book of downloads, the ledger with its folding,
and the roster that reads the ledger back as one row per person.

May import core.wire, core.errors and core.events; never core.client or a front end. Front
ends (core.cli, core.gui) use only the names below, so the insides can change freely.
"""

from core.server.config import ServerConfig
from core.server.ledger import Ledger, read_recent
from core.server.listening import FilecastServer
from core.server.offer import OfferTable
from core.server.persons import RosterRow, Standing, not_yet
from core.server.roster import Roster
from core.server.roster_export import write_csv

__all__ = ["FilecastServer", "Ledger", "OfferTable", "Roster", "RosterRow", "ServerConfig",
           "Standing", "not_yet", "read_recent", "write_csv"]
