"""The browser page in a real Chromium (issue 13): the original dialogue, at a phone's size
and a desktop's, against a real server; the ledger says exactly what the person did."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browserkit import DESKTOP, PHONE, chromium, needs_chromium, wait_for_download
from serverkit import Running, serving, wait_until, write_file

from core.wire.sentences import ask_window

pytestmark = [needs_chromium, pytest.mark.timeout(180)]

DATA = os.urandom(300_000)
NAME = "Worksheet 12.pdf"


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    folder = tmp_path / "offered"
    folder.mkdir()
    with serving(tmp_path, [write_file(folder, NAME, DATA),
                            write_file(folder, "notes.txt", b"notes\n")]) as server:
        yield server


def by_text(driver: Any, tag: str, text: str) -> Any:
    """The element a person finds by what it says."""
    from selenium.webdriver.common.by import By

    return driver.find_element(By.XPATH, f"//{tag}[normalize-space()='{text}']")


def answer_text(driver: Any) -> str:
    return str(driver.find_element("id", "answer").text)


def check_name(driver: Any, name: str) -> None:
    """Type ``name`` in the file-name field and press Enter, as a person does."""
    from selenium.webdriver.common.keys import Keys

    field = driver.find_element("id", "file-name")
    field.clear()
    field.send_keys(name, Keys.ENTER)


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_whole_dialogue_in_chromium(running: Running, tmp_path: Path,
                                        size: tuple[int, int]) -> None:
    """A typo, then the real name, Yes: the file in the browser's downloads byte for byte,
    one "downloaded" line; then No for the other file: one "declined" line."""
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with chromium(downloads, size) as driver:
        driver.get(f"http://127.0.0.1:{running.port}/")
        driver.find_element("id", "person").send_keys("Ana López")
        driver.find_element("id", "file-name").click()  # the name is kept on change

        check_name(driver, "Worksheet 21.pdf")
        wait_until(lambda: answer_text(driver) == "File does not exist!", 10, "the 404")

        check_name(driver, NAME)
        wait_until(lambda: answer_text(driver) == ask_window(len(DATA)), 10, "the question")
        by_text(driver, "button", "Yes").click()
        saved = wait_for_download(downloads, NAME)
        assert saved.read_bytes() == DATA
        running.wait_lines(f"downloaded the file '{NAME}'")

        check_name(driver, "notes.txt")
        wait_until(lambda: answer_text(driver) == ask_window(6), 10, "the question")
        by_text(driver, "button", "No").click()
        wait_until(lambda: answer_text(driver) == "You declined 'notes.txt'; the server"
                   " has recorded it.", 10, "the decline")
    running.wait_lines("did not download the file 'notes.txt'")
    events = [(r["event"], r["file"], r["name"]) for r in running.ledger_records()]
    assert events == [("not_offered", "Worksheet 21.pdf", "Ana López"),
                      ("downloaded", NAME, "Ana López"),
                      ("declined", "notes.txt", "Ana López")]
    ids = {r["client_id"] for r in running.ledger_records()}
    assert len(ids) == 1 and None not in ids  # one visit, the download included
    assert not list(downloads.glob("notes*"))  # No saved nothing


def test_tapping_a_listed_file_asks_first(running: Running, tmp_path: Path) -> None:
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with chromium(downloads) as driver:
        driver.get(f"http://127.0.0.1:{running.port}/")
        by_text(driver, "a", NAME).click()
        wait_until(lambda: answer_text(driver) == ask_window(len(DATA)), 10, "the question")
        assert driver.find_element("id", "file-name").get_attribute("value") == NAME
    assert list(downloads.iterdir()) == []  # a tap is a question, not a download


def test_a_changed_offer_shows_without_a_reload(running: Running, tmp_path: Path) -> None:
    with chromium(tmp_path) as driver:
        driver.get(f"http://127.0.0.1:{running.port}/")
        extra = write_file(running.folder / "offered", "week 13.txt", b"new")
        running.offer.add([str(extra)])
        wait_until(lambda: "week 13.txt" in driver.find_element("id", "files").text, 15,
                   "the new file on the page")


def test_without_javascript_the_files_are_links(running: Running, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with chromium(downloads) as driver:
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
        driver.get(f"http://127.0.0.1:{running.port}/")
        assert not driver.find_element("id", "dialogue").is_displayed()
        links = driver.find_elements(By.CSS_SELECTOR, "#files a")
        assert sorted(link.text for link in links) == sorted([NAME, "notes.txt"])
        by_text(driver, "a", NAME).click()
        assert wait_for_download(downloads, NAME).read_bytes() == DATA


def resume_in_chromium(driver: Any) -> None:
    """Press Resume (Retry, after a network error) on the first download of
    chrome://downloads, as a person does."""
    driver.get("chrome://downloads/")

    def pressed() -> bool:
        return bool(driver.execute_script("""
            const manager = document.querySelector('downloads-manager');
            const item = manager && manager.shadowRoot.querySelector('downloads-item');
            if (!item) return false;
            const root = item.shadowRoot || item;
            const button = Array.from(root.querySelectorAll('cr-button, button'))
                .find(b => /^\\s*(Resume|Retry)\\s*$/i.test(b.textContent));
            if (!button) return false;
            button.click();
            return true;"""))

    wait_until(pressed, 20, "the Resume or Retry button")


@pytest.mark.xfail(strict=True, reason="issue 13 item 3, not built yet: a cut body's 'did not"
                   " finish' line is written at once (no quiet period), and Chromium's second"
                   " GET from byte 0 begins a new download: the ledger has interrupted,"
                   " downloaded, interrupted")
def test_a_download_cut_and_resumed_in_chromium_is_one_download(tmp_path: Path) -> None:
    """Done when (issue 13): a browser's pause/resume leaves exactly one true ledger line.
    The network drops the download at 3 MB; Chromium's Resume asks for the rest (Range
    with If-Range, as recorded from this Chromium); the visit's cookie makes both one."""
    from faultproxy import FaultProxy

    data = os.urandom(5_000_000)
    folder = tmp_path / "offered"
    folder.mkdir()
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with serving(tmp_path, [write_file(folder, "lecture.mp4", data)]) as running, \
            FaultProxy(running.port) as proxy:
        proxy.knobs.cuts = [3_000_000] * 50  # any connection that carries 3 MB drops
        with chromium(downloads, DESKTOP) as driver:
            driver.get(f"http://127.0.0.1:{proxy.port}/")
            check_name(driver, "lecture.mp4")
            wait_until(lambda: answer_text(driver) == ask_window(len(data)), 10, "question")
            by_text(driver, "button", "Yes").click()
            wait_until(lambda: proxy.stats.cut >= 1, 20, "the cut")
            resume_in_chromium(driver)
            saved = wait_for_download(downloads, "lecture.mp4")
        assert saved.read_bytes() == data
        running.wait_lines("downloaded the file 'lecture.mp4'")
    events = [r["event"] for r in running.ledger_records() if r["file"] == "lecture.mp4"]
    assert events == ["downloaded"]
