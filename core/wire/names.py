"""Turn a name a server proposes into one safe file name component (docs/PROTOCOL.md, Saving).

Pure functions, no I/O: the name comes from the network, so it may try path traversal
(``../../etc/passwd``), hide its extension behind bidi controls (``txt\u202eexe.pdf``) or
name a Windows device (``CON``). What comes out is a single component that is safe to
create inside the chosen folder on Windows, macOS and Linux.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

FALLBACK_NAME = "download"
PART_SUFFIX = ".part"
META_SUFFIX = ".part.json"
META_NEW_SUFFIX = ".part.json.new"  # the metadata while it is being replaced
_OWN_SUFFIXES = (PART_SUFFIX, META_SUFFIX, META_NEW_SUFFIX)
# The metadata is hidden (a dot first, on Linux and macOS) so a Downloads folder shows one
# NAME.part per unfinished download, not two files (issue 11).
META_PREFIX = "."
MAX_COMPONENT_BYTES = 255
# Leave room for the longest sibling we create, .NAME.part.json.new, within 255 bytes.
MAX_NAME_BYTES = MAX_COMPONENT_BYTES - len(META_PREFIX) - len(META_NEW_SUFFIX)
# An extension longer than this is not worth keeping when the name must be shortened.
_MAX_KEPT_EXTENSION_BYTES = 32

_SEPARATORS = re.compile(r"[/\\]")
# Characters Windows refuses in names (Win32 naming conventions); replaced, not dropped,
# so "a:b" and "ab" stay different names.
_REPLACED = str.maketrans({c: "_" for c in '<>:"|?*'})
# Bidi controls (Unicode TR9: embeddings, overrides, isolates, marks) and the line and
# paragraph separators: they make "exe.txt" display as "txt.exe" (CVE-2021-42574 class).
_BIDI = frozenset(
    [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C, 0x2028, 0x2029]
)
_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{port}{n}" for port in ("COM", "LPT") for n in [*"123456789", "¹", "²", "³"]]
)


def _dropped(char: str) -> bool:
    """Whether a character must vanish: C0/C1 controls, DEL, bidi controls, lone surrogates."""
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F or code in _BIDI or 0xD800 <= code <= 0xDFFF


def _strip(text: str) -> str:
    """Drop trailing dots and spaces (Windows silently removes them) and leading spaces."""
    return text.rstrip(". ").lstrip(" ")


def _is_device(text: str) -> bool:
    """Whether Windows treats the name as a device, extension or not (``con.txt``, ``NUL .``)."""
    base = text.split(".", 1)[0].rstrip(" ")
    return base.upper() in _DEVICES


def split_extension(name: str) -> tuple[str, str]:
    """``report.pdf`` → (``report``, ``.pdf``); a leading dot is no extension (``.bashrc``)."""
    dot = name.rfind(".")
    if dot <= 0:
        return name, ""
    return name[:dot], name[dot:]


def _cut(text: str, limit: int) -> str:
    """The longest prefix of ``text`` whose UTF-8 fits in ``limit`` bytes, never half a char."""
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


def _cap(text: str, limit: int) -> str:
    """Shorten to ``limit`` UTF-8 bytes, keeping a short extension when there is one."""
    if len(text.encode("utf-8")) <= limit:
        return text
    stem, ext = split_extension(text)
    ext_bytes = len(ext.encode("utf-8"))
    if ext and ext_bytes <= _MAX_KEPT_EXTENSION_BYTES:
        stem = _strip(_cut(stem, limit - ext_bytes))
        if stem:
            return stem + ext
    return _cut(text, limit)


# Names that are safe as they are: every rule below leaves them unchanged.
_PLAIN = re.compile(r"[\w.\-+,;=@#$%&'()\[\]{}~!^` ]+", re.ASCII)


@functools.lru_cache(maxsize=4096)  # folder names recur for every file in them
def safe_filename(name: str) -> str:
    """A single, safe file name component for ``name``; ``download`` when nothing is left."""
    if _PLAIN.fullmatch(name) and len(name) <= MAX_NAME_BYTES and name[-1] not in ". " \
            and name[0] != " " and not _is_device(name) \
            and not name.lower().endswith(_OWN_SUFFIXES):
        return name  # most names: a third of a small file's cost to the client went here
    return _made_safe(name)


def _made_safe(name: str) -> str:
    """What safe_filename makes of a name that is not plainly safe."""
    last = _SEPARATORS.split(name)[-1]
    text = "".join(c for c in last if not _dropped(c)).translate(_REPLACED)
    text = _strip(text)
    if _is_device(text):
        text = "_" + text
    # Capping can leave trailing dots/spaces, and stripping those can expose a device name
    # ("CON" + 300 spaces + "x" → "CON"); the result is then short, so one more pass is enough.
    text = _strip(_cap(text, MAX_NAME_BYTES))
    if _is_device(text):
        text = "_" + text
    if text.lower().endswith(_OWN_SUFFIXES):
        # Never a name the client keeps for its own bookkeeping: a file offered as
        # 'x.part.json' was later read as the metadata of 'x' (the adversarial pass).
        text = _strip(_cap(text, MAX_NAME_BYTES - 1)) + "_"
    return text or FALLBACK_NAME


ARCHIVE_PART_SUFFIX = ".partial"


def archive_part_name(safe: str) -> str:
    """Where a file of an archive is written until it is verified and flushed: hidden, and
    not NAME.part, so a crash leaves no NAME.part without metadata that a later download
    would take for another program's (issue 12 review)."""
    return f"{META_PREFIX}{safe}{ARCHIVE_PART_SUFFIX}"


