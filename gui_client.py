#!/usr/bin/env python3
"""Filecast Client: fetch a file offered on the network. Double-click, or give HOST[:PORT]."""

from __future__ import annotations

import argparse
import logging
import sys
import tkinter as tk
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from core.gui.client_window import ClientWindow
from core.gui.style import apply_style, set_icon


def main(argv: list[str] | None = None) -> int:
    """Open the window; connect at once when a server address is given."""
    parser = argparse.ArgumentParser(description="Filecast Client: download an offered file.")
    parser.add_argument("host", nargs="?", metavar="HOST[:PORT]",
                        help="the server's address, as the server window shows it")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = tk.Tk()
    apply_style(root)
    set_icon(root, "client")
    ClientWindow(root, args.host)
    root.mainloop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
