"""Filecast engine: offer files over HTTP/1.1, download them safely, keep a ledger.

Standard library only. The windows (`gui_server.py`, `gui_client.py`) and the terminal
front end (`python -m core`) are thin shells around the modules here.
"""

__version__ = "0.1.0"
PROTOCOL_VERSION = 1
DEFAULT_PORT = 5001
