"""Unit tests of core/server/selections.py and of an archive request's ``selection``: one
summary line per selection taken in several archives (issue 12). No sockets."""

from __future__ import annotations

import json

import pytest

from core.events import ClientInfo
from core.server.archives import SelectionPart, selection_part
from core.server.entries import ServedFile
from core.server.selections import MAX_OPEN, Selections, Tally
from core.wire.http11 import HttpError

ANA = ClientInfo(key=1, address=("10.0.0.5", 5000), name="Ana")


def files(folder: str, count: int, size: int = 100) -> tuple[ServedFile, ...]:
    return tuple(ServedFile(f"{folder}/f{n}.txt", f"/x/{folder}/{n}", size, 1, n)
                 for n in range(count))


def text(tally: Tally) -> str:
    line = tally.summary(ANA)
    assert line is not None
    return f"{line.counts} {line.file!r} {line.bytes}/{line.size}"


def test_parts_of_a_selection_are_summed_up_once_after_the_last() -> None:
    book = Selections()
    assert book.add(SelectionPart("sel-00001", False), files("Week 12/a", 3), 3) == []
    assert book.add(SelectionPart("sel-00001", False), files("Week 12/b", 3), 2) == []
    (due,) = book.add(SelectionPart("sel-00001", True), files("Week 12/b/c", 2), 2)
    assert text(due) == "(('downloaded', 7), ('files', 8)) 'Week 12/' 700/800"
    assert book.ended() == []  # nothing left to sum up


def test_an_archive_alone_is_its_own_selection_and_one_file_makes_no_line() -> None:
    (alone,) = Selections().add(None, files("a", 4), 4)
    assert text(alone) == "(('downloaded', 4), ('files', 4)) 'a/' 400/400"
    (single,) = Selections().add(None, files("a", 1), 1)
    assert single.summary(ANA) is None
    (nothing,) = Selections().add(None, files("a", 5), 0)
    assert nothing.summary(ANA) is None  # none arrived: no line, never a flood


def test_a_selection_left_unfinished_is_summed_up_when_the_connection_ends() -> None:
    book = Selections()
    book.add(SelectionPart("sel-00002", False), files("Data", 10), 10)
    (left,) = book.ended()
    assert text(left) == "(('downloaded', 10), ('files', 10)) 'Data/' 1000/1000"


def test_a_connection_cannot_keep_selections_open_without_bound() -> None:
    book = Selections()
    due = [t for n in range(MAX_OPEN + 3)
           for t in book.add(SelectionPart(f"sel-{n:05d}", False), files("x", 2), 2)]
    assert len(due) == 3 and len(book.ended()) == MAX_OPEN


@pytest.mark.parametrize("selection", [{"id": "short", "last": True}, {"id": 5, "last": True},
                                       {"id": "sel-00001", "last": "yes"}, ["sel-00001"],
                                       {"id": "bad id with spaces", "last": False}])
def test_a_malformed_selection_is_a_400(selection: object) -> None:
    with pytest.raises(HttpError) as caught:
        selection_part(json.loads(json.dumps({"selection": selection})))
    assert caught.value.status == 400


def test_a_request_without_a_selection_is_one_of_its_own() -> None:
    assert selection_part({"files": []}) is None
    assert selection_part({"selection": {"id": "sel-00001", "last": True}}) == \
        SelectionPart("sel-00001", True)
