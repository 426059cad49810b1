"""Network text made safe to show or record: no line break, escape code or bidi override
from a peer reaches a ledger line, a terminal or a window raw. Pure; both sides use it."""

from __future__ import annotations

import functools
import unicodedata

_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(ch: str) -> str:
    """One non-printable character as a Python-style escape (``\\n``, ``\\x1b``, ``\\u202e``)."""
    if ch in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[ch]
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def escape_text(text: str) -> str:
    """Escape backslash, quote and non-printables so a name cannot end its quote or line."""
    if text.isprintable() and "\\" not in text and "'" not in text:
        return text  # the common case, without a pass per character (10,000-line archives)
    return "".join(
        "\\" + ch if ch in "\\'" else ch if ch.isprintable() else _escape_char(ch) for ch in text
    )


# Zero-width (non-)joiners: invisible, but part of how Persian, Indic scripts and emoji
# sequences (👩🏽‍🏫) are written; they neither break a line nor reorder text.
JOINERS = frozenset("\u200c\u200d")


def escape_for_display(text: str) -> str:
    """escape_text for a window: the same, except that joiners stay as they are."""
    return "".join(
        "\\" + ch if ch in "\\'" else ch if ch.isprintable() or ch in JOINERS
        else _escape_char(ch) for ch in text
    )


def escape_controls(text: str) -> str:
    """Escape only non-printables (for free text on a terminal or in a window): no escape
    code, line break or bidi override from the network reaches the screen raw."""
    return "".join(ch if ch.isprintable() or ch == " " else _escape_char(ch) for ch in text)


def quoted(name: str) -> str:
    """A network name as every sentence shows it: escaped, in single quotes."""
    return f"'{escape_text(name)}'"


@functools.lru_cache(maxsize=1024)
def _is_quote(ch: str) -> bool:
    """Any character a reader could take for a quotation mark: ASCII quotes, the Pi/Pf
    punctuation (“ ” « » ‘ ’ ...), and the other quotation marks, apostrophes and CJK
    corner brackets (＂ ＇ 「 」 〝 〞)."""
    if ch in "\"'" or unicodedata.category(ch) in ("Pi", "Pf"):
        return True
    name = unicodedata.name(ch, "")
    return any(word in name for word in ("QUOTATION", "APOSTROPHE", "CORNER BRACKET"))


def quoted_name(name: str) -> str:
    """A person's self-declared display name as the ledger shows it: in double quotes, with
    backslashes, quotes of every kind and non-printables escaped (issue 11), so no name can
    end its quotes, start a new line or pass for another sentence."""
    out = []
    for ch in name:
        if ch == "\\":
            out.append("\\\\")
        elif ch in "\"'":
            out.append("\\" + ch)
        elif _is_quote(ch) or not ch.isprintable():
            out.append(_escape_char(ch))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'
