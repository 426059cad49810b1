#!/usr/bin/env python3
"""Filecast Server: offer a file to everyone on the network and see who took it.

Double-click it, or run ``python3 gui_server.py [FILE] [--port P] [--log-file PATH]``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tkinter as tk

from core import DEFAULT_PORT
from core.gui.server_window import ServerWindow
from core.gui.style import apply_style, set_icon
from core.settings import default_ledger


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, open the window, run until it is closed."""
    parser = argparse.ArgumentParser(description="Filecast Server: offer a file on the network.")
    parser.add_argument("file", nargs="?", metavar="FILE",
                        help="the file to offer (a file picker opens when absent)")
    parser.add_argument("--port", type=int, default=None,
                        help=f"port to listen on (default: the last one used, else "
                             f"{DEFAULT_PORT}; 0 picks a free one)")
    parser.add_argument("--log-file", default=None, metavar="PATH",
                        help=f"the ledger file (default: {default_ledger()})")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = tk.Tk(className="Filecast")
    apply_style(root)
    set_icon(root, "server")
    ServerWindow(root, [args.file] if args.file else [], args.port, args.log_file)
    root.mainloop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
