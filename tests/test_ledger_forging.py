"""Ledger lines cannot be forged through a live server (the unit level is tests/test_ledger.py).

Offered file names, requested names, client names and user agents carrying newlines, tabs,
quotes, terminal escape codes, bidi overrides and Unicode line separators reach the ledger
only escaped: one event is one line of Clients.txt, and one valid JSON object in
Clients.jsonl holding the exact original strings.
"""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path
from typing import Any

from serverkit import Running, read_response, serving

from core.wire.protocol import decision_json, file_path

FORGED = "2026-01-01T00:00:00Z Client: ('6.6.6.6', 1) downloaded the file 'y"
OFFERED = [
    "it's \"quoted\".txt",
    "evil\u202etxt.exe",
    "line\u2028sep\u2029.txt",
    "nel\x85csi\x9b.txt",
    "esc\x1b[2J.txt",
    f"forge'\n{FORGED}",
    "tab\there.txt",
    "back\\slash.txt",
    "bell\x07\r.txt",
]
MISSING = ["nope \u202e'\".txt", "\x85\x9b[31mred", "sep\u2028" + FORGED, "\ufeffbom"]
CLIENT_NAMES = [f"Eve\n{FORGED}", "tab\tand\x1b[2Jclear", "\u202eesrever"]
AGENTS = [b"agent\twith tab", b"latin1 \x85\x9b[31m obs-text"]
# The display name, when given, is a double-quoted string whose quotes are all escaped.
LINE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ Client: \('127\.0\.0\.1', \d+\) "
                  r'(?:"(?:[^"\\]|\\.)*" )?'
                  r"(downloaded|did not|asked for|downloaded and verified) .+")
RAW_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")


def raw_request(running: Running, head: bytes, body: bytes = b"") -> int | None:
    with socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock:
        sock.sendall(head + body)
        return read_response(sock).status


def request(running: Running, method: str, target: str, *, name: str | None = None,
            agent: bytes = b"test", body: bytes = b"") -> int | None:
    headers = [f"{method} {target} HTTP/1.1".encode(), b"Host: x", b"User-Agent: " + agent,
               b"Connection: close"]
    if name is not None:
        headers.append(f"X-Filecast-Client-Name: {file_path(name)[7:]}".encode())
        headers.append(b"X-Filecast-Client-Id: forging-client-1")
    if body:
        headers.append(f"Content-Length: {len(body)}".encode())
        headers.append(b"Content-Type: application/json")
    return raw_request(running, b"\r\n".join(headers) + b"\r\n\r\n", body)


def test_hostile_strings_are_escaped_through_the_live_server(tmp_path: Path) -> None:
    folder = tmp_path / "offered"
    folder.mkdir()
    paths = []
    for name in OFFERED:
        path = folder / name
        path.write_bytes(b"content of " + name.encode())
        paths.append(path)
    with serving(tmp_path, paths, fold_window=0) as running:
        expected: list[dict[str, Any]] = []
        for n, name in enumerate(OFFERED):
            client = CLIENT_NAMES[n % len(CLIENT_NAMES)]
            agent = AGENTS[n % len(AGENTS)]
            if not any(ord(c) < 0x20 for c in name):  # a URL cannot carry C0 controls
                assert request(running, "GET", file_path(name), name=client, agent=agent) == 200
                expected.append({"event": "downloaded", "file": name, "name": client,
                                 "user_agent": agent.decode("latin-1")})
            else:
                assert request(running, "GET", file_path(name)) == 400
            assert request(running, "POST", "/api/v1/decisions", name=client, agent=agent,
                           body=decision_json(name)) == 200
            expected.append({"event": "declined", "file": name, "name": client,
                             "user_agent": agent.decode("latin-1")})
        for name in MISSING:
            assert request(running, "GET", file_path(name), name=CLIENT_NAMES[0]) == 404
            expected.append({"event": "not_offered", "file": name, "name": CLIENT_NAMES[0],
                             "user_agent": "test"})
        running.wait_lines("Client:", len(expected))
        running.server.stop()

        text = running.ledger.txt_path.read_text(encoding="utf-8")
        lines = text.splitlines()  # every Unicode line break counts, as in an editor
        assert len(lines) == text.count("\n") == len(expected)
        for line in lines:
            assert LINE.fullmatch(line), line
            assert not RAW_CONTROLS.search(line), line
            assert not line.startswith("2026-01-01T00:00:00Z")
        assert FORGED not in text.replace("\\n", "")  # present only inside an escaped name

        raw = running.ledger.jsonl_path.read_text(encoding="utf-8")
        assert not RAW_CONTROLS.search(raw.replace("\n", ""))
        assert len(raw.splitlines()) == raw.count("\n") == len(expected)
        records = [json.loads(line) for line in raw.splitlines()]
        got = [{k: r[k] for k in ("event", "file", "name", "user_agent")} for r in records]
        # the exact strings, round-tripped ("downloaded" is written after the last byte,
        # so it may come after the next request's line: compare without order)
        assert sorted(got, key=json.dumps) == sorted(expected, key=json.dumps)
        assert all(r["client_id"] == "forging-client-1" for r in records if r["name"])
        print(f"\n{len(expected)} ledger lines with hostile names, agents and client names:"
              " each one line, each valid JSON")
