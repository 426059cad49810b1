"""Names a server proposes become one safe file name component (docs/PROTOCOL.md, Saving)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.wire.names import MAX_NAME_BYTES, NameMatch, match_name, numbered, safe_filename


@pytest.mark.parametrize(
    ("proposed", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\x", "x"),
        ("/abs/path", "path"),
        ("C:\\x", "x"),
        ("C:", "C_"),
        ("dir/", "download"),
        ("..", "download"),
        (".", "download"),
        ("", "download"),
        ("...", "download"),
        ("a\x00b", "ab"),
        ("bell\x07\x1b[31m.txt", "bell[31m.txt"),
        ("c1\x85\x9f.txt", "c1.txt"),
        ("del\x7f.txt", "del.txt"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),
        ("a\u2066b\u2069c\u200f\u2028.txt", "abc.txt"),
        ('what<>:"|?*.txt', "what_______.txt"),
        ("  spaced name . . ", "spaced name"),
        ("trailing.", "trailing"),
        (".bashrc", ".bashrc"),
        ("CON", "_CON"),
        ("con.txt", "_con.txt"),
        ("Nul .tar.gz", "_Nul .tar.gz"),
        ("lpt9", "_lpt9"),
        ("COM1. ", "_COM1"),
        ("COM0", "COM0"),
        ("CONSOLE.txt", "CONSOLE.txt"),
        ("Résumé 2026 ✓.pdf", "Résumé 2026 ✓.pdf"),
        ("\ud800lone.txt", "lone.txt"),
    ],
)
def test_safe_filename(proposed: str, expected: str) -> None:
    assert safe_filename(proposed) == expected


def test_long_multibyte_name_keeps_extension_and_whole_characters() -> None:
    name = "é" * 150 + ".pdf"  # 304 bytes
    safe = safe_filename(name)
    raw = safe.encode("utf-8")
    assert len(raw) <= MAX_NAME_BYTES == 240
    assert safe.endswith(".pdf") and set(safe[:-4]) == {"é"}
    assert len(("." + safe + ".part.json.new").encode("utf-8")) <= 255


def test_long_name_with_a_long_extension_is_cut() -> None:
    safe = safe_filename("x." + "€" * 200)
    assert len(safe.encode("utf-8")) <= MAX_NAME_BYTES
    assert safe.startswith("x.€")


def test_capping_cannot_expose_a_device_name() -> None:
    assert safe_filename("CON" + " " * 300 + "x") == "_CON"


@pytest.mark.parametrize(
    ("name", "n", "expected"),
    [
        ("report.pdf", 1, "report (1).pdf"),
        ("archive.tar.gz", 2, "archive.tar (2).gz"),
        (".bashrc", 1, ".bashrc (1)"),
        ("README", 3, "README (3)"),
    ],
)
def test_numbered(name: str, n: int, expected: str) -> None:
    assert numbered(name, n) == expected


@given(st.text(max_size=400))
def test_any_text_gives_one_safe_component(name: str) -> None:
    safe = safe_filename(name)
    raw = safe.encode("utf-8")  # no lone surrogates: it encodes
    assert 0 < len(raw) <= MAX_NAME_BYTES
    assert "/" not in safe and "\\" not in safe and "\x00" not in safe
    assert safe not in (".", "..")
    assert not safe.endswith((".", " ")) and not safe.startswith(" ")
    assert all(ord(c) >= 0x20 and not 0x7F <= ord(c) <= 0x9F for c in safe)
    assert safe_filename(safe) == safe  # idempotent: a safe name stays as it is
    assert len(numbered(safe, 99999).encode("utf-8")) <= 255


@pytest.mark.parametrize(("name", "safe"), [
    ("report.pdf.part", "report.pdf.part_"),
    ("report.pdf.part.json", "report.pdf.part.json_"),
    ("report.pdf.PART.JSON.new", "report.pdf.PART.JSON.new_"),
    ("report.partial", "report.partial"),
    ("part", "part"),
])
def test_a_saved_name_is_never_one_the_client_keeps_for_itself(name: str, safe: str) -> None:
    """Adversarial pass: a file offered as 'report.pdf.part.json' was saved under that name
    and later read as the client's own metadata, which then deleted another program's
    report.pdf.part."""
    assert safe_filename(name) == safe
    longest = safe_filename("x" * 400 + ".part")
    assert longest.endswith("_") and len(longest.encode()) <= MAX_NAME_BYTES


# --- what a typed name means (issue 11: names without exact typing) ----------------------

OFFERED = ["big2g.bin", "Week 12 notes.pdf", "Résumé.pdf"]


@pytest.mark.parametrize(("typed", "meant"), [
    ("big2g.bin", "big2g.bin"),
    ("Big2g.bin", "big2g.bin"),  # the issue's own example: case alone no longer misses
    ("BIG2G.BIN", "big2g.bin"),
    ("week 12 NOTES.pdf", "Week 12 notes.pdf"),
    ("re\u0301sume\u0301.PDF", "Résumé.pdf"),  # decomposed and another case
])
def test_a_name_equal_but_for_case_or_form_is_that_file(typed: str, meant: str) -> None:
    assert match_name(typed, OFFERED) == NameMatch(meant)


def test_a_typo_is_never_taken_but_suggested() -> None:
    assert match_name("big2.bin", OFFERED) == NameMatch(None, "big2g.bin")
    assert match_name("Week 12 note.pdf", OFFERED) == NameMatch(None, "Week 12 notes.pdf")


def test_nothing_close_suggests_nothing() -> None:
    assert match_name("../../etc/passwd", OFFERED) == NameMatch(None, None)
    assert match_name("anything", []) == NameMatch(None, None)


def test_two_files_equal_but_for_case_are_not_guessed_between() -> None:
    offered = ["a.txt", "A.txt"]
    assert match_name("a.txt", offered) == NameMatch("a.txt")  # exact still wins
    found = match_name("A.TXT", offered)
    assert found.name is None and found.suggestion in offered


@given(st.one_of(st.text(max_size=300),
                 st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=300),
                 st.sampled_from(["con", "CON.txt", "a.part", "x.PART.JSON", " a", "a.",
                                  "a ", "lpt1 .x", "ok name (1).pdf", "x" * 240])))
def test_the_fast_path_for_plain_names_agrees_with_the_rules(name: str) -> None:
    """safe_filename returns a plain name as it is without applying the rules (speed):
    it must be exactly what the rules make of it."""
    from core.wire.names import _made_safe

    assert safe_filename(name) == _made_safe(name)
