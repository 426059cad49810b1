"""The browser page at ``/`` (issue 13): the server's name and message, the offered files as
links (so it works without JavaScript), and the places the page's script fills in for the
original dialogue. Pure: HTML text from an offer snapshot.

No inline script or style: the script and the style sheet are static resources
(core.server.static), so the page's Content-Security-Policy needs no ``unsafe-inline``.
Every text from the offer is escaped; names are only ever put in attributes and text.
"""

from __future__ import annotations

import html

from core.server.entries import ServedFile
from core.server.offer import OfferState
from core.wire.archive import ARCHIVE_PREFIX
from core.wire.paths import url_path
from core.wire.protocol import SOFTWARE, file_path
from core.wire.units import human_size

MAX_FOLDER_LINKS = 50  # top-level folders linked as archives on the page
MAX_LISTED = 1000  # files listed in the page itself; the rest by name or "Download all"
SHORT_DIGEST = 12  # hex digits of a SHA-256 shown before "show all"

# What a page people trust says about itself (issue 13): only this server's own script and
# style, no frames around it, no address of it sent elsewhere.
PAGE_HEADERS = (
    ("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self';"
     " connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none';"
     " frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-cache"),
)


def index_page(state: OfferState) -> str:
    """The page: the message, the dialogue's places (shown by the script), and a link per
    offered file (the first MAX_LISTED), with "Download all" and folders as .tar."""
    name, message = html.escape(state.server_name), html.escape(state.message)
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="color-scheme" content="light dark">\n'
        f"<title>{name} · Filecast</title>\n"
        '<link rel="stylesheet" href="/page/filecast.css">\n'
        '<script src="/page/filecast.js" defer></script>\n</head>\n<body>\n'
        f'<header>\n<h1 id="server-name">{name}</h1>\n<p id="message">{message}</p>\n'
        "</header>\n<main>\n"
        f"{_dialogue()}"
        '<section aria-labelledby="files-heading">\n'
        '<h2 id="files-heading">Offered files</h2>\n'
        f"{_archive_links(state.files)}"
        f'<ul id="files">{_items(state.files)}</ul>\n{_more(state.files)}'
        "</section>\n</main>\n"
        f"<footer>{html.escape(SOFTWARE)}</footer>\n</body>\n</html>\n")


def _dialogue() -> str:
    """The original dialogue's places, hidden until the script runs (without it, the list
    of links is the page)."""
    return (
        '<section id="dialogue" aria-labelledby="ask-heading" hidden>\n'
        '<h2 id="ask-heading">Download a file</h2>\n'
        '<p><label for="person">Your name</label>\n'
        '<input id="person" name="person" autocomplete="name" maxlength="60"'
        ' placeholder="So the server knows who took it"></p>\n'
        '<form id="ask" autocomplete="off">\n<p><label for="file-name">File name</label>\n'
        '<input id="file-name" name="file" autocapitalize="off" spellcheck="false"'
        ' enterkeyhint="go" required>\n<button type="submit">Check</button></p>\n</form>\n'
        '<p id="answer" role="status" aria-live="polite"></p>\n'
        '<p id="choice" hidden><button id="yes" type="button">Yes</button>\n'
        '<button id="no" type="button">No</button></p>\n</section>\n')


def _items(files: tuple[ServedFile, ...]) -> str:
    """One list item per file: its link, its size in bytes and units, its digest."""
    return "".join(_item(f) for f in files[:MAX_LISTED])


def _item(entry: ServedFile) -> str:
    name = html.escape(entry.name)
    digest = ""
    if entry.sha256 is not None:
        digest = (f'<details><summary>SHA-256 {entry.sha256[:SHORT_DIGEST]}…</summary>'
                  f'<code class="digest">{entry.sha256}</code></details>')
    return (f'\n<li><a class="file" href="{html.escape(file_path(entry.name))}"'
            f' data-name="{name}">{name}</a> <span class="size">{entry.size:,} bytes'
            f" ({human_size(entry.size)})</span>{digest}</li>")


def _more(files: tuple[ServedFile, ...]) -> str:
    if len(files) <= MAX_LISTED:
        return ""
    return (f'<p id="more">…and {len(files) - MAX_LISTED:,} more files: type a name above,'
            " or take them all as one archive.</p>\n")


def _archive_links(files: tuple[ServedFile, ...]) -> str:
    """"Download all" and each top-level folder as one archive; nothing for one file."""
    if len(files) < 2:
        return ""
    total = sum(f.size for f in files)
    links = [f'<a href="{ARCHIVE_PREFIX}" download>Download all ({len(files):,} files,'
             f" {human_size(total)}) as one .tar</a>"]
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
    return '<p class="archives">' + "<br>".join(links) + "</p>\n"
