"""The client window's stages (``ClientWindow.stage``), shared with its keyboard flow."""

DISCONNECTED = "disconnected"
CONNECTING = "connecting"
READY = "ready"  # connected, asking for a file name
CHECKING = "checking"
ASKING = "asking"  # "File exists ... Download?" with Yes and No
DECLINING = "declining"
DOWNLOADING = "downloading"
CANCELLING = "cancelling"
BUSY = (DOWNLOADING, CANCELLING)
