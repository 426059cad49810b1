"""Run slow work (connect, hash, download, stop) off the main thread, results back on it."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from ..errors import FilecastError
from .pump import EventPump

T = TypeVar("T")
log = logging.getLogger("filecast.gui")

BUG_MESSAGE = ("Something went wrong inside Filecast (a bug, not your doing). "
               "The details are in the terminal or log.")


def run_in_background(pump: EventPump, work: Callable[[], T], *,
                      on_done: Callable[[T], None],
                      on_error: Callable[[FilecastError], None],
                      name: str = "filecast-gui-worker") -> threading.Thread:
    """Call ``work`` in a daemon thread; ``on_done``/``on_error`` then run on the main thread.

    A FilecastError is the person's to act on and goes to ``on_error`` as is; anything else is
    a bug: logged with its traceback and reported as a generic FilecastError.
    """

    def body() -> None:
        try:
            result = work()
        except FilecastError as error:
            # ``error`` is unbound when the except block ends: hand the object, not the name.
            pump.call_soon(functools.partial(on_error, error))
        except Exception as exc:  # a bug: log it whole, tell the person plainly
            log.exception("background job %s failed", name)
            bug = FilecastError(BUG_MESSAGE)
            bug.__cause__ = exc
            pump.call_soon(lambda: on_error(bug))
        else:
            pump.call_soon(lambda: on_done(result))

    thread = threading.Thread(target=body, name=name, daemon=True)
    thread.start()
    return thread
