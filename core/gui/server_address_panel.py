"""The server window's "Clients connect at" panel: the URLs, the port, Start and Stop.

Pure view: the window tells it the serving state; the person's clicks come back through
callbacks. A port that is taken is shown as the engine's sentence with the port field open
for another number.
"""

from __future__ import annotations

import enum
import functools
import tkinter as tk
from collections.abc import Callable, Sequence
from tkinter import ttk

from core import DEFAULT_PORT
from core.gui.style import BAD, GOOD, MUTED, PAD, SMALL_PAD


class Serving(enum.Enum):
    """What the panel is showing."""

    NO_FILE = "Serving starts as soon as a file is offered."
    STARTING = "Starting…"
    SERVING = "Serving"
    STOPPING = "Stopping… (cutting off any downloads)"
    STOPPED = "Stopped. Clients cannot connect."


def parse_port(text: str) -> int:
    """The port typed into the field; ValueError with a sentence when it is not one."""
    value = text.strip()
    if not value.isdigit() or not 0 <= int(value) <= 65535:
        raise ValueError(f"'{value}' is not a port. Type a number from 1 to 65535, "
                         f"for example {DEFAULT_PORT}.")
    return int(value)


class AddressPanel(ttk.Frame):
    """URLs with Copy and Open buttons, the state dot, the port field and Start/Stop."""

    def __init__(self, master: tk.Misc, *, port: int, on_toggle: Callable[[], None],
                 on_copy: Callable[[str], None], on_open: Callable[[str], None]) -> None:
        super().__init__(master, padding=(SMALL_PAD, SMALL_PAD, SMALL_PAD, PAD))
        self._on_copy, self._on_open = on_copy, on_open
        self.serving = Serving.NO_FILE
        self.urls: tuple[str, ...] = ()
        self._port_on = 0
        self._connected = 0
        self.columnconfigure(0, weight=1)

        self.url_frame = ttk.Frame(self)
        self.url_frame.grid(row=0, column=0, sticky="new")
        self.url_frame.columnconfigure(0, weight=1)
        self.url_labels: list[ttk.Label] = []
        self.copy_buttons: list[ttk.Button] = []
        self.open_buttons: list[ttk.Button] = []
        self.url_hint = ttk.Label(self.url_frame, text="", style="Muted.TLabel",
                                  wraplength=280, justify="left")

        line = ttk.Frame(self)
        line.grid(row=1, column=0, sticky="ew", pady=(PAD, 0))
        line.columnconfigure(1, weight=1)
        background = ttk.Style(self).lookup("TFrame", "background") or "#dcdad5"
        self.status_dot = tk.Canvas(line, width=12, height=12, highlightthickness=0,
                                    background=background)
        self._dot = self.status_dot.create_oval(1, 1, 11, 11, fill=MUTED, outline="")
        self.status_dot.grid(row=0, column=0, padx=(0, SMALL_PAD))
        self.status_label = ttk.Label(line, text="", wraplength=260, justify="left")
        self.status_label.grid(row=0, column=1, sticky="w")

        controls = ttk.Frame(self)
        controls.grid(row=2, column=0, sticky="ew", pady=(PAD, 0))
        controls.columnconfigure(2, weight=1)
        ttk.Label(controls, text="Port", style="Muted.TLabel").grid(row=0, column=0,
                                                                    padx=(0, SMALL_PAD))
        self.port_spin = ttk.Spinbox(controls, from_=0, to=65535, increment=1, width=7)
        self.port_spin.set(str(port))
        self.port_spin.grid(row=0, column=1, sticky="w")
        self.port_spin.bind("<Return>", lambda _e: self._enter())
        self.port_spin.bind("<KP_Enter>", lambda _e: self._enter())
        self._on_toggle = on_toggle
        self.toggle_button = ttk.Button(controls, text="Start serving", command=on_toggle,
                                        width=14)
        self.toggle_button.grid(row=0, column=3, sticky="e")

        self.error_label = ttk.Label(self, text="", style="Bad.TLabel", wraplength=360,
                                     justify="left")
        self.error_label.grid(row=3, column=0, sticky="w", pady=(PAD, 0))
        self.error_label.grid_remove()
        self.bind("<Configure>", self._rewrap)
        self.show(Serving.NO_FILE)

    # --- states ----------------------------------------------------------------------

    def show(self, state: Serving, *, port: int | None = None, error: str | None = None,
             busy: bool = False) -> None:
        """Switch to ``state``; ``busy`` disables Start/Stop while a job runs."""
        self.serving = state
        text = state.value
        if state is Serving.SERVING and port is not None:
            self._port_on = port
            text = self._serving_text()
        colour = {Serving.SERVING: GOOD, Serving.STOPPED: BAD}.get(state, MUTED)
        if error:
            colour = BAD
        self.status_dot.itemconfigure(self._dot, fill=colour)
        self.status_label.configure(text=text)
        running = state in (Serving.SERVING, Serving.STOPPING)
        self.toggle_button.configure(text="Stop serving" if running else "Start serving")
        enabled = state in (Serving.SERVING, Serving.STOPPED) and not busy
        self.toggle_button.state(["!disabled"] if enabled else ["disabled"])
        editable = state in (Serving.STOPPED, Serving.NO_FILE)
        self.port_spin.state(["!disabled"] if editable else ["disabled"])
        if state is not Serving.SERVING:
            self.show_urls(())
        self.show_error(error)

    def show_urls(self, urls: Sequence[str]) -> None:
        """One line per URL with its Copy button; under them the hint and "Open page" (the
        first address in the browser). One button a line: a second one clipped the
        address itself on a 1024x600 screen."""
        self.urls = tuple(urls)
        for widget in (*self.url_labels, *self.copy_buttons, *self.open_buttons):
            widget.destroy()
        self.url_labels, self.copy_buttons, self.open_buttons = [], [], []
        for row, url in enumerate(self.urls):
            label = ttk.Label(self.url_frame, text=url,
                              style="Url.TLabel" if row == 0 else "TLabel")
            label.grid(row=row, column=0, sticky="w", pady=(0, SMALL_PAD))
            copy = ttk.Button(self.url_frame, text="Copy", width=5,
                              command=functools.partial(self._on_copy, url))
            copy.grid(row=row, column=1, sticky="e", padx=(PAD, 0), pady=(0, SMALL_PAD))
            self.url_labels.append(label)
            self.copy_buttons.append(copy)
        self.url_hint.configure(text="Clients type this address into Filecast Client, "
                                     "or open it in a browser." if self.urls
                                else "No address yet.")
        self.url_hint.grid(row=len(self.urls), column=0, sticky="w")
        if self.urls:
            opener = ttk.Button(self.url_frame, text="Open page",
                                command=functools.partial(self._on_open, self.urls[0]))
            opener.grid(row=len(self.urls), column=1, sticky="ne", padx=(PAD, 0))
            self.open_buttons.append(opener)

    def _serving_text(self) -> str:
        if not self._connected:
            return f"Serving on port {self._port_on}. Waiting for clients…"
        who = "1 client" if self._connected == 1 else f"{self._connected} clients"
        return f"Serving on port {self._port_on} · {who} connected"

    def show_connected(self, count: int) -> None:
        """How many clients are connected now (called once per redraw)."""
        if count != self._connected:
            self._connected = count
            if self.serving is Serving.SERVING:
                self.status_label.configure(text=self._serving_text())

    def show_error(self, sentence: str | None) -> None:
        """The engine's sentence (port taken, bad port); None hides it."""
        self.error_label.configure(text=sentence or "")
        if sentence:
            self.error_label.grid()
        else:
            self.error_label.grid_remove()

    @property
    def error_text(self) -> str:
        """The sentence on show, or ''."""
        return str(self.error_label.cget("text")) if self.error_label.winfo_manager() else ""

    # --- the port --------------------------------------------------------------------

    def port(self) -> int:
        """The port to start on; ValueError with a sentence when the field is not a port."""
        return parse_port(str(self.port_spin.get()))

    def set_port(self, port: int) -> None:
        """Put ``port`` in the field."""
        self.port_spin.set(str(port))

    def _enter(self) -> None:
        """Enter in the port field starts serving when that is what the button offers."""
        if self.serving is Serving.STOPPED and self.toggle_button.instate(["!disabled"]):
            self._on_toggle()

    def _rewrap(self, event: tk.Event[tk.Misc]) -> None:
        width = max(200, event.width - 2 * PAD)
        self.error_label.configure(wraplength=width)
        beside = sum(b.winfo_reqwidth() + PAD for b in self.open_buttons)  # "Open page"
        self.url_hint.configure(wraplength=max(120, width - beside))
        self.status_label.configure(wraplength=max(180, width - 24))
