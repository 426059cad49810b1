"""Filecast engine: offer files over HTTP/1.1, download them safely, keep a ledger.

Standard library only. The windows (`gui_server.py`, `gui_client.py`) and the terminal
front end (`python -m core`) are thin shells around the modules here.
"""

__version__ = "0.1.0"
PROTOCOL_VERSION = 1
DEFAULT_PORT = 5001
# Connections one address may hold (core.server.config.ServerConfig; the terminal's
# --max-per-address): here, so the terminal client need not import the server to say it.
DEFAULT_MAX_PER_ADDRESS = 1000
