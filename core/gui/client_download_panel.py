"""The client window's third step: where files go, the progress of one download, its end."""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from pathlib import Path
from tkinter import ttk

from core.events import DownloadProgress, DownloadRechecking, DownloadRetrying, DownloadStarted
from core.gui.style import PAD, SMALL_PAD, clip, clip_name, wrap_to_width
from core.wire import sentences
from core.wire.units import human_duration, human_rate, human_size

IDLE = "A file that is already there is never overwritten: the new one gets a number."


def progress_text(received: int, size: int, rate: float, seconds_left: float | None,
                  files: tuple[int | None, int | None] = (None, None)) -> str:
    """``4.2 MB of 10.0 MB (42%) · 3.1 MB/s · 2 s left``, with ``· 37 of 120 files``
    for files taken at once."""
    percent = received * 100 // size if size else 100
    left = human_duration(seconds_left)
    done, count = files
    counted = f"  ·  {done:,} of {sentences.file_count(count)}" if count else ""
    return (f"{human_size(received)} of {human_size(size)} ({percent}%)  ·  {human_rate(rate)}"
            f"  ·  {left} left{counted}")


def saved_text(path: Path, size: int, verified: bool, wanted: str | None) -> str:
    """Where the file is, whether it was renamed, and whether its digest was checked."""
    lines = [f"Saved to {clip(str(path), 300)} ({human_size(size)})."]
    if wanted is not None and wanted != path.name:
        lines.append(f"'{clip(wanted)}' already existed in that folder, so it was not"
                     f" overwritten: the new file is '{clip_name(path.name)}'.")
    if verified:
        lines.append("Its SHA-256 was verified: it is exactly the file the server offers.")
    else:
        lines.append("The server published no SHA-256, so the file could not be verified.")
    return "\n".join(lines)


