"""The client window's second step: the server's message, a file name, Check, then Yes or No."""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable, Sequence
from functools import partial
from tkinter import ttk

from core.gui.style import PAD, SMALL_PAD, clip_message, clip_name, wrap_to_width
from core.wire import sentences
from core.wire.escaping import quoted
from core.wire.protocol import FileInfo
from core.wire.units import human_size

NOT_CONNECTED = "Connect to a server to see its message and ask for a file."
MESSAGE_LIMIT = 400  # characters of the server's greeting shown
MESSAGE_LINES = 6
MAX_FILE_BUTTONS = 4  # a button each; more are named in the greeting (issue 12 lists them)


def question(size: int) -> str:
    """``File exists, 11 bytes (11 B). Download?`` (core.wire.sentences)."""
    return sentences.ask_window(size)


class FilePanel(ttk.LabelFrame):
    """The greeting, the name field with Check, and the answer line with Yes and No."""

    def __init__(self, master: tk.Misc, *, on_check: Callable[[str], None],
                 on_yes: Callable[[], None], on_no: Callable[[], None],
                 on_many: Callable[[list[str]], None] | None = None) -> None:
        super().__init__(master, text="2. File", padding=PAD, style="Section.TLabelframe")
        self._on_check = on_check
        self._on_many = on_many or (lambda _names: None)
        self._offered: list[str] = []
        self.message_label = ttk.Label(self, text=NOT_CONNECTED, style="Muted.TLabel",
                                       wraplength=560, justify="left")
        self.name_label = ttk.Label(self, text="File name:")
        self.name_entry = ttk.Entry(self, width=36)
        self.check_button = ttk.Button(self, text="Check", command=self._check)
        answer = ttk.Frame(self)
        self.answer_label = ttk.Label(answer, text="", wraplength=400, justify="left")
        self.yes_button = ttk.Button(answer, text="Yes", underline=0, command=on_yes)
        self.no_button = ttk.Button(answer, text="No", underline=0, command=on_no)

        # The offered files, one button each: a click puts the name in the field, where it
        # can be selected and copied (issue 11: the greeting's names could not be copied).
        self.files_label = ttk.Label(self, text="Offered:")
        self.files_frame = ttk.Frame(self)
        self.file_buttons: list[ttk.Button] = []
        # Many files (a folder): a list to pick one (it fills the name) or several, and
        # one question for them (issue 12).
        self.list_frame = ttk.Frame(self.files_frame)
        self.files_list = ttk.Treeview(self.list_frame, columns=("name", "size"),
                                       show="headings", selectmode="extended",
                                       height=5 if self.winfo_screenheight() >= 700 else 3)
        scrollbar = ttk.Scrollbar(self.list_frame, orient="vertical",
                                  command=self.files_list.yview)
        self.files_list.configure(yscrollcommand=scrollbar.set)
        self.files_list.pack(side="left", fill="both", expand=True)
        scrollbar.pack(side="left", fill="y")
        self.files_list.heading("name", text="Name", anchor="w")
        self.files_list.heading("size", text="Size", anchor="e")
        self.files_list.column("name", width=440, stretch=True)
        self.files_list.column("size", width=90, stretch=False, anchor="e")
        self.files_list.bind("<<TreeviewSelect>>", self._list_selected)
        self.many_frame = ttk.Frame(self.files_frame)
        self.all_button = ttk.Button(self.many_frame, text="All files…",
                                     command=lambda: self._on_many(list(self._offered)))
        self.selected_button = ttk.Button(self.many_frame, text="Selected files…",
                                          command=lambda: self._on_many(self.selected()))
        self.all_button.pack(side="left")
        self.selected_button.pack(side="left", padx=(SMALL_PAD, 0))

        self.message_label.grid(row=0, column=0, columnspan=3, sticky="ew", pady=(0, PAD))
        self.files_label.grid(row=1, column=0, sticky="w", padx=(0, SMALL_PAD), pady=(0, PAD))
        self.files_frame.grid(row=1, column=1, columnspan=2, sticky="w", pady=(0, PAD))
        self.name_label.grid(row=2, column=0, sticky="w", padx=(0, SMALL_PAD))
        self.name_entry.grid(row=2, column=1, sticky="ew")
        self.check_button.grid(row=2, column=2, padx=(PAD, 0))
        answer.grid(row=3, column=0, columnspan=3, sticky="ew", pady=(PAD, 0))
        self.answer_label.grid(row=0, column=0, sticky="ew")
        self.yes_button.grid(row=0, column=1, padx=(PAD, 0))
        self.no_button.grid(row=0, column=2, padx=(SMALL_PAD, 0))
        answer.columnconfigure(0, weight=1)
        self.columnconfigure(1, weight=1)
        wrap_to_width(self.message_label)
        wrap_to_width(self.answer_label)
        self._show_buttons(False)
        self.show_files([])

        self.name_entry.bind("<Return>", self._on_return)
        self.name_entry.bind("<KP_Enter>", self._on_return)
        self.enable(False)

    @property
    def file_name(self) -> str:
        """The name typed, without surrounding spaces."""
        return self.name_entry.get().strip()

    @property
    def answer(self) -> str:
        """The text of the answer line."""
        return str(self.answer_label.cget("text"))

    def enable(self, name: bool, *, asking: bool = False) -> None:
        """Whether the name can be typed and checked; whether Yes and No are live."""
        self.name_entry.configure(state="normal" if name else "disabled")
        self.check_button.configure(state="normal" if name else "disabled")
        for button in (*self.file_buttons, self.all_button, self.selected_button):
            button.configure(state="normal" if name else "disabled")
        self.files_list.state(["!disabled"] if name else ["disabled"])
        self._show_buttons(asking)

    def show_offer(self, message: str) -> None:
        """The server's greeting (the original "Enter 'test.txt' when prompted...")."""
        # A greeting is a line or a few sentences; more would push the controls off screen.
        text = (clip_message(message, MESSAGE_LIMIT, MESSAGE_LINES) if message.strip()
                else "The server sent no message.")
        self.message_label.configure(text=text, style="TLabel")
        self.say("")

    def show_files(self, files: Sequence[FileInfo]) -> None:
        """A button per offered file when there are a few, each filling the name field; a
        list when there are more; "All files…" and "Selected files…" for several."""
        for button in self.file_buttons:
            button.destroy()
        self.file_buttons = []
        self._offered = [info.name for info in files]
        self.files_list.delete(*self.files_list.get_children())
        self.list_frame.grid_remove()
        if len(files) <= MAX_FILE_BUTTONS:
            for column, info in enumerate(files):
                button = ttk.Button(self.files_frame, text=f"{clip_name(info.name, 40)} ·"
                                    f" {human_size(info.size)}",
                                    command=partial(self.pick, info.name))
                button.grid(row=0, column=column, padx=(0, SMALL_PAD))
                self.file_buttons.append(button)
        else:
            for index, info in enumerate(files):
                self.files_list.insert("", "end", iid=str(index),
                                       values=(clip_name(info.name, 80), human_size(info.size)))
            self.list_frame.grid(row=0, column=0, columnspan=MAX_FILE_BUTTONS, sticky="ew")
        if len(files) <= MAX_FILE_BUTTONS:
            self.selected_button.pack_forget()  # the buttons each take one file
        else:
            self.selected_button.pack(side="left", padx=(SMALL_PAD, 0))
        if len(files) > 1:
            self.many_frame.grid(row=1, column=0, columnspan=MAX_FILE_BUTTONS, sticky="w",
                                 pady=(SMALL_PAD, 0))
        else:
            self.many_frame.grid_remove()
        shown = bool(files)
        for widget in (self.files_label, self.files_frame):
            if shown:
                widget.grid()
            else:
                widget.grid_remove()

    def selected(self) -> list[str]:
        """The names selected in the list, in the offer's order."""
        return [self._offered[int(iid)] for iid in self.files_list.selection()]

    def _list_selected(self, _event: object) -> None:
        """One row: its name in the field, as a button would; several: none."""
        chosen = self.selected()
        if len(chosen) == 1:
            self.set_name(chosen[0])

    def ask_many(self, count: int, size: int, warning: str | None = None) -> None:
        """Several files chosen: one question for all of them; Yes has the focus."""
        question_text = sentences.ask_many_window(count, size)
        self.say(f"{warning}\n{question_text}" if warning else question_text,
                 "Bad.TLabel" if warning else "Heading.TLabel")
        self._show_buttons(True)
        self.yes_button.focus_set()

    def pick(self, name: str) -> None:
        """An offered file's button: its name in the field, selected, ready for Enter."""
        if str(self.name_entry.cget("state")) == "disabled":
            return
        self.set_name(name)
        self.focus_name()

    def show_disconnected(self) -> None:
        """Back to the state before any visit."""
        self.message_label.configure(text=NOT_CONNECTED, style="Muted.TLabel")
        self.show_files([])
        self.say("")
        self.enable(False)

    def focus_name(self) -> None:
        """Put the cursor in the name field with its text selected."""
        self.name_entry.focus_set()
        self.name_entry.selection_range(0, "end")
        self.name_entry.icursor("end")

    def checking(self, name: str) -> None:
        """A question is on its way."""
        self.say(f"Asking the server about '{clip_name(name)}'…", "Muted.TLabel")

    def ask(self, size: int, warning: str | None = None) -> None:
        """The file exists: ask whether to download it (after a warning, such as too little
        room in the folder); Yes has the focus."""
        self.say(f"{warning}\n{question(size)}" if warning else question(size),
                 "Bad.TLabel" if warning else "Heading.TLabel")
        self._show_buttons(True)
        self.yes_button.focus_set()

    def not_found(self, suggestion: str | None = None) -> None:
        """The original answer, inline and red; with a near miss, the name it was closest
        to goes in the field, so Check (or Enter) asks for it (issue 11)."""
        if suggestion is None:
            self.say(sentences.NOT_OFFERED, "Bad.TLabel")
            return
        self.say(f"{sentences.NOT_OFFERED} {sentences.did_you_mean(quoted(clip_name(suggestion)))}"
                 " Check asks for it.", "Bad.TLabel")
        self.set_name(suggestion)

    def set_name(self, name: str) -> None:
        """Put ``name`` in the name field."""
        self.name_entry.delete(0, "end")
        self.name_entry.insert(0, name)

    def say(self, text: str, style: str = "TLabel") -> None:
        """Show ``text`` on the answer line; Yes and No go away."""
        self.answer_label.configure(text=text, style=style)
        self._show_buttons(False)

    def _show_buttons(self, shown: bool) -> None:
        for button in (self.yes_button, self.no_button):
            if shown:
                button.grid()
                button.configure(state="normal")
            else:
                button.grid_remove()

    def _check(self) -> None:
        self._on_check(self.file_name)

    def _on_return(self, _event: tk.Event) -> str:
        if str(self.check_button.cget("state")) != "disabled":
            self._check()
        return "break"
