"""An offer of many files is read in pages (issue 12): a client reads at most 1 MiB of an
answer, so past PAGE_FILES files the offer says where the rest is, every page carries the
same revision, and Filecast's client reads them all; a small offer is one body, as before.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from serverkit import Running, exchange, serving

from core.client.visit import FilecastClient
from core.errors import ProtocolError
from core.events import OfferSent
from core.wire.protocol import PAGE_FILES, dump_json

COUNT = PAGE_FILES * 2 + 500


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("share") / "Data"
    for folder in range(COUNT // 500):
        (root / f"d{folder}").mkdir(parents=True)
        for n in range(500):
            (root / f"d{folder}" / f"{n:03d}.txt").write_bytes(b"x")
    return root


def page(running: Running, query: str = "") -> tuple[int | None, dict[str, Any]]:
    reply = exchange(running.port, f"GET /api/v1/offer{query} HTTP/1.1\r\nHost: 127.0.0.1"
                     "\r\nConnection: close\r\n\r\n".encode())
    return reply.status, json.loads(reply.body) if reply.body else {}


def test_pages_say_where_the_rest_is_and_share_a_revision(tmp_path: Path,
                                                          many: Path) -> None:
    with serving(tmp_path, [many], wait_hashed=False) as running:
        status, first = page(running)
        assert status == 200 and len(first["files"]) == PAGE_FILES
        assert first["next"] == f"/api/v1/offer?from={PAGE_FILES}"
        assert first["total"] == COUNT
        status, last = page(running, f"?from={PAGE_FILES * 2}")
        assert status == 200 and len(last["files"]) == 500 and "next" not in last
        assert last["revision"] == first["revision"]
        assert page(running, "?from=99999")[0] == 404
        assert page(running, "?from=abc")[0] == 400
        assert page(running, "?page=1")[0] == 400
        with FilecastClient("127.0.0.1", running.port) as client:
            offer = client.connect()
        assert len(offer.files) == COUNT
        assert [f.name for f in offer.files] == sorted(f.name for f in offer.files)
        told = [e for e in running.recorder.of(OfferSent) if e.client.user_agent]
        assert len(told) == 1  # the client's three pages are one greeting


def test_a_small_offer_is_one_body_as_before(tmp_path: Path) -> None:
    one = tmp_path / "test.txt"
    one.write_bytes(b"hello world")
    with serving(tmp_path, [one]) as running:
        status, body = page(running)
    assert status == 200 and set(body) == {"version", "server", "name", "message", "files"}


def test_an_offer_that_changes_between_pages_is_read_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offer_body(names: list[str], revision: str, follow: str | None) -> bytes:
        files = [{"name": n, "size": 1, "sha256": None, "modified": "", "etag": '"1"',
                  "url": f"/files/{n}"} for n in names]
        body: dict[str, Any] = {"server": "s", "name": "n", "message": "m", "files": files,
                                "revision": revision, "total": 9}
        if follow:
            body["next"] = follow
        return dump_json(body)

    answers = [offer_body(["a"], "r1", "/api/v1/offer?from=1"),
               offer_body(["b"], "r2", None),  # changed meanwhile
               offer_body(["a", "c"], "r2", None)]  # read again: one page now
    client = FilecastClient("127.0.0.1", 9)
    monkeypatch.setattr(client._link, "exchange",
                        lambda *_args, **_kw: (200, None, answers.pop(0)))
    assert [f.name for f in client.connect().files] == ["a", "c"]
    answers[:] = [offer_body(["a"], "r1", "/api/v1/offer?from=1")] + \
        [offer_body(["b"], "r2", "/api/v1/offer?from=1"),
         offer_body(["a"], "r3", "/api/v1/offer?from=1")] * 3
    with pytest.raises(ProtocolError, match="kept changing its offer"):
        client.connect()
