"""The terminal front end keeps the original program's dialogue, end to end in real processes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from serverkit import ServeProcess

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServeProcess]:
    """A server process offering test.txt ("hello world", 11 bytes) from tmp_path/server."""
    folder = tmp_path / "server"
    folder.mkdir()
    (folder / "test.txt").write_bytes(b"hello world")
    server = ServeProcess(folder, ["test.txt"])
    yield server
    server.stop()


def run_get(cwd: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """``python -m core get`` to completion."""
    return subprocess.run([sys.executable, "-m", "core", "get", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT),
                               "FILECAST_CONFIG_DIR": str(cwd / ".config")})


def test_interactive_dialogue_downloads_like_the_original(served: ServeProcess,
                                                          tmp_path: Path) -> None:
    answers = f"127.0.0.1:{served.port}\ntest.txt\ny\n"
    result = run_get(tmp_path, stdin=answers)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Enter host ip address:" in out
    assert "Enter 'test.txt' when prompted to download the document..." in out
    assert "Enter the filename:" in out
    assert "File Exists, 11 Bytes, download?(Y/N):" in out
    assert "Download Complete!" in out
    assert (tmp_path / "test.txt").read_bytes() == b"hello world"
    served.wait_for(r"^SERVER WORKING$")
    served.wait_for(r"^Waiting for connection\.\.\.$")
    served.wait_for(r"^Client connected <ip: \('127\.0\.0\.1', \d+\)>$")
    served.wait_for(r"^Message sent out to client <ip: \('127\.0\.0\.1', \d+\)>$")
    served.wait_for(r"^Client: <ip: \('127\.0\.0\.1', \d+\)> disconnected!$")
    ledger = (tmp_path / "server" / "Clients.txt").read_text()
    assert re.search(r"Z Client: \('127\.0\.0\.1', \d+\) downloaded the file 'test\.txt'\n",
                     ledger)
    assert "downloaded and verified the file 'test.txt'" in ledger


def test_no_records_a_decline_and_saves_nothing(served: ServeProcess, tmp_path: Path) -> None:
    result = run_get(tmp_path, f"127.0.0.1:{served.port}", "test.txt", "--no")
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "test.txt").exists()
    served.wait_for(r"did not download the file 'test\.txt'")
    ledger = (tmp_path / "server" / "Clients.txt").read_text()
    assert re.search(r"Client: \('127\.0\.0\.1', \d+\) did not download the file 'test\.txt'",
                     ledger)


def test_missing_name_says_file_does_not_exist(served: ServeProcess, tmp_path: Path) -> None:
    result = run_get(tmp_path, f"127.0.0.1:{served.port}", "../../etc/passwd", "--yes")
    assert "File does not exist!" in result.stdout
    assert result.returncode == 1
    ledger = (tmp_path / "server" / "Clients.txt").read_text()
    assert "asked for '../../etc/passwd', which does not exist" in ledger


def test_second_download_is_numbered_not_overwritten(served: ServeProcess,
                                                     tmp_path: Path) -> None:
    (tmp_path / "test.txt").write_bytes(b"mine, keep me")
    result = run_get(tmp_path, f"127.0.0.1:{served.port}", "test.txt", "--yes")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "test.txt").read_bytes() == b"mine, keep me"
    assert (tmp_path / "test (1).txt").read_bytes() == b"hello world"


def test_no_server_is_a_sentence_not_a_traceback(tmp_path: Path) -> None:
    with __import__("socket").socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_get(tmp_path, f"127.0.0.1:{port}", "test.txt", "--yes")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"{port}" in result.stderr and "firewall" in result.stderr


def test_help_explains_every_option() -> None:
    for command, options in (("serve", ["--host", "--port", "--log-file", "--message"]),
                             ("get", ["--yes", "--no", "--output"])):
        out = subprocess.run([sys.executable, "-m", "core", command, "--help"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
        for option in options:
            assert option in out


def test_a_closed_terminal_silences_the_printer_not_the_server() -> None:
    """`serve | head` closes the pipe: the server must keep serving, not spew tracebacks."""
    from core.cli import ServerPrinter
    from core.events import ClientConnected, ClientInfo

    class Closed:
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self) -> None:
            raise BrokenPipeError(32, "Broken pipe")

    printer = ServerPrinter(Closed())  # type: ignore[arg-type]
    for _ in range(3):
        printer.on_event(ClientConnected(ClientInfo(1, ("127.0.0.1", 5))))
