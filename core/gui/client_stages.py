"""The client window's stages as a table, in the way h11's ``_state.py`` is one: what each
stage lets the person do, and which stages may follow it. ``ClientWindow._set_state`` draws
every control from this table; the keyboard flow reads ``ClientWindow.stage``.
"""

from __future__ import annotations

from dataclasses import dataclass

DISCONNECTED = "disconnected"
CONNECTING = "connecting"
READY = "ready"  # connected, asking for a file name
CHECKING = "checking"
ASKING = "asking"  # "File exists ... Download?" with Yes and No
DECLINING = "declining"
DOWNLOADING = "downloading"
CANCELLING = "cancelling"


@dataclass(frozen=True)
class Stage:
    """What one stage shows and allows."""

    connected: bool  # the connect panel shows the server as connected
    busy: bool  # a download runs: connect, folder and Retry are locked
    takes_name: bool  # the name field and Check take input
    asking: bool  # Yes and No are offered


STAGES: dict[str, Stage] = {
    DISCONNECTED: Stage(connected=False, busy=False, takes_name=False, asking=False),
    CONNECTING: Stage(connected=False, busy=False, takes_name=False, asking=False),
    READY: Stage(connected=True, busy=False, takes_name=True, asking=False),
    CHECKING: Stage(connected=True, busy=False, takes_name=False, asking=False),
    ASKING: Stage(connected=True, busy=False, takes_name=True, asking=True),
    DECLINING: Stage(connected=True, busy=False, takes_name=False, asking=False),
    DOWNLOADING: Stage(connected=True, busy=True, takes_name=False, asking=False),
    CANCELLING: Stage(connected=True, busy=True, takes_name=False, asking=False),
}

# Which stage may follow which. Losing the server (DISCONNECTED) may follow any stage;
# asking again (ASKING) follows a download whose file changed (issue 9: consent is for the
# file shown).
NEXT: dict[str, frozenset[str]] = {
    DISCONNECTED: frozenset({DISCONNECTED, CONNECTING}),
    CONNECTING: frozenset({READY, DISCONNECTED}),
    # ASKING straight from READY: a selection is asked about from the offer, no check first
    READY: frozenset({READY, CONNECTING, CHECKING, ASKING, DOWNLOADING, DISCONNECTED}),
    CHECKING: frozenset({ASKING, READY, DISCONNECTED}),
    ASKING: frozenset({ASKING, CHECKING, CONNECTING, DECLINING, DOWNLOADING, READY,
                       DISCONNECTED}),
    DECLINING: frozenset({READY, DISCONNECTED}),
    DOWNLOADING: frozenset({READY, ASKING, CANCELLING, DISCONNECTED}),
    CANCELLING: frozenset({READY, ASKING, DISCONNECTED}),
}
BUSY = tuple(name for name, stage in STAGES.items() if stage.busy)


def may_follow(current: str, following: str) -> bool:
    """Whether ``following`` is a stage the window may enter from ``current``."""
    return following in NEXT[current]