class DownloadPanel(ttk.LabelFrame):
    """Folder with Change…, a determinate progress bar, Cancel/Retry, the result, Open folder."""

    def __init__(self, master: tk.Misc, *, on_change_folder: Callable[[], None],
                 on_cancel: Callable[[], None], on_retry: Callable[[], None],
                 on_open_folder: Callable[[], None]) -> None:
        super().__init__(master, text="3. Download", padding=PAD, style="Section.TLabelframe")
        self.folder_caption = ttk.Label(self, text="Save in:")
        self.folder_label = ttk.Label(self, text="", wraplength=440)
        self.change_button = ttk.Button(self, text="Change…", command=on_change_folder)
        self.progress_bar = ttk.Progressbar(self, mode="determinate", maximum=1, value=0,
                                            style="Filecast.Horizontal.TProgressbar")
        self.progress_label = ttk.Label(self, text=IDLE, style="Muted.TLabel", wraplength=440)
        buttons = ttk.Frame(self)
        self.cancel_button = ttk.Button(buttons, text="Cancel", command=on_cancel)
        self.retry_button = ttk.Button(buttons, text="Retry", command=on_retry)
        self.result_label = ttk.Label(self, text="", style="Good.TLabel", wraplength=440,
                                      justify="left")
        self.open_button = ttk.Button(self, text="Open folder", command=on_open_folder)

        self.folder_caption.grid(row=0, column=0, sticky="w", padx=(0, SMALL_PAD))
        self.folder_label.grid(row=0, column=1, sticky="ew")
        self.change_button.grid(row=0, column=2, sticky="e", padx=(PAD, 0))
        self.progress_bar.grid(row=1, column=0, columnspan=3, sticky="ew", pady=(PAD, 0))
        self.progress_label.grid(row=2, column=0, columnspan=2, sticky="ew",
                                 pady=(SMALL_PAD, 0))
        buttons.grid(row=2, column=2, sticky="ne", padx=(PAD, 0), pady=(SMALL_PAD, 0))
        self.cancel_button.grid(row=0, column=0)
        self.retry_button.grid(row=0, column=1)
        self.result_label.grid(row=3, column=0, columnspan=2, sticky="ew", pady=(PAD, 0))
        self.open_button.grid(row=3, column=2, sticky="ne", padx=(PAD, 0), pady=(PAD, 0))
        self.columnconfigure(1, weight=1)
        for label in (self.folder_label, self.progress_label, self.result_label):
            wrap_to_width(label)
        self._file = ""
        self._checks = 0  # DownloadVerifying events of this download
        self._rechecking = False  # a resume is still re-reading its part
        for widget in (self.progress_bar, self.cancel_button, self.retry_button,
                       self.result_label, self.open_button):
            widget.grid_remove()

    @property
    def status(self) -> str:
        """The progress line."""
        return str(self.progress_label.cget("text"))

    @property
    def result(self) -> str:
        """The result text (empty until a download ends well)."""
        return str(self.result_label.cget("text"))

    def set_folder(self, folder: Path) -> None:
        """Show the download folder."""
        self.folder_label.configure(text=clip(str(folder), 300))

    def clear_result(self) -> None:
        """Take away the last download's result (an error replaces it: issue 11)."""
        self.result_label.configure(text="")
        self.result_label.grid_remove()
        self.open_button.grid_remove()

    def start(self, name: str, *, resuming: bool = False) -> None:
        """A download begins; ``resuming`` (Retry) keeps the bar at what is saved, so a
        server still away does not empty it (issue 11)."""
        self._file, self._checks, self._rechecking = name, 0, False
        if not resuming:
            self.progress_bar.configure(maximum=1, value=0)
        self.progress_bar.grid()
        self.progress_label.configure(text=f"Starting the download of '{clip_name(name)}'…",
                                      style="TLabel")
        self.result_label.configure(text="")
        self.result_label.grid_remove()
        self.open_button.grid_remove()
        self.retry_button.grid_remove()
        self.cancel_button.grid()
        self.cancel_button.configure(state="normal")
        self.change_button.configure(state="disabled")

    def started(self, event: DownloadStarted) -> None:
        """The body is coming; say so when it resumes a partial download."""
        self.progress_bar.configure(maximum=max(1, event.size), value=event.resumed_from)
        if event.resumed_from:
            self.progress_label.configure(
                text=f"Resuming '{clip_name(event.file)}' at {human_size(event.resumed_from)} of"
                     f" {human_size(event.size)}…", style="TLabel")

    def rechecking(self, event: DownloadRechecking) -> None:
        """A resume re-reads the part it keeps into the SHA-256; while it does, that is
        what holds the download up, so it is what the line says (the bar stays)."""
        self._rechecking = event.done < event.total
        self.progress_label.configure(
            text=f"{sentences.rechecking(event.done, event.total)}…", style="TLabel")

    def progress(self, event: DownloadProgress) -> None:
        """Bytes, speed and time left."""
        self.progress_bar.configure(maximum=max(1, event.size), value=event.received)
        if self._rechecking:
            return
        self.progress_label.configure(
            text=progress_text(event.received, event.size, event.bytes_per_second,
                               event.seconds_left, (event.files_done, event.files)),
            style="TLabel")

    def retrying(self, event: DownloadRetrying) -> None:
        """The connection broke; the engine tries again by itself."""
        reason = clip(event.reason, 200)
        stop = "" if reason.endswith((".", "?", "!", "…")) else "."
        self.progress_label.configure(
            text=f"The connection was lost: {reason}{stop} Trying again in {event.delay:g} s"
                 f" ({sentences.attempt(event.attempt, event.limit)})…",
            style="Muted.TLabel")

    def verifying(self) -> None:
        """All bytes are in; the digest is being checked. Another DownloadVerifying after
        that means the engine waits for a server still computing its SHA-256 (issue 9)."""
        self._checks += 1
        self.progress_bar.configure(value=float(self.progress_bar.cget("maximum")))
        text = ("All bytes are in; checking the SHA-256…" if self._checks == 1 else
                "All bytes are in; waiting for the server to confirm its SHA-256…")
        self.progress_label.configure(text=text, style="TLabel")

    def cancelling(self) -> None:
        """Cancel was pressed; the engine is stopping."""
        self.cancel_button.configure(state="disabled")
        self.progress_label.configure(text="Cancelling…", style="Muted.TLabel")

    def done(self, path: Path, size: int, verified: bool, wanted: str | None) -> None:
        """The file is saved: where, under which name, verified or not."""
        self.progress_bar.configure(maximum=max(1, size), value=max(1, size))
        self.progress_label.configure(text=f"Download of '{clip_name(self._file)}' complete.",
                                      style="TLabel")
        self.result_label.configure(text=saved_text(path, size, verified, wanted),
                                    style="Good.TLabel" if verified else "TLabel")
        self.cancel_button.grid_remove()
        self.result_label.grid()
        self.open_button.grid()
        self.change_button.configure(state="normal")

    def done_many(self, folder: Path, count: int, size: int, renamed: str = "") -> None:
        """Files of a selection taken at once are saved and verified, in their folders;
        ``renamed`` says which were saved under new names (nothing is overwritten)."""
        self.progress_bar.configure(maximum=max(1, size), value=max(1, size))
        self.progress_label.configure(text=f"Download of '{clip_name(self._file)}' complete.",
                                      style="TLabel")
        self.result_label.configure(
            text=f"Saved {sentences.file_count(count)} in {clip(str(folder), 300)}"
                 f" ({human_size(size)}), in their folders. Each one's SHA-256 was verified:"
                 " they are exactly the files the server offers."
                 + (f"\n{clip(renamed, 400)}" if renamed else ""), style="Good.TLabel")
        self.cancel_button.grid_remove()
        self.result_label.grid()
        self.open_button.grid()
        self.change_button.configure(state="normal")

    def stopped(self, *, resumable: bool) -> None:
        """The download ended short; Retry resumes it (the sentence is in the error area)."""
        done, size = (int(float(self.progress_bar.cget(k))) for k in ("value", "maximum"))
        where = f" at {human_size(done)} of {human_size(size)}" if size > 1 else ""
        self.progress_label.configure(
            text=f"The download of '{clip_name(self._file)}' stopped{where}."
                 + (" Retry resumes it." if resumable else ""),
            style="Muted.TLabel")
        self.cancel_button.grid_remove()
        self.change_button.configure(state="normal")
        self.show_retry(resumable)

    def changed(self) -> None:
        """The server sent another version than the one said yes to: nothing of it is kept,
        and the question above asks again (issue 9)."""
        self.progress_bar.configure(value=0)
        self.progress_label.configure(
            text="Not downloaded: the server now has another version of"
                 f" '{clip_name(self._file)}'.",
            style="Muted.TLabel")
        self.cancel_button.grid_remove()
        self.change_button.configure(state="normal")
        self.show_retry(False)

    def show_retry(self, shown: bool, *, enabled: bool = True) -> None:
        """Offer (or withdraw) Retry."""
        if shown:
            self.retry_button.grid()
            self.retry_button.configure(state="normal" if enabled else "disabled")
        else:
            self.retry_button.grid_remove()
