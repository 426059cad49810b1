"""The client side: a visit to one server (visit), its HTTP connection (http), one download
with resume and verification (download), the part file (partfile), the hash-and-write
pipeline (pipeline), the save folder, deadlines and the receipt.

May import core.wire, core.errors and core.events; never core.server or a front end. Front
ends use only the names below.
"""

from core.client.download import DownloadResult
from core.client.http import parse_server
from core.client.visit import FilecastClient

__all__ = ["DownloadResult", "FilecastClient", "parse_server"]
