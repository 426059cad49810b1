"""A session's keep-alive states as a table, in the way h11's ``_state.py`` is one: what a
connection is doing, how long it may stay silent, whether it may be shed as idle, and
whether it stays open after an answer. Pure: core.server.session keeps the clock.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from core.server.config import ServerConfig


class Phase(enum.Enum):
    """Where one connection is between its requests."""

    OPENED = "opened"  # accepted, no request yet
    KEPT = "kept"  # answered and kept alive, waiting for the next request
    READING = "reading"  # a request has begun: its head and body are arriving
    ANSWERING = "answering"  # the request is whole and being answered


class Silence(enum.Enum):
    """What bounds a wait for the client's next bytes."""

    REQUEST = "request"  # the request's one deadline (head_timeout)
    KEEP_ALIVE = "keep_alive"  # idle_timeout, or visit_timeout for a Filecast client


@dataclass(frozen=True)
class Rule:
    """What one phase allows."""

    idle: bool  # cheap to lose: the accept thread may shed it when full (server.shedding)
    silence: Silence | None  # what bounds waiting in it; None: the session is not reading
    timeout_answer: bool  # a time-out here is answered 408 (else the connection just closes)


RULES: dict[Phase, Rule] = {
    # The first request must be whole within head_timeout of the connection.
    Phase.OPENED: Rule(idle=True, silence=Silence.REQUEST, timeout_answer=False),
    # The person may think before the next request (docs/PROTOCOL.md, The visit).
    Phase.KEPT: Rule(idle=True, silence=Silence.KEEP_ALIVE, timeout_answer=False),
    # Bytes came, but never a whole request: slowloris gets a 408 (issue 9: one deadline
    # a request, from the connection for the first, from its first byte for the next).
    Phase.READING: Rule(idle=True, silence=Silence.REQUEST, timeout_answer=True),
    Phase.ANSWERING: Rule(idle=False, silence=None, timeout_answer=False),
}
# Which phase may follow which (closing may follow any).
NEXT: dict[Phase, frozenset[Phase]] = {
    Phase.OPENED: frozenset({Phase.READING}),
    Phase.READING: frozenset({Phase.ANSWERING}),
    Phase.ANSWERING: frozenset({Phase.KEPT}),
    Phase.KEPT: frozenset({Phase.READING}),
}


def new_deadline(previous: Phase, following: Phase) -> bool:
    """Whether entering ``following`` from ``previous`` starts a request's deadline: the
    first request keeps the one its connection started with."""
    return following is Phase.READING and previous is not Phase.OPENED


def keep_alive_wait(config: ServerConfig, *, filecast_client: bool) -> float:
    """How long a kept-alive connection may sit silent between requests."""
    return config.visit_timeout if filecast_client else config.idle_timeout


def stays_open(*, request_keep_alive: bool, answer_closes: bool, body_whole: bool) -> bool:
    """After an answer: open only when the request asked to keep it (RFC 9112 §9.3), the
    answer did not say ``Connection: close`` (issue 9: a pipelined GET after such an answer
    was once served and recorded), and any body went out whole."""
    return request_keep_alive and not answer_closes and body_whole
