"""The server window's "Offered files" panel: the offer at a glance (the file's name, size
and SHA-256; for several, how many and how big), adding files or a folder, and the message.

Pure view: it shows what the window hands it (OfferedFileView, hashing progress) and reports
the person's actions through callbacks; it never touches the engine.
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable, Sequence
from tkinter import ttk

from core.events import OfferedFileView
from core.gui.style import PAD, SMALL_PAD, clip_name, font_spec, mono_font
from core.wire.units import exact_bytes, human_size

EMPTY_TEXT = "Choose what to distribute"
EMPTY_HINT = ("Pick the files, or a folder, everyone should receive. Clients can connect as"
              " soon as they are offered; the People tab below shows who took them.")


def size_text(size: int) -> str:
    """``1.2 MB (1,234,567 bytes)``; small files need no repetition (``11 bytes``)."""
    if size < 1000:
        return exact_bytes(size)
    return f"{human_size(size)} ({exact_bytes(size)})"


def set_title(files: Sequence[OfferedFileView]) -> str:
    """``Week 12/ · 7 files`` when one folder holds them all, else ``7 files``."""
    tops = {f.name.split("/", 1)[0] for f in files if "/" in f.name}
    count = f"{len(files):,} files"
    if len(tops) == 1 and all("/" in f.name for f in files):
        return f"{clip_name(tops.pop(), 36)}/ · {count}"
    return count


class OfferPanel(ttk.Frame):
    """Either the big "Choose a file to distribute" prompt or the offered file's details."""

    def __init__(self, master: tk.Misc, *, on_choose: Callable[[], None],
                 on_folder: Callable[[], None], on_message: Callable[[str], None]) -> None:
        super().__init__(master)
        self._on_message = on_message
        self._applied_message = ""
        self.columnconfigure(0, weight=1)
        self.rowconfigure(0, weight=1)
        self._build_empty(on_choose, on_folder)
        self._build_details(on_choose, on_folder)
        self.show_empty()

    # --- building --------------------------------------------------------------------

    def _build_empty(self, on_choose: Callable[[], None],
                     on_folder: Callable[[], None]) -> None:
        """The state before any file is offered: one clear thing to do."""
        self.empty = ttk.Frame(self, padding=PAD * 2)
        self.empty_label = ttk.Label(self.empty, text=EMPTY_TEXT, font=font_spec(6, "bold"))
        self.empty_label.grid(row=0, column=0, sticky="w")
        self.empty_hint = ttk.Label(self.empty, text=EMPTY_HINT, style="Muted.TLabel",
                                    wraplength=520, justify="left")
        self.empty_hint.grid(row=1, column=0, sticky="w", pady=(SMALL_PAD, PAD))
        buttons = ttk.Frame(self.empty)
        buttons.grid(row=2, column=0, sticky="w")
        self.empty_button = ttk.Button(buttons, text="Choose files…", command=on_choose,
                                       style="Accent.TButton")
        self.empty_button.pack(side="left")
        self.empty_folder_button = ttk.Button(buttons, text="Choose a folder…",
                                              command=on_folder)
        self.empty_folder_button.pack(side="left", padx=(SMALL_PAD, 0))
        self.empty_error = ttk.Label(self.empty, text="", style="Bad.TLabel", wraplength=520,
                                     justify="left")
        self.empty_error.grid(row=3, column=0, sticky="w", pady=(PAD, 0))

    def _build_details(self, on_choose: Callable[[], None],
                       on_folder: Callable[[], None]) -> None:
        """Name and size, digest, message: a two-column form."""
        self.details = ttk.Frame(self, padding=(SMALL_PAD, SMALL_PAD, SMALL_PAD, PAD))
        d = self.details
        d.columnconfigure(1, weight=1)
        self.name_label = ttk.Label(d, text="", font=font_spec(3, "bold"))
        self.name_label.grid(row=0, column=0, columnspan=2, sticky="w")
        adding = ttk.Frame(d)
        adding.grid(row=0, column=2, sticky="e", padx=(PAD, 0))
        self.choose_button = ttk.Button(adding, text="Add files…", command=on_choose)
        self.choose_button.pack(side="left")
        self.folder_button = ttk.Button(adding, text="Add folder…", command=on_folder)
        self.folder_button.pack(side="left", padx=(SMALL_PAD, 0))

        self._caption(d, "Size", 1)
        self.size_label = ttk.Label(d, text="")
        self.size_label.grid(row=1, column=1, columnspan=2, sticky="w", pady=SMALL_PAD)

        self._caption(d, "SHA-256", 2)
        # No tk.StringVar anywhere: a Variable collected by a worker thread's garbage
        # collection calls into Tk off the main thread.
        mono = mono_font().actual()
        digest_font = (str(mono["family"]), int(mono["size"]) - 1 if int(mono["size"]) > 9
                       else int(mono["size"]))
        self.digest_entry = ttk.Entry(d, state="readonly", font=digest_font, width=66)
        self.digest_entry.grid(row=2, column=1, columnspan=2, sticky="ew", pady=SMALL_PAD)
        self.hash_bar = ttk.Progressbar(d, mode="determinate", maximum=1.0)
        self.hash_label = ttk.Label(d, text="", style="Muted.TLabel")

        self._caption(d, "Message", 3)
        self.message_entry = ttk.Entry(d)
        self.message_entry.grid(row=3, column=1, columnspan=2, sticky="ew", pady=SMALL_PAD)
        self.message_entry.bind("<Return>", self._apply_message)
        self.message_entry.bind("<KP_Enter>", self._apply_message)
        self.message_entry.bind("<FocusOut>", self._apply_message)
        self.message_entry.bind("<Escape>", self._revert_message)
        self.message_hint = ttk.Label(d, text="Shown to every client that connects. Enter "
                                      "applies it; an empty message restores the default.",
                                      style="Muted.TLabel", justify="left")
        self.message_hint.grid(row=4, column=1, columnspan=2, sticky="w")

        self.error_label = ttk.Label(d, text="", style="Bad.TLabel", wraplength=640,
                                     justify="left")
        self.error_label.grid(row=5, column=0, columnspan=3, sticky="w")
        self.error_label.grid_remove()
        d.bind("<Configure>", self._rewrap)

    def _rewrap(self, event: tk.Event[tk.Misc]) -> None:
        """Wrap the notes to the panel's width instead of letting them be cut off."""
        self.message_hint.configure(wraplength=max(200, event.width - 110))
        self.error_label.configure(wraplength=max(200, event.width - 2 * PAD))

    @staticmethod
    def _caption(frame: ttk.Frame, text: str, row: int) -> None:
        ttk.Label(frame, text=text, style="Muted.TLabel").grid(
            row=row, column=0, sticky="w", padx=(0, PAD), pady=SMALL_PAD)

    # --- states ----------------------------------------------------------------------

    def show_empty(self) -> None:
        """Nothing offered yet."""
        self.details.grid_remove()
        self.empty.grid(row=0, column=0, sticky="nsew")

    @property
    def is_empty(self) -> bool:
        """Whether the "Choose a file to distribute" state is showing."""
        return bool(self.empty.winfo_manager())

    def show_files(self, files: Sequence[OfferedFileView]) -> None:
        """Show the (first) offered file; the others are named as a count."""
        if not files:
            self.show_empty()
            return
        self.empty.grid_remove()
        self.details.grid(row=0, column=0, sticky="nsew")
        first = files[0]
        if len(files) > 1:  # several: how many and how big; each is in the Files tab
            hashed = sum(1 for f in files if f.sha256)
            self.name_label.configure(text=set_title(files))
            self.size_label.configure(text=size_text(sum(f.size for f in files)))
            self._set_digest("")
            if hashed < len(files):
                self.show_hash_progress(hashed, len(files), unit="files")
            else:  # in place of one digest, where to find each
                self._hide_progress()
                self.digest_entry.grid_remove()
                self.hash_label.configure(text="Each file's SHA-256 is in the Files tab.")
                self.hash_label.grid(row=2, column=1, columnspan=2, sticky="w", pady=SMALL_PAD)
            return
        self.hash_label.grid_remove()
        self.name_label.configure(text=clip_name(first.name, 48))  # beside two buttons
        self.size_label.configure(text=size_text(first.size))
        if first.sha256:
            self._set_digest(first.sha256)
            self._hide_progress()
        else:
            self._set_digest("")
            self.show_hash_progress(0, first.size)

    def show_hash_progress(self, done: int, total: int, unit: str = "bytes") -> None:
        """The determinate bar under the digest while it is computed (of one file's bytes,
        or of how many files have theirs)."""
        fraction = done / total if total else 0.0
        self.hash_bar.configure(value=fraction)
        of = f"{done:,} of {total:,} files" if unit == "files" else \
            f"{int(fraction * 100)}% of {human_size(total)}"
        self.hash_label.configure(text=f"Computing SHA-256… {of}")
        if not self.hash_bar.winfo_manager():
            self.digest_entry.grid_configure(columnspan=1)
            self.digest_entry.grid_remove()
            self.hash_bar.grid(row=2, column=1, sticky="ew", pady=SMALL_PAD)
            self.hash_label.grid(row=2, column=2, columnspan=1, sticky="w", padx=(PAD, 0))

    def _hide_progress(self) -> None:
        self.hash_bar.grid_remove()
        self.hash_label.grid_remove()
        self.digest_entry.grid(row=2, column=1, columnspan=2, sticky="ew", pady=SMALL_PAD)

    @property
    def hashing(self) -> bool:
        """Whether the progress bar (not the digest) is showing."""
        return bool(self.hash_bar.winfo_manager())

    def show_message(self, message: str) -> None:
        """The message clients get now; left alone while the person is editing it."""
        try:
            focused = self.focus_get()
        except (KeyError, tk.TclError):  # focus in a widget Tkinter does not know
            focused = None
        editing = focused is self.message_entry and self.message != self._applied_message
        self._applied_message = message
        if not editing:
            self._set_message_text(message)

    def show_error(self, sentence: str | None) -> None:
        """A sentence about the last "Choose file…" (None clears it)."""
        text = sentence or ""
        self.empty_error.configure(text=text)
        self.error_label.configure(text=text)
        if text:
            self.error_label.grid()
        else:
            self.error_label.grid_remove()

    # --- actions ---------------------------------------------------------------------

    def _apply_message(self, _event: object = None) -> None:
        text = self.message.strip()
        if text != self._applied_message:
            self._on_message(text)

    def _revert_message(self, _event: object = None) -> None:
        self._set_message_text(self._applied_message)

    # --- reading and writing the entries ---------------------------------------------

    @property
    def digest(self) -> str:
        """The SHA-256 on show ('' while hashing)."""
        return str(self.digest_entry.get())

    @property
    def message(self) -> str:
        """The message field as typed."""
        return str(self.message_entry.get())

    def _set_digest(self, text: str) -> None:
        self.digest_entry.state(["!readonly"])
        self.digest_entry.delete(0, "end")
        self.digest_entry.insert(0, text)
        self.digest_entry.state(["readonly"])

    def _set_message_text(self, text: str) -> None:
        self.message_entry.delete(0, "end")
        self.message_entry.insert(0, text)