def meta_name(safe: str) -> str:
    """Where a part's metadata lives: ``.NAME.part.json`` beside ``NAME.part``."""
    return f"{META_PREFIX}{safe}{META_SUFFIX}"


def part_of_meta(name: str) -> str | None:
    """The safe name whose metadata ``name`` is (``.x.pdf.part.json`` or, as written before
    issue 11, ``x.pdf.part.json``), or None for any other file."""
    if not name.endswith(META_SUFFIX) or name == META_PREFIX + META_SUFFIX:
        return None
    stem = name[: -len(META_SUFFIX)]
    return stem[len(META_PREFIX):] if stem.startswith(META_PREFIX) else stem or None


def numbered(name: str, n: int) -> str:
    """The ``n``-th alternative to an existing name: ``report.pdf`` → ``report (1).pdf``."""
    stem, ext = split_extension(name)
    return f"{stem} ({n}){ext}"


def name_key(name: str) -> str:
    """The form names are matched in: NFC, so "Résumé.pdf" typed with composed accents
    finds a file whose name is stored decomposed, as macOS writes it (issue 9, item 8)."""
    return unicodedata.normalize("NFC", name)


def loose_key(name: str) -> str:
    """A name with case and Unicode form ignored ("Big2G.BIN" and "big2g.bin" agree)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFKC", name).casefold())


@dataclass(frozen=True)
class NameMatch:
    """What a typed name means among the offered ones (issue 11: names without exact typing).

    ``name``: the offered file it names: itself, or the only one equal to it once case and
    Unicode form are ignored. ``suggestion``: when it names none, the closest offered name,
    for "Did you mean ...?" (a typo is never taken without asking)."""

    name: str | None
    suggestion: str | None = None


def match_name(typed: str, offered: Sequence[str]) -> NameMatch:
    """The offered file ``typed`` means, or the one it may have meant."""
    exact = [name for name in offered if name_key(name) == name_key(typed)]
    if len(exact) == 1:
        return NameMatch(exact[0])
    loose = [name for name in offered if loose_key(name) == loose_key(typed)]
    if len(loose) == 1:
        return NameMatch(loose[0])
    keys = {loose_key(name): name for name in offered}
    close = difflib.get_close_matches(loose_key(typed), list(keys), n=1, cutoff=0.6)
    return NameMatch(None, keys[close[0]] if close else None)
