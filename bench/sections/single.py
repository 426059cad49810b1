"""Section 2: one big download — server side against nginx/http.server, client side against curl.

Server side: curl to /dev/null from Filecast (sendfile, the default; and copy), nginx
(sendfile on; off for the record) and ``python3 -m http.server``, interleaved per round.
Client side, all from Filecast's default server: Filecast's client saving and verifying,
the ``core get`` command, curl saving without a check, and hashlib alone (the limit).
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

FILECAST, COPY, NGINX = "Filecast", "Filecast (copy)", "nginx"
NGINX_OFF, HTTP_SERVER = "nginx (sendfile off)", "http.server"
CLIENT, CLI, CURL, HASH = "client", "core get", "curl -o", "hashlib"


def _starters(ctx: Context, path: Path) -> list[tuple[str, Callable[[], Peer]]]:
    work, root = ctx.scratch("single"), data_dir()
    return [
        (FILECAST, lambda: start_filecast(work, [path])),
        (COPY, lambda: start_filecast(work, [path], body_mode="copy")),
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
        for name in [n for n in peers if n != FILECAST]:
            peers.pop(name).stop()  # the client rounds need only Filecast's default server
        _client_side(ctx, section, path, peers.get(FILECAST))
    finally:
        for peer in peers.values():
            peer.stop()
    return section


def _server_side(ctx: Context, section: Section, path: Path, peers: dict[str, Peer],
                 missing: dict[str, str]) -> None:
    mode, size = ctx.mode, ctx.mode.big_size
    order = [FILECAST, COPY, NGINX, NGINX_OFF, HTTP_SERVER]
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
    copy = paired_ratios(speeds[COPY], speeds[FILECAST])
    for what, values in (("ratio Filecast / nginx", ratio),
                         ("ratio Filecast copy / Filecast sendfile", copy),
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


def _client_side(ctx: Context, section: Section, path: Path, server: Peer | None) -> None:
    mode, size = ctx.mode, ctx.mode.big_size
    folder = ctx.scratch("single-downloads")
    env = fetchers.probe_env(ctx.work)
    order = [CLIENT, CLI, CURL, HASH]
    speeds: dict[str, list[float | None]] = {name: [] for name in order}
    split: list[tuple[float, float]] = []
    errors: list[str] = []
    budget = ctx.budget()
    for index in budget.runs(mode.runs):
        for name in rotated(order, index):
            if name == HASH:
                got = fetchers.hash_limit(path, size)
            elif server is None:
                continue
            elif name == CLIENT:
                got = fetchers.client_probe(server.port, path.name, folder, size,
                                            mode.request_timeout, env)
                if got.detail and got.gbps:
                    split.append((float(str(got.detail["receive_seconds"])),
                                  float(str(got.detail["finish_seconds"]))))
            elif name == CLI:
                got = fetchers.client_cli(server.port, path.name, folder, size,
                                          mode.request_timeout, env)
            elif which("curl"):
                got = fetchers.curl_save(server.url(path.name), folder, size,
                                         mode.request_timeout)
            else:
                continue
            speeds[str(name)].append(got.gbps)
            if got.error:
                errors.append(f"{name}: {got.error}")
    fetchers.clear(folder)
    labels = {CLIENT: "Filecast client: save + SHA-256 verify (in-process download())",
              CLI: "python3 -m core get --yes (wall time incl. start-up)",
              CURL: "curl -o file, no check (wall time)",
              HASH: "hashlib.sha256 alone, bytes in memory (the limit)"}
    for name in order:
        if server is None and name != HASH:
            section.rows.append(missing_row(labels[name], "Filecast server not available"))
            continue
        if name == CURL and which("curl") is None:
            section.rows.append(missing_row(labels[name], ctx.why_missing("curl")))
            continue
        row, data = stat_row(labels[name], speeds[name], "GB/s")
        section.rows.append(row)
        section.data[f"client {name}"] = data
    if split:
        receive = stats([r for r, _ in split])
        finish = stats([f for _, f in split])
        section.data["client time split (s)"] = {"receive": receive.as_dict() if receive else None,
                                                 "finish": finish.as_dict() if finish else None}
        if receive and finish:
            section.notes.append(
                f"Filecast client time: {receive.median:.2f} s receiving (hash + write beside"
                f" it), then {finish.median:.2f} s finishing (drain, fsync, rename, receipt)"
                " — median seconds.")
    vs_curl = paired_ratios(speeds[CLIENT], speeds[CURL])
    vs_hash = paired_ratios(speeds[CLIENT], speeds[HASH])
    for what, values in (("ratio client / curl", vs_curl), ("ratio client / hashlib", vs_hash)):
        row, data = stat_row(what, values, "×", note="per-round ratios")
        section.rows.append(row)
        section.data[what] = data
    s_curl, s_hash = stats(vs_curl), stats(vs_hash)
    section.checks.append(Check("single download, client: Filecast client ÷ curl saving",
                                s_curl.median if s_curl else None, 1.5, ">="))
    section.checks.append(Check("single download, client: Filecast client ÷ hashlib SHA-256",
                                s_hash.median if s_hash else None, 0.8, ">="))
    section.notes += errors[:5]
    section.notes.append("Both clients save into the same folder on /tmp (disk); Filecast's"
                         " client also fsyncs before its rename, curl does not.")
    if budget.cut_short:
        section.notes.append("client rounds stopped early: the time budget ran out")
