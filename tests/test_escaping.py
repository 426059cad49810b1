"""Unit tests of core/wire/escaping.py: network text made safe to show and to record.

File names, client names and agents come from the network and end up in Clients.txt, on a
terminal and in the windows. A peer must not be able to start a new ledger line, close the
quotes around a name, move the cursor or reverse the text; a person's ordinary accented,
Arabic or Chinese name must still read as typed.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.wire.escaping import escape_controls, escape_text, quoted

# One quoted name as a reader (or a script) of Clients.txt parses it: a quote, then plain
# characters or backslash escapes, then the closing quote.
QUOTED_NAME = re.compile(r"'(?:[^'\\]|\\.)*'")

FORGED = "x'\n2026-01-01T00:00:00Z Client: ('6.6.6.6', 1) downloaded the file 'y"


def unescape(text: str) -> str:
    """Read an escape_text result back the way Python reads its escapes."""
    return text.encode("latin-1", "backslashreplace").decode("unicode_escape")


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\nb", "a\\nb"),
        ("a\rb", "a\\rb"),
        ("a\r\nb", "a\\r\\nb"),
        ("tab\there", "tab\\there"),
        ("\x1b[2J\x1b[31mred", "\\x1b[2J\\x1b[31mred"),
        ("\x00\x07\x7f", "\\x00\\x07\\x7f"),
        ("\x85\x0b\x0c\x1c", "\\x85\\x0b\\x0c\\x1c"),
        ("invoice\u202egpj.exe", "invoice\\u202egpj.exe"),
        ("\u2066isolate\u2069", "\\u2066isolate\\u2069"),
        ("a\u2028b\u2029c", "a\\u2028b\\u2029c"),
        ("\ufeffbom", "\\ufeffbom"),
        ("tag\U000e0001", "tag\\U000e0001"),
        ("lone\udcffsurrogate", "lone\\udcffsurrogate"),
        ("nbsp\xa0here", "nbsp\\xa0here"),
    ],
)
def test_control_and_invisible_characters_are_shown_as_escapes(raw: str, shown: str) -> None:
    assert escape_text(raw) == shown
    assert escape_controls(raw) == shown


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("it's", "it\\'s"),
        ("back\\slash", "back\\\\slash"),
        ("\\'", "\\\\\\'"),
        ("'", "\\'"),
        ('say "hi"', 'say "hi"'),  # a double quote cannot end a single-quoted name
    ],
)
def test_quotes_and_backslashes_in_a_name_are_escaped(raw: str, shown: str) -> None:
    assert escape_text(raw) == shown
    assert quoted(raw) == f"'{shown}'"


def test_free_text_keeps_its_quotes_and_backslashes() -> None:
    """escape_controls is for free text (a reason, a message): only what would reach the
    screen raw is escaped, so "can't" and a Windows path read as written."""
    assert escape_controls("can't open C:\\Users\\ana") == "can't open C:\\Users\\ana"
    assert escape_controls("can't\nopen") == "can't\\nopen"


@pytest.mark.parametrize(
    "name",
    [
        "résumé final.txt",
        "Ünïcödé ñ ß ø",
        "تقرير السنة.pdf",
        "年度报告.docx",
        "日本語のファイル",
        "한국어 파일",
        "emoji 😀 and 𝄞 music",
        "spaces   and more spaces",
        "",
    ],
)
def test_printable_names_in_any_script_pass_unchanged(name: str) -> None:
    assert escape_text(name) == name
    assert escape_controls(name) == name
    assert quoted(name) == f"'{name}'"


@pytest.mark.parametrize(
    "name",
    [
        FORGED,
        "a\nb",
        "it's",
        "ends with a backslash\\",
        "ends with quote'",
        "\\'\n",
        "evil\u202etxt.exe",
        "a\u2028b",
        "\x1b]0;title\x07",
    ],
)
def test_a_name_can_never_end_its_quote_or_start_a_new_line(name: str) -> None:
    prefix = "Client: ('10.0.0.5', 53552) downloaded the file "
    line = prefix + quoted(name)
    assert len(line.splitlines()) == 1
    # The first quote after the prefix that is not escaped is the line's last character.
    assert QUOTED_NAME.fullmatch(line[len(prefix):])
    assert unescape(line[len(prefix) + 1:-1]) == name


def test_a_forged_ledger_line_stays_inside_the_name() -> None:
    shown = quoted(FORGED)
    assert "\n" not in shown
    assert QUOTED_NAME.fullmatch(shown)
    assert shown == (
        "'x\\'\\n2026-01-01T00:00:00Z Client: (\\'6.6.6.6\\', 1) downloaded the file \\'y'")


@given(st.text(st.characters(exclude_categories=())))
def test_any_text_comes_out_printable_single_line_and_readable_back(text: str) -> None:
    for shown in (escape_text(text), escape_controls(text)):
        assert shown.isprintable()
        assert len(shown.splitlines()) <= 1
    assert QUOTED_NAME.fullmatch(quoted(text))
    assert unescape(escape_text(text)) == text
