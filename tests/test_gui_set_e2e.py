"""Issue 12's "Done when", with both windows: a server window serving one file adds a
folder of 1,000 files while serving; one client window takes all of it (the same tree,
every file SHA-256 verified), another takes one file by typing its name exactly as today,
a third declines the selection; the ledger says so, file by file."""

from __future__ import annotations

import json
import os
import tkinter as tk
from pathlib import Path

import pytest
from guikit import FakeDialogs, pump_until
from test_cli_many import same_tree
from test_gui_client import ask, connect, finished, make_window
from test_gui_client import config_dir as config_dir  # the fixtures, shared
from test_gui_server import Harness
from test_gui_server import harness as harness

pytestmark = pytest.mark.gui


def records(harness: Harness, event: str) -> list[str]:
    lines = (harness.ledger.parent / "Clients.jsonl").read_text(encoding="utf-8").splitlines()
    return [r["file"] for r in map(json.loads, lines) if r["event"] == event]


def test_a_folder_of_1000_files_added_while_serving_taken_whole_one_and_declined(
        harness: Harness, tk_root: tk.Tk, tmp_path: Path) -> None:
    data = tmp_path / "share" / "Data"
    for n in range(1000):
        (data / f"set {n // 100}").mkdir(parents=True, exist_ok=True)
        (data / f"set {n // 100}" / f"{n:04d}.bin").write_bytes(os.urandom(1000 + n))
    first = harness.file("notes.txt", b"notes")
    dialogs = FakeDialogs(folders=[str(data)])
    server = harness.open([first], dialogs=dialogs, toplevel=True)
    port = harness.serving(server)
    server.offer_panel.folder_button.invoke()  # Add folder… while serving
    pump_until(tk_root, lambda: len(server.offer.state.files) == 1001
               and all(f.sha256 for f in server.offer.state.files), timeout=60,
               what="the folder offered and hashed")
    address = f"127.0.0.1:{port}"
    for folder in ("all", "one", "no"):
        (tmp_path / folder).mkdir()

    everything = make_window(tk.Toplevel(tk_root), tmp_path / "all")
    connect(tk_root, everything, address)
    everything.file_panel.all_button.invoke()
    assert everything.file_panel.answer.startswith("1,001 files, ")
    everything.file_panel.yes_button.invoke()
    try:
        pump_until(tk_root, lambda: finished(everything)
                   and "Downloaded 1,001 of 1,001 files" in everything.file_panel.answer,
                   timeout=60, what="all of it")
    except AssertionError:
        panel = everything.download_panel
        raise AssertionError(f"{everything.stage}: {everything.file_panel.answer!r}"
                             f" {panel.progress_label.cget('text')!r} {everything.error!r}"
                             f" {panel.progress_bar.cget('value')}") from None
    assert same_tree(data, tmp_path / "all" / "Data") and everything.error == ""

    one = make_window(tk.Toplevel(tk_root), tmp_path / "one")
    connect(tk_root, one, address)
    ask(tk_root, one, "Data/set 3/0342.bin")
    assert one.file_panel.answer == "File exists, 1,342 bytes (1.3 KB). Download?"
    one.file_panel.yes_button.invoke()
    pump_until(tk_root, lambda: finished(one), what="the one file")
    assert (tmp_path / "one" / "Data" / "set 3" / "0342.bin").read_bytes() == \
        (data / "set 3" / "0342.bin").read_bytes()

    declining = make_window(tk.Toplevel(tk_root), tmp_path / "no")
    connect(tk_root, declining, address)
    declining.file_panel.all_button.invoke()
    declining.file_panel.no_button.invoke()
    pump_until(tk_root, lambda: "You declined 1,001 files" in declining.file_panel.answer,
               timeout=60, what="the decline")

    def settled() -> bool:
        return len(records(harness, "verified")) == 1002 \
            and len(records(harness, "declined")) == 1001
    pump_until(tk_root, settled, timeout=60, what="every line in the ledger")
    verified = records(harness, "verified")
    assert len(set(verified)) == 1001 and verified.count("Data/set 3/0342.bin") == 2
    assert sorted(records(harness, "declined")) == sorted(set(verified))
    assert not records(harness, "flooded")  # no decline summed away
