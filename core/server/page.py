"""The small page a browser gets at ``/``: the server's message, a link per offered file,
and with several files "Download all" and each top folder as one .tar (issue 12). Pure.
Issue 13 replaces it with the real browser page."""

from __future__ import annotations

import html

from core.server.entries import ServedFile
from core.server.offer import OfferState
from core.wire.archive import ARCHIVE_PREFIX
from core.wire.paths import url_path
from core.wire.protocol import SOFTWARE, file_path

MAX_FOLDER_LINKS = 50  # top-level folders linked as archives on the page


def index_page(state: OfferState) -> str:
    """A small page for browsers: the message, a link per offered file, and with several
    files "Download all" and one link per top-level folder, each as one .tar (issue 12)."""
    files = state.files
    items = "".join(
        f'<li><a href="{html.escape(file_path(f.name))}">{html.escape(f.name)}</a>'
        f" ({f.size:,} bytes)</li>" for f in files)
    return (f"<!doctype html><meta charset=utf-8>"
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Filecast</title>"
            f"<h1>{html.escape(state.server_name)}</h1><p>{html.escape(state.message)}</p>"
            f"{_archive_links(files)}<ul>{items}</ul><p>{SOFTWARE}</p>\n")


def _archive_links(files: tuple[ServedFile, ...]) -> str:
    """"Download all" and each top-level folder as one archive; nothing for one file."""
    if len(files) < 2:
        return ""
    total = sum(f.size for f in files)
    links = [f'<a href="{ARCHIVE_PREFIX}" download>Download all ({len(files):,} files,'
             f" {total:,} bytes) as one .tar</a>"]
    folders: dict[str, int] = {}
    for f in files:
        if "/" in f.name:
            top = f.name.split("/", 1)[0]
            folders[top] = folders.get(top, 0) + 1
    if len(folders) == 1 and sum(folders.values()) == len(files):
        folders = {}  # one folder holds everything: "Download all" is that folder
    for top, count in list(folders.items())[:MAX_FOLDER_LINKS]:
        href = html.escape(ARCHIVE_PREFIX + url_path(top) + "/")
        links.append(f'<a href="{href}" download>{html.escape(top)}/ ({count:,} files)'
                     " as one .tar</a>")
    return "<p>" + "<br>".join(links) + "</p>"
