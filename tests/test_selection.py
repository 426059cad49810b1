"""Choosing several files at once (core/wire/selection.py, issue 12): names as a single
name is matched, a folder of the offer for everything under it, everything, and names
that match nothing reported with the closest offered one."""

from __future__ import annotations

import time

from core.wire.selection import Selection, empty_within, select

OFFERED = ["Week 12/answers/key.txt", "Week 12/worksheet 1.pdf", "Week 12/worksheet 2.pdf",
           "notes.txt", "Résumé.pdf"]


def test_everything_in_the_offers_order() -> None:
    assert select(OFFERED, [], everything=True) == Selection(tuple(OFFERED))


def test_names_folders_case_and_form_and_no_repeats() -> None:
    chosen = select(OFFERED, ["NOTES.TXT", "Week 12/answers/", "Week 12/answers/key.txt",
                              "re\u0301sume\u0301.pdf"])
    assert chosen == Selection(("Week 12/answers/key.txt", "notes.txt", "Résumé.pdf"))


def test_a_folder_without_its_slash_and_a_name_missing_with_its_suggestion() -> None:
    chosen = select(OFFERED, ["Week 12", "notse.txt", "nothing at all"])
    assert chosen.names == ("Week 12/answers/key.txt", "Week 12/worksheet 1.pdf",
                            "Week 12/worksheet 2.pdf")
    assert chosen.missing == (("notse.txt", "notes.txt"), ("nothing at all", None))


def test_a_prefix_that_is_not_a_whole_folder_selects_nothing() -> None:
    assert select(OFFERED, ["Week 1"]).names == ()
    assert select(OFFERED, ["Week 12/work"]).names == ()


def test_one_name_for_a_folder_is_a_selection_and_a_file_is_not() -> None:
    from core.wire.selection import names_a_folder
    assert names_a_folder(OFFERED, "Week 12/")
    assert names_a_folder(OFFERED, "Week 12")
    assert not names_a_folder(OFFERED, "notes.txt")
    assert not names_a_folder(OFFERED, "Week 1")
    assert not names_a_folder(OFFERED, "/")


def test_ten_thousand_rows_selected_are_taken_without_a_search_each() -> None:
    """Issue 12: "Selected files…" with all 10,000 rows of a folder selected froze the
    client window 164 s: each name was searched for among all 10,000 (folder and
    near-match lookups). A name exactly as offered is taken as it is. A generous deadline,
    far above the linear pass (milliseconds)."""
    offered = [f"Data/set {n // 100}/{n:05d}.bin" for n in range(10_000)]
    started = time.monotonic()
    chosen = select(offered, offered)
    empty = empty_within(["Data/set 1/none"], offered, offered)
    assert time.monotonic() - started < 1.5
    assert chosen.names == tuple(offered) and not chosen.missing and empty == ()
