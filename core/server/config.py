"""The server's settings in one frozen value, decided at start and read by every thread."""

from __future__ import annotations

from dataclasses import dataclass

from core import DEFAULT_MAX_PER_ADDRESS, DEFAULT_PORT


@dataclass(frozen=True)
class ServerConfig:
    """Server settings; the defaults are documented in docs/PROTOCOL.md."""

    # "": every interface, IPv4 and IPv6 where the system allows (issue 11: [::1] was
    # refused); "0.0.0.0" or "::" or one address: exactly that.
    host: str = ""
    port: int = DEFAULT_PORT
    max_connections: int = 2000
    # Half the server: one host never holds more, and a class of 100 devices behind one
    # NAT address with 10 connections each still fits. At the cap an address gives up its
    # own idle connections first (core.server.shedding). 0: no cap (bench/ measures raw capacity).
    max_per_address: int = DEFAULT_MAX_PER_ADDRESS
    head_timeout: float = 10.0
    idle_timeout: float = 120.0
    # A client that sent X-Filecast-Client-Id holds one connection for its whole visit
    # (docs/PROTOCOL.md, The visit): the person may think at "Download?" for minutes.
    visit_timeout: float = 900.0
    stall_timeout: float = 30.0
    backlog: int = 4096
    body_mode: str = "auto"  # "auto", "copy" or "sendfile": see core/server/sendbody.py
    progress_interval: float = 0.1
    # Seconds identical ledger events fold over (core.server.fold); 0: off.
    fold_window: float = 10.0
    # Host names answered besides this machine's own and IP literals (core.server.origin).
    allowed_hosts: tuple[str, ...] = ()
