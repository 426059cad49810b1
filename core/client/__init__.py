"""The client side: a visit to one server (visit), its HTTP connection (http), one download
with resume and verification (download), the part file (partfile), the hash-and-write
pipeline (pipeline), many small files as one archive (archive_fetch), the save folder,
deadlines, the receipt, and the unfinished downloads a folder holds (leftovers).

May import core.wire, core.errors and core.events; never core.server or a front end. Front
ends use only the names below.
"""

from core.client.archive_fetch import Taken, by_archive
from core.client.download import DownloadResult
from core.client.http import parse_server
from core.client.leftovers import Unfinished, discard_unfinished, find_unfinished
from core.client.savefolder import free_bytes, make_folders
from core.client.visit import FilecastClient

__all__ = ["DownloadResult", "FilecastClient", "Taken", "Unfinished", "by_archive",
           "discard_unfinished", "find_unfinished", "free_bytes", "make_folders", "parse_server"]
