"""The session's keep-alive table (core/server/keepalive.py): waits, idleness and closing."""

from __future__ import annotations

import pytest

from core.server.config import ServerConfig
from core.server.keepalive import (
    NEXT,
    RULES,
    Phase,
    Silence,
    keep_alive_wait,
    new_deadline,
    stays_open,
)


def test_every_phase_has_a_rule_and_a_way_on() -> None:
    assert set(RULES) == set(NEXT) == set(Phase)
    assert all(NEXT[phase] for phase in Phase)


def test_only_a_connection_being_answered_is_costly_to_lose() -> None:
    assert [phase for phase, rule in RULES.items() if not rule.idle] == [Phase.ANSWERING]


def test_a_request_that_trickles_gets_408_but_silence_only_closes() -> None:
    assert RULES[Phase.READING].timeout_answer
    assert not RULES[Phase.OPENED].timeout_answer
    assert not RULES[Phase.KEPT].timeout_answer
    assert RULES[Phase.KEPT].silence is Silence.KEEP_ALIVE


def test_the_first_request_keeps_the_deadline_of_its_connection() -> None:
    """The adversarial pass: a first byte at 9.5 s once bought another 10 s."""
    assert not new_deadline(Phase.OPENED, Phase.READING)
    assert new_deadline(Phase.KEPT, Phase.READING)


def test_a_filecast_visit_may_think_longer_than_an_anonymous_connection() -> None:
    config = ServerConfig(idle_timeout=120.0, visit_timeout=900.0)
    assert keep_alive_wait(config, filecast_client=True) == 900.0
    assert keep_alive_wait(config, filecast_client=False) == 120.0


@pytest.mark.parametrize(("keep", "closes", "whole", "expected"), [
    (True, False, True, True),
    (False, False, True, False),  # HTTP/1.0 without keep-alive, or Connection: close asked
    (True, True, True, False),  # our answer said Connection: close (issue 9)
    (True, False, False, False),  # a body cut short leaves the connection unusable
])
def test_when_a_connection_stays_open(keep: bool, closes: bool, whole: bool,
                                      expected: bool) -> None:
    assert stays_open(request_keep_alive=keep, answer_closes=closes,
                      body_whole=whole) is expected
