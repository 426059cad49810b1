"""Run Filecast's server window on $DISPLAY and report the lag of its ``after()`` drain.

``python3 bench/window_probe.py FILE LEDGER PORT``. Prints ``READY <port>`` once the window
serves FILE (hashed) on 127.0.0.1; then reads commands on stdin: ``START`` forgets the lag
so far, ``STOP`` prints ``LAG <json>`` (window.pump.lag_stats() plus the peak number of
downloading clients the window showed) and closes. Gives up by itself after MAX_SECONDS.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
import time
import tkinter as tk
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.gui.server_window import ServerWindow

MAX_SECONDS = 300.0
POLL_MS = 20


def _read_commands(commands: queue.SimpleQueue[str]) -> None:
    for line in sys.stdin:
        commands.put(line.strip())
    commands.put("STOP")  # the parent went away


def main() -> int:
    """Open the window, serve, answer START/STOP."""
    path, ledger, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    root = tk.Tk(className="FilecastBench")
    try:
        from core.gui.style import apply_style
        apply_style(root)
    except Exception:  # the style is not what is measured
        pass
    window = ServerWindow(root, [path], port, ledger, host="127.0.0.1")
    commands: queue.SimpleQueue[str] = queue.SimpleQueue()
    threading.Thread(target=_read_commands, args=(commands,), daemon=True).start()
    deadline = time.monotonic() + MAX_SECONDS
    state = {"ready": False, "peak": 0, "code": 1}

    def finish(report: dict[str, object] | None) -> None:
        if report is not None:
            print("LAG " + json.dumps(report), flush=True)
            state["code"] = 0
        server = window.server
        if server is not None:
            server.close()
        window.offer.stop()
        root.destroy()

    def poll() -> None:
        server = window.server
        if not state["ready"] and server is not None and server.running:
            files = window.offer.state.files
            if files and files[0].sha256:
                state["ready"] = True
                print(f"READY {server.port}", flush=True)
        state["peak"] = max(int(state["peak"]), window.table.counts.downloading)
        while True:
            try:
                command = commands.get_nowait()
            except queue.Empty:
                break
            if command == "START":
                window.pump.reset_stats()
                state["peak"] = 0
            elif command == "STOP":
                finish({**window.pump.lag_stats(), "peak_downloading": state["peak"]})
                return
        if time.monotonic() > deadline:
            finish(None)
            return
        root.after(POLL_MS, poll)

    root.after(POLL_MS, poll)
    root.mainloop()
    return int(state["code"])


if __name__ == "__main__":
    sys.exit(main())
