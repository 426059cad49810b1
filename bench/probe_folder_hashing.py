"""How long offering a folder takes to hash, and how many offer updates it sends (issue 12).

    python3 bench/probe_folder_hashing.py [FILES] [SIZE]

Makes FILES files of SIZE bytes (default 1,000 of 10 KiB) in 10 folders under a temporary
folder, offers the folder with OfferTable and waits for every digest. Prints the time and
the number of OfferChanged events with the file views they carried.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.events import Event, OfferChanged
from core.server.offer import OfferTable


class Counter:
    """Counts offer updates and the file views they carry."""

    def __init__(self) -> None:
        self.events = 0
        self.views = 0

    def on_event(self, event: Event) -> None:
        if isinstance(event, OfferChanged):
            self.events += 1
            self.views += len(event.files)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 10 * 1024
    root = Path(tempfile.mkdtemp()) / "Data"
    for n in range(count):
        folder = root / f"d{n % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{n}.bin").write_bytes(os.urandom(size))
    counter = Counter()
    started = time.perf_counter()
    table = OfferTable([root], listener=counter, server_name="probe")
    listed = time.perf_counter() - started
    table.start()
    while not all(f.sha256 for f in table.state.files):
        time.sleep(0.01)
    hashed = time.perf_counter() - started
    table.close()
    print(f"{count:,} files of {size:,} bytes: listed in {listed:.2f} s, all hashed in"
          f" {hashed:.2f} s; {counter.events:,} OfferChanged events carrying"
          f" {counter.views:,} file views")


if __name__ == "__main__":
    main()
