"""A client that stays honest while the server is away (issue 11, item 4): it can retry
until the person cancels, and a resume says how far it is in re-reading the part it keeps
(a 1.8 GB part once sat still for 4.8 s behind "Resuming at 1.8 GB…").
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from faultproxy import FaultProxy
from serverkit import Recorder, serving, wait_until

from core.client.visit import FilecastClient
from core.errors import CancelledError, ServerGoneError
from core.events import DownloadRechecking, DownloadRetrying, DownloadStarted

MIB = 1024 * 1024


@pytest.fixture
def offered(tmp_path: Path) -> Path:
    path = tmp_path / "offered" / "movie.bin"
    path.parent.mkdir()
    path.write_bytes(os.urandom(12 * MIB))
    return path


def test_a_resume_reports_rereading_the_part_up_to_all_of_it(tmp_path: Path,
                                                             offered: Path) -> None:
    folder = tmp_path / "downloads"
    folder.mkdir()
    with serving(tmp_path, [offered]) as running, FaultProxy(running.port) as proxy:
        proxy.knobs.cuts = [5 * MIB]
        with FilecastClient("127.0.0.1", proxy.port, retries=0) as first, \
                pytest.raises(ServerGoneError):
            first.download("movie.bin", folder)
        kept = (folder / "movie.bin.part").stat().st_size
        assert kept > 0
        heard = Recorder()
        with FilecastClient("127.0.0.1", running.port, listener=heard) as second:
            assert second.download("movie.bin", folder).verified
    rechecks = heard.of(DownloadRechecking)
    assert rechecks, "nothing said while the part was re-read"
    assert [e.total for e in rechecks] == [kept] * len(rechecks)
    assert rechecks[0].done == 0 and rechecks[-1].done == kept
    assert [e.done for e in rechecks] == sorted(e.done for e in rechecks)
    assert heard.of(DownloadStarted)[0].resumed_from == kept


def test_without_a_limit_it_retries_until_cancelled(tmp_path: Path, offered: Path) -> None:
    """The window's client: the server is away for longer than five tries; it keeps at it."""
    folder = tmp_path / "downloads"
    folder.mkdir()
    heard = Recorder()
    errors: list[BaseException] = []
    with serving(tmp_path, [offered]) as running, FaultProxy(running.port) as proxy:
        proxy.knobs.rate = 4 * MIB
        proxy.knobs.cuts = [1 * MIB] + [0] * 200  # then every connection drops at once
        client = FilecastClient("127.0.0.1", proxy.port, listener=heard, retries=None,
                                backoff=0.01, timeout=2.0)
        client.connect()
        info = client.check("movie.bin")

        def run() -> None:
            try:
                client.download("movie.bin", folder, info=info)
            except BaseException as error:  # what the thread ended with
                errors.append(error)

        worker = threading.Thread(target=run)
        worker.start()
        try:
            wait_until(lambda: len(heard.of(DownloadRetrying)) >= 8 or not worker.is_alive(),
                       what="eight retries")
            assert worker.is_alive(), errors
            assert all(event.limit is None for event in heard.of(DownloadRetrying))
        finally:
            client.cancel()
            worker.join(10)
            client.close()
    assert not worker.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], CancelledError)
    assert (folder / "movie.bin.part").stat().st_size > 0  # what came is kept
