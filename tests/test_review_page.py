"""The adversarial pass of the browser page (issue 13): GET /, its script and style sheet
under /page/, a browser visit's cookies, the conditional answers the page brought in
(If-Modified-Since, the offer's ETag), attacked as a hostile peer and a hostile web page
would. Each test holds one problem the pass found (each failed before its fix).
"""

from __future__ import annotations

import functools
import gc
import http.client
import http.server
import os
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browserkit import chromium, needs_chromium
from serverkit import Running, serving, wait_until, write_file
from test_routing import answer, entry, refusal, state  # noqa: F401  (fixtures)

from core.server.entries import ServedFile
from core.server.offer import OfferState
from core.wire.protocol import file_path


def get(running: Running, path: str, **headers: str) -> tuple[int | None, dict[str, str],
                                                                 bytes]:
    """One GET on a fresh connection: status (None when the server just hung up), headers
    by lower-case name, body."""
    connection = running.connect()
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return (response.status, {k.lower(): v for k, v in response.getheaders()},
                response.read())
    except (http.client.HTTPException, ConnectionError):
        return None, {}, b""
    finally:
        connection.close()


# --- the static route ----------------------------------------------------------------


def test_bogus_names_under_page_are_not_kept_in_memory(state: OfferState) -> None:  # noqa: F811
    """A peer asks for /page/<random 8 KB name> again and again on one keep-alive
    connection; each is a 404, and each should be forgotten once answered."""
    answer(state, "GET", "/page/filecast.js")  # the real ones may be kept, of course
    answer(state, "GET", "/page/filecast.css")
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(300):
            assert refusal(state, "GET", f"/page/{n:05d}{'x' * 8000}").status == 404
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < 500_000, f"{kept:,} bytes kept after 300 refused names (2.4 MB asked)"


# --- the page itself -------------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS refuses names that are not UTF-8")
def test_a_file_name_that_is_not_utf8_leaves_the_page_working(tmp_path: Path) -> None:
    """A folder unpacked from an old zip often holds a Latin-1 name (b'caf\\xe9.txt'):
    the page must still show the other files, never hang up on every visitor."""
    folder = tmp_path / "Week 12"
    folder.mkdir()
    write_file(folder, "answers.txt", b"42\n")
    with open(os.path.join(os.fsencode(folder), b"caf\xe9.txt"), "wb") as odd:
        odd.write(b"latin-1 name\n")
    with serving(tmp_path, [folder]) as running:
        status, _, page = get(running, "/")
    assert status == 200
    assert "answers.txt" in page.decode("utf-8")


# --- If-Modified-Since (RFC 9110 §13.1.3) ----------------------------------------------


def test_a_file_dated_in_the_future_is_sent_again_once_changed(tmp_path: Path) -> None:
    """A worksheet copied from a camera card or a machine with a fast clock is dated two
    hours ahead. wget -N / curl -z send its Last-Modified back; after the teacher saves a
    corrected version (dated now) they must get the new bytes, not a 304."""
    folder = tmp_path / "offered"
    folder.mkdir()
    path = write_file(folder, "sheet.txt", b"version one\n")
    ahead = time.time() + 7200
    os.utime(path, (ahead, ahead))
    with serving(tmp_path, [path]) as running:
        status, first, _ = get(running, "/files/sheet.txt")
        assert status == 200
        path.write_bytes(b"version two, corrected\n")  # dated now: earlier than "ahead"
        status, _, body = get(running, "/files/sheet.txt",
                              **{"If-Modified-Since": first["last-modified"]})
    assert (status, body) == (200, b"version two, corrected\n")


def test_if_modified_since_in_asctime_form_is_understood(state: OfferState,  # noqa: F811
                                                        entry: ServedFile) -> None:  # noqa: F811
    moment = time.gmtime(entry.mtime_ns // 1_000_000_000)
    asctime = time.strftime("%a %b ", moment) + f"{moment.tm_mday:2d}" \
        + time.strftime(" %H:%M:%S %Y", moment)
    reply = answer(state, "GET", file_path(entry.name),
                   f"If-Modified-Since: {asctime}")
    assert reply.status == 304 and reply.body == b"" and reply.span is None


# --- in a real browser -------------------------------------------------------------------


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    folder = tmp_path / "offered"
    folder.mkdir()
    with serving(tmp_path, [write_file(folder, "notes.txt", b"notes\n")]) as server:
        yield server


def check_name(driver: Any, name: str) -> None:
    """Type ``name`` in the file-name field and press Enter, as a person does."""
    from selenium.webdriver.common.keys import Keys

    field = driver.find_element("id", "file-name")
    field.clear()
    field.send_keys(name, Keys.ENTER)


def answer_text(driver: Any) -> str:
    return str(driver.find_element("id", "answer").text)


@needs_chromium
@pytest.mark.timeout(120)
def test_typing_dot_dot_is_a_file_that_does_not_exist(running: Running,
                                                      tmp_path: Path) -> None:
    with chromium(tmp_path) as driver:
        driver.get(f"http://127.0.0.1:{running.port}/")
        check_name(driver, "..")
        wait_until(lambda: answer_text(driver) not in ("", "Checking…"), 10, "an answer")
        said = answer_text(driver)
    # Answered by the page itself: no address can carry a '..' segment to the server (a
    # browser resolves it, even percent-encoded), and no offered name has one.
    assert said == "File does not exist!"


@needs_chromium
@pytest.mark.timeout(120)
def test_following_the_link_from_another_site_keeps_the_visit(running: Running,
                                                              tmp_path: Path) -> None:
    """A teacher posts the address in a class page or a chat; a student opens it, leaves,
    and comes back through the same link: still one client, as the docs promise."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "class.html").write_text(
        f'<a id="go" href="http://127.0.0.1:{running.port}/">Today\'s files</a>')
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=other.serve_forever, daemon=True)
    thread.start()
    try:
        with chromium(tmp_path) as driver:
            for visit in ("first-visit.txt", "second-visit.txt"):
                # "localhost" is another site than "127.0.0.1" to the browser
                driver.get(f"http://localhost:{other.server_address[1]}/class.html")
                driver.find_element("id", "go").click()
                wait_until(lambda: driver.find_elements("id", "file-name"), 10, "the page")
                wait_until(lambda: driver.find_element("id", "dialogue").is_displayed(), 10,
                           "the dialogue")
                check_name(driver, visit)
                running.wait_lines(f"'{visit}'")
    finally:
        other.shutdown()
        other.server_close()
        thread.join(5)
    ids = [(r["file"], r["client_id"]) for r in running.ledger_records()]
    assert len({client_id for _, client_id in ids}) == 1, ids
    assert None not in {client_id for _, client_id in ids}
