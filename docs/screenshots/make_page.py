#!/usr/bin/env python3
"""Regenerate the README's pictures of the browser page: docs/screenshots/page-*.png.

    python3 docs/screenshots/make_page.py

Needs Debian's chromium and chromium-driver and selenium (the test command installs all
three; run it with .venv/bin/python). Offers a small set from a temporary folder on
127.0.0.1 only, opens the page in headless Chromium at a phone's size (390x844, light) and
a desktop's (1280x800, dark), types a name and checks a file as a person does, and saves
what the browser shows: page-phone.png and page-desktop-dark.png next to this script.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from browserkit import DESKTOP, PHONE, chromium  # noqa: E402

from core.server import FilecastServer, Ledger, OfferTable, ServerConfig  # noqa: E402


def offer_folder(root: Path) -> list[Path]:
    """A week's worksheets and a single file, as a teacher would offer them."""
    week = root / "Week 12"
    week.mkdir()
    (week / "worksheet 1.pdf").write_bytes(b"%PDF-1.4\n" + bytes(183_000))
    (week / "answers.xlsx").write_bytes(bytes(48_200))
    single = root / "Physics-Week-12-Worksheets.zip"
    single.write_bytes(bytes(48_000_000))
    return [single, week]


def shoot(port: int, size: tuple[int, int], scheme: str, path: Path, downloads: Path) -> None:
    """The page at ``size`` in ``scheme``, after a name and a check, saved to ``path``."""
    from selenium.webdriver.common.keys import Keys

    with chromium(downloads, size) as driver:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [
            {"name": "prefers-color-scheme", "value": scheme}]})
        driver.get(f"http://127.0.0.1:{port}/")
        driver.find_element("id", "person").send_keys("Ana López")
        driver.find_element("id", "file-name").send_keys(
            "Physics-Week-12-Worksheets.zip", Keys.ENTER)
        time.sleep(1.0)
        driver.save_screenshot(str(path))
    print(f"wrote {path}")


def main() -> None:
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        (root / "offer").mkdir()
        offer = OfferTable(offer_folder(root / "offer"), server_name="physics-lab")
        ledger = Ledger(root / "Clients.txt")
        server = FilecastServer(offer, ledger, None, ServerConfig(host="127.0.0.1", port=0))
        server.start()
        try:
            while any(f.sha256 is None for f in offer.state.files):
                time.sleep(0.1)
            shoot(server.port, PHONE, "light", HERE / "page-phone.png", root)
            shoot(server.port, DESKTOP, "dark", HERE / "page-desktop-dark.png", root)
        finally:
            server.close()
            ledger.close()
            offer.close()


if __name__ == "__main__":
    main()
