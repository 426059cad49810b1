"""Section 2: one big download — server side against nginx/http.server, client side against curl.

Server side: curl to /dev/null from Filecast (its default, "auto", which copies for one
stream; and sendfile, the other body mode), nginx (sendfile on; off for the record) and
``python3 -m http.server``, interleaved per round. The client side is single_client.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .. import fetchers
from ..datafiles import data_dir, random_file, warm
from ..measure import rotated, stats
from ..modes import size_label
from ..outcome import STAT_COLUMNS, Check, Section, missing_row, paired_ratios, stat_row
from ..peers import Peer, PeerError, start_filecast, start_http_server, start_nginx
from ..tools import which
from . import Context
from .single_client import client_side

FILECAST, SENDFILE, NGINX = "Filecast", "Filecast (sendfile)", "nginx"
NGINX_OFF, HTTP_SERVER = "nginx (sendfile off)", "http.server"


def _starters(ctx: Context, path: Path) -> list[tuple[str, Callable[[], Peer]]]:
    work, root = ctx.scratch("single"), data_dir()
    return [
        (FILECAST, lambda: start_filecast(work, [path])),
        (SENDFILE, lambda: start_filecast(work, [path], body_mode="sendfile")),
        (NGINX, lambda: start_nginx(work, root)),
        (NGINX_OFF, lambda: start_nginx(work, root, sendfile=False)),
        (HTTP_SERVER, lambda: start_http_server(work, root)),
    ]


def run(ctx: Context) -> Section:
    """Server rounds, then client rounds; every peer stopped at the end."""
    mode = ctx.mode
    path = random_file(mode.big_size)
    warm(path)
    label = size_label(mode.big_size)
    section = Section("single", f"2. One {label} download (file in page cache, random data)",
                      STAT_COLUMNS)
    peers: dict[str, Peer] = {}
    missing: dict[str, str] = {}
    try:
        for name, start in _starters(ctx, path):
            try:
                peers[name] = start()
            except PeerError as error:
                missing[name] = str(error)
        _server_side(ctx, section, path, peers, missing)
        # The client rounds need one Filecast server. On a LAN it runs on another machine;
        # here it shares the two cores with the client, so the mode that takes less CPU
        # (sendfile: about half of copying's CPU-seconds per GiB) disturbs it least.
        server = SENDFILE if SENDFILE in peers else FILECAST
        for name in [n for n in peers if n != server]:
            peers.pop(name).stop()
        client_side(ctx, section, path, peers.get(server))
    finally:
        for peer in peers.values():
            peer.stop()
    return section


def _server_side(ctx: Context, section: Section, path: Path, peers: dict[str, Peer],
                 missing: dict[str, str]) -> None:
    mode, size = ctx.mode, ctx.mode.big_size
    order = [FILECAST, SENDFILE, NGINX, NGINX_OFF, HTTP_SERVER]
    speeds: dict[str, list[float | None]] = {name: [] for name in order}
    errors: list[str] = []
    budget = ctx.budget()
    if which("curl") is None:
        section.rows.append(missing_row("server side (curl)", ctx.why_missing("curl")))
        return
    for index in budget.runs(mode.runs):
        for name in rotated([n for n in order if n in peers], index):
            got = fetchers.curl_null(peers[str(name)].url(path.name), size,
                                     mode.request_timeout)
            speeds[str(name)].append(got.gbps)
            if got.error:
                errors.append(f"{name}: {got.error}")
    for name in order:
        what = f"{name} → curl -o /dev/null"
        if name not in peers:
            section.rows.append(missing_row(what, missing.get(name, "not available")))
            continue
        row, data = stat_row(what, speeds[name], "GB/s")
        section.rows.append(row)
        section.data[f"server {name}"] = data
    ratio = paired_ratios(speeds[FILECAST], speeds[NGINX])
    body_modes = paired_ratios(speeds[SENDFILE], speeds[FILECAST])
    for what, values in (("ratio Filecast / nginx", ratio),
                         ("ratio Filecast sendfile / Filecast default (copy)", body_modes),
                         ("ratio Filecast / http.server",
                          paired_ratios(speeds[FILECAST], speeds[HTTP_SERVER]))):
        row, data = stat_row(what, values, "×", note="per-round ratios")
        section.rows.append(row)
        section.data[what] = data
    s = stats(ratio)
    section.checks.append(Check("single download, server: Filecast→curl ÷ nginx→curl",
                                s.median if s else None, 0.9, ">="))
    section.notes += errors[:5]
    if budget.cut_short:
        section.notes.append("server rounds stopped early: the time budget ran out")
