"""The client window's first step: which server to visit (a remembered address and Connect)."""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable, Sequence
from tkinter import ttk

from core.gui.style import PAD, SMALL_PAD, clip, wrap_to_width

# The same form the server window shows and offers to copy (issue 11: it showed
# http://192.0.2.2:5001/ while this said 192.168.1.20:5001).
EXAMPLE_ADDRESS = "http://192.168.1.20:5001/"
HINT = f"Type or paste the address the server shows, like {EXAMPLE_ADDRESS}, and press Enter."


class ConnectPanel(ttk.LabelFrame):
    """Address field (a combobox of recent servers), Connect, Disconnect and a status line."""

    def __init__(self, master: tk.Misc, *, on_connect: Callable[[str], None],
                 on_disconnect: Callable[[], None]) -> None:
        super().__init__(master, text="1. Server", padding=PAD, style="Section.TLabelframe")
        self._on_connect = on_connect
        self.host_label = ttk.Label(self, text="Address:")
        self.host_box = ttk.Combobox(self, width=36)
        self.connect_button = ttk.Button(self, text="Connect", command=self._connect)
        self.disconnect_button = ttk.Button(self, text="Disconnect", command=on_disconnect)
        self.status_label = ttk.Label(self, text=HINT, style="Muted.TLabel", wraplength=560)

        self.host_label.grid(row=0, column=0, sticky="w", padx=(0, SMALL_PAD))
        self.host_box.grid(row=0, column=1, sticky="ew")
        self.connect_button.grid(row=0, column=2, padx=(PAD, 0))
        self.disconnect_button.grid(row=0, column=3, padx=(SMALL_PAD, 0))
        self.status_label.grid(row=1, column=0, columnspan=4, sticky="ew", pady=(SMALL_PAD, 0))
        self.columnconfigure(1, weight=1)
        wrap_to_width(self.status_label)

        self.host_box.bind("<Return>", self._on_return)
        self.host_box.bind("<KP_Enter>", self._on_return)

    @property
    def host_text(self) -> str:
        """What the address field holds."""
        return self.host_box.get().strip()

    def set_host(self, text: str) -> None:
        """Put ``text`` in the address field."""
        self.host_box.delete(0, "end")
        self.host_box.insert(0, text)

    def set_recent(self, hosts: Sequence[str]) -> None:
        """The addresses offered in the drop-down, most recent first."""
        self.host_box.configure(values=list(hosts))

    def focus_host(self) -> None:
        """Put the cursor in the address field with its text selected."""
        self.host_box.focus_set()
        self.host_box.selection_range(0, "end")
        self.host_box.icursor("end")

    def show(self, *, connecting: str | None = None, connected: str | None = None,
             server_name: str | None = None, busy: bool = False,
             lost_since: str | None = None) -> None:
        """Render one state: idle, connecting to an address, connected to one, or visiting
        one that stopped answering at ``lost_since`` (never "Connected" then: issue 11)."""
        if connected is not None and lost_since is not None:
            self.status_label.configure(
                text=f"The server at {clip(connected)} stopped answering at {lost_since}."
                " Retry tries it again.", style="Bad.TLabel")
        elif connecting is not None:
            self.status_label.configure(text=f"Connecting to {clip(connecting)}…",
                                        style="Muted.TLabel")
        elif connected is not None:
            who = f" (“{clip(server_name, 60)}”)" if server_name else ""
            self.status_label.configure(text=f"Connected to {clip(connected)}{who}.",
                                        style="Good.TLabel")
        else:
            self.status_label.configure(text=HINT, style="Muted.TLabel")
        editable = not busy and connecting is None
        self.host_box.configure(state="normal" if editable else "disabled")
        self.connect_button.configure(state="normal" if editable else "disabled")
        can_leave = connected is not None or connecting is not None
        self.disconnect_button.configure(state="normal" if can_leave and not busy else "disabled")

    def _connect(self) -> None:
        self._on_connect(self.host_text)

    def _on_return(self, _event: tk.Event) -> str:
        if str(self.connect_button.cget("state")) != "disabled":
            self._connect()
        return "break"
