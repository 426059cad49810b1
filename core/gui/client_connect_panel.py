"""The client window's first step: which server to visit (a remembered address and Connect),
and the name the person gives it (issue 11: remembered, self-declared)."""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable, Sequence
from tkinter import ttk

from core.gui.style import PAD, SMALL_PAD, clip, wrap_to_width
from core.wire.protocol import MAX_CLIENT_NAME_BYTES

# The same form the server window shows and offers to copy (issue 11: it showed
# http://192.0.2.2:5001/ while this said 192.168.1.20:5001).
EXAMPLE_ADDRESS = "http://192.168.1.20:5001/"
HINT = f"Type or paste the address the server shows, like {EXAMPLE_ADDRESS}, and press Enter."
NAME_HINT = "Shown to the server; anyone can type any name."
# X-Filecast-Client-Name carries at most 200 bytes (a server ignores a longer one): the window
# sends at most 200 characters, and protocol.encode_client_name cuts those at 200 bytes.
NAME_LIMIT = MAX_CLIENT_NAME_BYTES


class ConnectPanel(ttk.LabelFrame):
    """Address field (a combobox of recent servers), the person's name, Connect, Disconnect
    and a status line. Enter in either field connects."""

    def __init__(self, master: tk.Misc, *, on_connect: Callable[[str], None],
                 on_disconnect: Callable[[], None]) -> None:
        super().__init__(master, text="1. Server", padding=PAD, style="Section.TLabelframe")
        self._on_connect = on_connect
        self.host_label = ttk.Label(self, text="Address:")
        self.host_box = ttk.Combobox(self, width=36)
        # Made after the address and before Connect: Tab goes address, name, Connect.
        self.name_label = ttk.Label(self, text="Your name:")
        self.name_entry = ttk.Entry(self, width=36)
        self.connect_button = ttk.Button(self, text="Connect", command=self._connect)
        self.disconnect_button = ttk.Button(self, text="Disconnect", command=on_disconnect)
        self.name_hint = ttk.Label(self, text=NAME_HINT, style="Muted.TLabel")
        self.status_label = ttk.Label(self, text=HINT, style="Muted.TLabel", wraplength=560)

        self.host_label.grid(row=0, column=0, sticky="w", padx=(0, SMALL_PAD))
        self.host_box.grid(row=0, column=1, sticky="ew")
        self.connect_button.grid(row=0, column=2, padx=(PAD, 0))
        self.disconnect_button.grid(row=0, column=3, padx=(SMALL_PAD, 0))
        self.name_label.grid(row=1, column=0, sticky="w", padx=(0, SMALL_PAD),
                             pady=(SMALL_PAD, 0))
        self.name_entry.grid(row=1, column=1, sticky="ew", pady=(SMALL_PAD, 0))
        self.name_hint.grid(row=2, column=1, columnspan=3, sticky="ew")
        self.status_label.grid(row=3, column=0, columnspan=4, sticky="ew", pady=(PAD, 0))
        self.columnconfigure(1, weight=1)
        wrap_to_width(self.name_hint)
        wrap_to_width(self.status_label)

        for field in (self.host_box, self.name_entry):
            field.bind("<Return>", self._on_return)
            field.bind("<KP_Enter>", self._on_return)

    @property
    def host_text(self) -> str:
        """What the address field holds."""
        return self.host_box.get().strip()

    def set_host(self, text: str) -> None:
        """Put ``text`` in the address field."""
        self.host_box.delete(0, "end")
        self.host_box.insert(0, text)

    @property
    def name_text(self) -> str:
        """What the name field holds, without surrounding blanks (what is remembered)."""
        return self.name_entry.get().strip()

    @property
    def display_name(self) -> str | None:
        """The name to send: the field's text cut to NAME_LIMIT characters, None when empty
        (the server then knows the client by its address only)."""
        return self.name_text[:NAME_LIMIT].strip() or None

    def set_name(self, text: str) -> None:
        """Put ``text`` in the name field."""
        self.name_entry.delete(0, "end")
        self.name_entry.insert(0, text)

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
             lost_since: str | None = None, retry_in: int | None = None) -> None:
        """Render one state: idle, connecting to an address, connected to one, or visiting
        one that stopped answering at ``lost_since`` (never "Connected" then: issue 11)."""
        if connected is not None and lost_since is not None:
            then = ("Retry tries it again." if retry_in is None else
                    f"Trying again in {retry_in} s…" if retry_in else "Trying again now…")
            self.status_label.configure(
                text=f"The server at {clip(connected)} stopped answering at {lost_since}."
                f" {then}", style="Bad.TLabel")
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
        self.name_entry.configure(state="normal" if editable else "disabled")
        self.connect_button.configure(state="normal" if editable else "disabled")
        can_leave = connected is not None or connecting is not None
        self.disconnect_button.configure(state="normal" if can_leave and not busy else "disabled")

    def _connect(self) -> None:
        self._on_connect(self.host_text)

    def _on_return(self, _event: tk.Event) -> str:
        if str(self.connect_button.cget("state")) != "disabled":
            self._connect()
        return "break"
