"""A private virtual screen for the window section: ``Xvfb :N``, started and stopped by PID."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator

from .tools import which

FIRST_DISPLAY = 140
LAST_DISPLAY = 240
START_TIMEOUT = 10.0


def _free_display() -> int | None:
    for number in range(FIRST_DISPLAY, LAST_DISPLAY):
        if not (os.path.exists(f"/tmp/.X{number}-lock")
                or os.path.exists(f"/tmp/.X11-unix/X{number}")):
            return number
    return None


@contextlib.contextmanager
def screen() -> Iterator[str | None]:
    """Yield a DISPLAY value (``:N``) for the duration, or None when Xvfb is unavailable."""
    binary = which("Xvfb")
    number = _free_display()
    if binary is None or number is None:
        yield None
        return
    proc = subprocess.Popen([binary, f":{number}", "-screen", "0", "1280x800x24", "-nolisten",
                             "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and proc.poll() is None:
            if os.path.exists(f"/tmp/.X11-unix/X{number}"):
                break
            time.sleep(0.05)
        yield f":{number}" if proc.poll() is None else None
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
