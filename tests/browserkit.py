"""A real Chromium for the browser-page tests (issue 13): Debian's chromium and chromedriver
driven by selenium, headless, one browser per test module (../shared/BROWSER-TESTING.md).

The test command installs both through apt, like Xvfb; where they cannot be installed (not
root, no apt) the tests that need them are skipped with that reason.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
DRIVER = "/usr/bin/chromedriver"
PHONE = (390, 844)
DESKTOP = (1280, 800)

needs_chromium = pytest.mark.skipif(
    shutil.which("chromium") is None or shutil.which("chromedriver") is None,
    reason="chromium and chromedriver are not installed (tests/run.sh installs them as root)")


@contextlib.contextmanager
def chromium(downloads: Path, size: tuple[int, int] = PHONE) -> Iterator[object]:
    """A headless Chromium saving downloads into ``downloads``; always quit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-dev-shm-usage", f"--window-size={size[0]},{size[1]}"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {
        "download.default_directory": str(downloads),
        "download.prompt_for_download": False,
    })
    if size[0] < 500:  # a headless window is never narrower than 500 px: emulate the phone
        options.add_experimental_option("mobileEmulation", {"deviceMetrics": {
            "width": size[0], "height": size[1], "pixelRatio": 3.0, "touch": True}})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for_download(folder: Path, name: str, timeout: float = 30.0) -> Path:
    """The saved file once Chromium has renamed it to ``name`` and no temporary file is
    left; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        names = [p.name for p in folder.iterdir()]
        busy = [n for n in names if n.endswith(".crdownload") or n.startswith(".org.chromium")]
        if name in names and not busy:
            return folder / name
        time.sleep(0.1)
    raise AssertionError(f"{name} was not saved in {folder}: {sorted(folder.iterdir())}")
