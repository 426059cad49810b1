"""Unit tests of how the client sizes its requests about many files (core.client.archive_fetch):
each request body must stay under the server's cap, so the counted size must be the size
json.dumps writes, for any name a server can offer. No sockets."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from core.client.archive_fetch import json_size, runs_of
from core.wire.archive import MAX_ARCHIVE_REQUEST_BYTES

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(TEXT, st.one_of(TEXT, st.integers(), st.none()), max_size=5))
def test_the_counted_size_is_what_json_writes(item: dict[str, object]) -> None:
    assert json_size(item) == len(json.dumps(item).encode())


def test_plain_quoted_and_escaped_names_are_counted_exactly() -> None:
    for name in ["Week 12/sheet 1.pdf", 'say "hi".txt', "back\\slash", "tab\there",
                 "Übung ä.txt", "日本語.txt", "emoji 😀.png", ""]:
        item = {"file": name, "etag": '"a-1"', "bytes": 10240, "sha256": None}
        assert json_size(item) == len(json.dumps(item).encode()), name


def test_runs_stay_under_the_cap_whatever_the_names() -> None:
    items = [{"file": f"folder/\"quoted\" ä {n:05}.txt" * 3, "etag": '"x"'} for n in range(3000)]
    for run in runs_of(items, json_size):
        body = json.dumps({"version": 1, "files": run}).encode()
        assert len(body) <= MAX_ARCHIVE_REQUEST_BYTES
