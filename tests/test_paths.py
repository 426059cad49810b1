"""Relative names (core/wire/paths.py, issue 12): the rule both sides hold an offer's names
to, the URL they travel in, and the path a client saves under, for a corpus of hostile
names (tests/hostile_names.py).
"""

from __future__ import annotations

import pytest
from hostile_names import HOSTILE_RELATIVE

from core.wire.names import safe_filename
from core.wire.paths import MAX_DEPTH, check_relative, offer_name, saved_segments, url_path


@pytest.mark.parametrize("name", ["a.pdf", "Week 12/worksheet 1.pdf", "a/b/c/d.txt",
                                  "Résumé/ü.txt", "😀/x", ".hidden-ok/x", "a/...b"])
def test_good_names_keep_their_segments(name: str) -> None:
    assert check_relative(name) == tuple(name.split("/"))
    assert saved_segments(name) == tuple(name.split("/"))
    assert offer_name(tuple(name.split("/"))) == name


@pytest.mark.parametrize("name", ["../x", "a/../b", "a/./b", "", "/x", "x/", "a//b", "a\\b",
                                  "a\x00b", "a\nb", "a\x85b", ".", "..", "a/" * 40 + "x",
                                  "x" * 5000])
def test_names_that_break_the_rule_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        check_relative(name)


@pytest.mark.parametrize("name", HOSTILE_RELATIVE)
def test_no_hostile_name_is_saved_outside_the_folder(name: str) -> None:
    """Every segment is one safe name: nothing climbs, nothing is a separator or a device."""
    segments = saved_segments(name)
    assert 1 <= len(segments) <= MAX_DEPTH + 1
    for segment in segments:
        assert segment not in ("", ".", "..")
        assert "/" not in segment and "\\" not in segment and "\x00" not in segment
        assert safe_filename(segment) == segment  # already safe: nothing more to take out
        assert len(segment.encode("utf-8", "surrogatepass")) <= 255


def test_the_url_keeps_the_folders_readable() -> None:
    assert url_path("Week 12/a b.pdf") == "Week%2012/a%20b.pdf"
    assert url_path("a%2Fb/c") == "a%252Fb/c"  # a literal '%' stays one: decoded once
    assert url_path("?#/x") == "%3F%23/x"


def test_exactly_controls_del_c1_and_the_backslash_are_refused_in_a_name() -> None:
    """Every code point, against the rule as written (the check is one regular expression),
    and a lone surrogate (a disk name that is not UTF-8): a name travels as UTF-8."""
    from core.wire.paths import check_relative

    for code in range(0x110000):
        char = chr(code)
        bad = code < 0x20 or 0x7F <= code <= 0x9F or char == "\\" or 0xD800 <= code <= 0xDFFF
        try:
            check_relative(f"a{char}b")
            refused = False
        except ValueError:
            refused = True
        assert refused == bad or char == "/", hex(code)
