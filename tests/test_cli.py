"""The terminal front end keeps the original program's dialogue, end to end in real processes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
from hostile_server import HostileServer
from serverkit import ServeProcess, wait_until

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
    # the original sentence, with the account's full name after the address (issue 11)
    assert re.search(r"Z Client: \('127\.0\.0\.1', \d+\) (\"[^\"]*\" )?downloaded the file"
                     r" 'test\.txt'\n", ledger)
    assert "downloaded and verified the file 'test.txt'" in ledger


def test_no_records_a_decline_and_saves_nothing(served: ServeProcess, tmp_path: Path) -> None:
    result = run_get(tmp_path, f"127.0.0.1:{served.port}", "test.txt", "--no")
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "test.txt").exists()
    served.wait_for(r"did not download the file 'test\.txt'")
    ledger = (tmp_path / "server" / "Clients.txt").read_text()
    assert re.search(r"Client: \('127\.0\.0\.1', \d+\) (\"[^\"]*\" )?did not download the file"
                     r" 'test\.txt'", ledger)


def test_the_ledger_names_the_person_given_with_name(served: ServeProcess,
                                                     tmp_path: Path) -> None:
    """issue 11: `get --name` puts the person in Clients.txt and Clients.jsonl."""
    result = run_get(tmp_path, f"127.0.0.1:{served.port}", "test.txt", "--no",
                     "--name", "Ana Lopez")
    assert result.returncode == 0, result.stderr
    served.wait_for(r"did not download the file 'test\.txt'")
    ledger = (tmp_path / "server" / "Clients.txt").read_text()
    assert re.search(r"Client: \('127\.0\.0\.1', \d+\) \"Ana Lopez\" did not download the file"
                     r" 'test\.txt'", ledger), ledger
    jsonl = (tmp_path / "server" / "Clients.jsonl").read_text()
    assert '"name": "Ana Lopez"' in jsonl


def test_an_empty_name_sends_none(served: ServeProcess, tmp_path: Path) -> None:
    result = run_get(tmp_path, f"127.0.0.1:{served.port}", "test.txt", "--no", "--name", "")
    assert result.returncode == 0, result.stderr
    served.wait_for(r"did not download the file 'test\.txt'")
    ledger = (tmp_path / "server" / "Clients.txt").read_text()
    assert re.search(r"Client: \('127\.0\.0\.1', \d+\) did not download the file 'test\.txt'",
                     ledger), ledger


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
    from core.activity import ServerPrinter
    from core.events import ClientConnected, ClientInfo

    class Closed:
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self) -> None:
            raise BrokenPipeError(32, "Broken pipe")

    printer = ServerPrinter(Closed())  # type: ignore[arg-type]
    for _ in range(3):
        printer.on_event(ClientConnected(ClientInfo(1, ("127.0.0.1", 5))))


# --- issue 9: the terminal asks again, --yes refuses, Ctrl-C says what is kept ---------------

HOSTILE_DATA = os.urandom(1024 * 1024 + 12345)
CHANGED = os.urandom(3 * 1024 * 1024)


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with HostileServer({"report.pdf": HOSTILE_DATA}) as server:
        yield server


def test_yes_refuses_a_file_that_changed_after_the_question(hostile: HostileServer,
                                                            tmp_path: Path) -> None:
    hostile.lies.other_version = CHANGED  # HEAD shows 1.1 MB, the GET sends 3.1 MB
    result = run_get(tmp_path, f"127.0.0.1:{hostile.port}", "report.pdf", "--yes")
    assert result.returncode == 1, result.stdout
    assert "'report.pdf' changed on the server since you said yes: it is now 3.1 MB, not" \
           " 1.1 MB." in result.stderr
    assert "Download Complete!" not in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == [".config"]


@pytest.mark.parametrize("second", ["y", "n"])
def test_the_terminal_asks_again_when_the_file_changed(hostile: HostileServer, tmp_path: Path,
                                                      second: str) -> None:
    hostile.lies.other_version = CHANGED
    hostile.lies.receipt_verified = True  # the server stands by the version it now sends
    result = run_get(tmp_path, f"127.0.0.1:{hostile.port}", "report.pdf",
                     stdin=f"y\n{second}\n")
    assert result.returncode == 0, result.stderr
    first, _, again = result.stdout.partition("changed on the server since you said yes")
    assert f"File Exists, {len(HOSTILE_DATA)} Bytes, download?(Y/N):" in first
    assert f"File Exists, {len(CHANGED)} Bytes, download?(Y/N):" in again
    if second == "y":
        assert "Download Complete!" in again
        assert (tmp_path / "report.pdf").read_bytes() == CHANGED
    else:
        assert not (tmp_path / "report.pdf").exists()
        assert any(s.path == "/api/v1/decisions" for s in hostile.seen)


class Dialogue:
    """``python -m core get`` with its output read as it comes, to interrupt it mid-way."""

    def __init__(self, cwd: Path, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "core", "get", *args], cwd=cwd, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
                 "FILECAST_CONFIG_DIR": str(cwd / ".config")})
        self.out = ""
        assert self.process.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(self.process.stdout,),
                                        daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        while char := stream.read(1):
            self.out += char

    def interrupt(self) -> tuple[int, str, str]:
        """Ctrl-C; the exit status, everything printed, and the errors."""
        self.process.send_signal(signal.SIGINT)
        self.process.wait(30)
        self._reader.join(5)
        assert self.process.stderr is not None and self.process.stdin is not None
        self.process.stdin.close()
        return self.process.returncode, self.out, self.process.stderr.read()


def test_ctrl_c_before_any_download_only_says_cancelled(hostile: HostileServer,
                                                        tmp_path: Path) -> None:
    talk = Dialogue(tmp_path, f"127.0.0.1:{hostile.port}")
    wait_until(lambda: "Enter the filename:" in talk.out, what="the name prompt")
    code, out, err = talk.interrupt()
    assert code == 130 and "Traceback" not in err, err
    assert out.rstrip().endswith("Cancelled."), out
    assert "partial" not in out


def test_ctrl_c_during_a_download_says_what_is_kept(hostile: HostileServer,
                                                   tmp_path: Path) -> None:
    hostile.lies.stall_after = 1024 * 1024 + 5000  # a whole 1 MiB buffer reaches the disk
    talk = Dialogue(tmp_path, f"127.0.0.1:{hostile.port}", "report.pdf", "--yes")
    part = tmp_path / "report.pdf.part"
    wait_until(lambda: part.exists() and part.stat().st_size >= 1024 * 1024, what="a part")
    code, out, err = talk.interrupt()
    assert code == 130 and "Traceback" not in err, err
    said = re.search(r"Cancelled; the partial file 'report\.pdf\.part' \((\d\.\d) MB of"
                     r" 1\.1 MB\) is kept for a resume\.", out)
    assert said is not None, out
    assert said[1] == f"{part.stat().st_size / 1e6:.1f}"


def test_the_terminal_says_it_waits_for_the_servers_sha256(hostile: HostileServer,
                                                          tmp_path: Path) -> None:
    hostile.lies.no_digest = True
    hostile.lies.not_ready_times = 1  # still hashing at the first receipt
    result = run_get(tmp_path, f"127.0.0.1:{hostile.port}", "report.pdf", "--yes")
    assert result.returncode == 0, result.stderr
    assert "All bytes are in; waiting for the server to confirm its SHA-256..." in result.stdout
    assert "Download Complete!" in result.stdout
    assert (tmp_path / "report.pdf").read_bytes() == HOSTILE_DATA


def test_a_name_in_another_case_is_taken_as_the_offered_file(served: ServeProcess,
                                                             tmp_path: Path) -> None:
    """issue 11: "Test.TXT" for "test.txt" was "File does not exist!" with one file offered."""
    result = run_get(tmp_path, f"127.0.0.1:{served.port}", "Test.TXT", "--yes")
    assert result.returncode == 0, result.stderr
    assert "Taking 'test.txt', the offered file by that name." in result.stdout
    assert (tmp_path / "test.txt").read_bytes() == b"hello world"


def test_a_typo_is_suggested_but_never_taken_by_yes(served: ServeProcess,
                                                   tmp_path: Path) -> None:
    result = run_get(tmp_path, f"127.0.0.1:{served.port}", "tset.txt", "--yes")
    assert result.returncode == 1
    assert "File does not exist!\nDid you mean 'test.txt'?" in result.stdout
    assert not (tmp_path / "test.txt").exists()


def test_a_person_may_accept_the_suggestion(served: ServeProcess, tmp_path: Path) -> None:
    answers = f"127.0.0.1:{served.port}\ntset.txt\ny\ny\n"
    result = run_get(tmp_path, stdin=answers)
    assert result.returncode == 0, result.stderr
    assert "Did you mean 'test.txt'? (Y/N):" in result.stdout
    assert (tmp_path / "test.txt").read_bytes() == b"hello world"
    ledger = (tmp_path / "server" / "Clients.txt").read_text()
    assert "asked for 'tset.txt', which does not exist" in ledger  # the miss stays on record


def test_a_pasted_link_to_the_file_is_enough(served: ServeProcess, tmp_path: Path) -> None:
    result = run_get(tmp_path, f"http://127.0.0.1:{served.port}/files/test.txt", "--yes")
    assert result.returncode == 0, result.stderr
    assert "Enter the filename" not in result.stdout
    assert (tmp_path / "test.txt").read_bytes() == b"hello world"


def test_the_ledger_defaults_to_the_per_user_data_folder_and_serve_says_where(
        served: ServeProcess, tmp_path: Path) -> None:
    """issue 11: Clients.txt landed in whatever folder the program was started from."""
    data = tmp_path / "server"  # serverkit points FILECAST_DATA_DIR at the serving folder
    served.wait_for(rf"^Ledger: {re.escape(str(data / 'Clients.txt'))}$")
    result = run_get(tmp_path, f"127.0.0.1:{served.port}", "test.txt", "--no")
    assert result.returncode == 0, result.stderr
    served.wait_for(r"did not download the file 'test\.txt'")
    assert "did not download the file 'test.txt'" in (data / "Clients.txt").read_text()


def test_without_a_data_folder_override_the_ledger_is_in_the_users_data_folder(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from core.settings import default_ledger
    monkeypatch.delenv("FILECAST_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(sys, "platform", "linux")
    assert default_ledger() == tmp_path / "xdg" / "filecast" / "Clients.txt"
