"""Start a Filecast server with a chosen ``ServerConfig.body_mode`` ("sendfile" or "copy").

``python3 bench/launch_filecast.py --body-mode copy --port 0 --log-file L FILE...`` prints
the same lines as ``python3 -m core serve`` (SERVER WORKING, the URL, "Offering ...") and
serves on 127.0.0.1 until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.activity import ServerPrinter
from core.server import FilecastServer, ServerConfig
from core.server.ledger import Ledger
from core.server.offer import OfferTable

MAX_SECONDS = 6 * 3600  # never outlive a forgotten benchmark


def main() -> int:
    """Serve until a signal (or the safety limit)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", nargs="+")
    parser.add_argument("--body-mode", choices=("auto", "sendfile", "copy"), default="auto")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log-file", required=True)
    args = parser.parse_args()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    printer = ServerPrinter()
    offer = OfferTable(args.files, listener=printer)
    ledger = Ledger(args.log_file)
    server = FilecastServer(offer, ledger, printer,
                            ServerConfig(host="127.0.0.1", port=args.port,
                                         body_mode=args.body_mode, max_per_address=0))
    server.start()
    try:
        stop.wait(MAX_SECONDS)
    finally:
        server.close()
        ledger.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
