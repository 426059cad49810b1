"""What kind of file a name is, as a Content-Type (RFC 9110 §8.3): from its extension, by
the standard library's table, never by sniffing the bytes. Pure.

The table is Python's own (``mimetypes`` defaults), not the system's /etc/mime.types or
the Windows registry, so every machine answers alike. A file stays an attachment
(Content-Disposition) whatever its type: the type tells a browser what it saves, and
``X-Content-Type-Options: nosniff`` keeps it from guessing otherwise.
"""

from __future__ import annotations

import functools
import mimetypes

DEFAULT_TYPE = "application/octet-stream"


# What people hand out that Python's table (3.11) does not know (IANA media types).
_MORE = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".odp": "application/vnd.oasis.opendocument.presentation",
    ".epub": "application/epub+zip",
    ".md": "text/markdown",
}


@functools.lru_cache(maxsize=1)
def _table() -> mimetypes.MimeTypes:
    table = mimetypes.MimeTypes()  # the built-in defaults only: no files are read into it
    for extension, kind in _MORE.items():
        table.add_type(kind, extension)
    return table


def media_type(name: str) -> str:
    """The Content-Type for a file called ``name`` (its last segment's extension, any
    case); application/octet-stream when unknown or compressed (``.tar.gz`` is a gzip
    file to a browser, not a tar)."""
    leaf = name.rsplit("/", 1)[-1]
    guessed, encoding = _table().guess_type(leaf.lower(), strict=False)
    if guessed is None:
        return DEFAULT_TYPE
    if encoding is not None:  # .gz, .bz2, .xz: the bytes on the wire are the compressed file
        return {"gzip": "application/gzip", "bzip2": "application/x-bzip2",
                "xz": "application/x-xz"}.get(encoding, DEFAULT_TYPE)
    return guessed
