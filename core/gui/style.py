"""How both windows look: ttk theme, spacing, fonts that follow the screen's DPI, icons."""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from pathlib import Path
from tkinter import font as tkfont
from tkinter import ttk
from typing import Any

from core.wire.escaping import escape_controls, escape_for_display
from core.wire.names import split_extension

ASSETS = Path(__file__).resolve().parents[2] / "assets"
PAD = 8
SMALL_PAD = 4
ICON_SIZES = (16, 32, 48, 64, 128)

GOOD = "#1b7f3b"
BAD = "#b3261e"
MUTED = "#5f6368"
BAR = "#3d7bd9"
TROUGH = "#ebe9e4"


def _bigger(size: int) -> int:
    """One step larger: Tk sizes are points when positive and pixels when negative."""
    return size + 1 if size > 0 else size - 1


def _disabled_first(style: ttk.Style, widget: str, option: str, colour: str
                    ) -> list[tuple[Any, ...]]:
    """The theme's state map for ``option`` with ``colour`` for the disabled state first."""
    kept = [tuple(m) for m in style.map(widget, option) if "disabled" not in m[:-1]]
    return [("disabled", colour), *kept]


def apply_style(root: tk.Tk) -> ttk.Style:
    """A clean theme and named styles; scales with the screen's DPI (high-DPI screens)."""
    dpi = root.winfo_fpixels("1i")
    if dpi > 100:
        root.tk.call("tk", "scaling", dpi / 72.0)
    style = ttk.Style(root)
    if "clam" in style.theme_names() and root.tk.call("tk", "windowingsystem") == "x11":
        style.theme_use("clam")
    base = tkfont.nametofont("TkDefaultFont")
    heading = base.copy()
    heading.configure(weight="bold", size=_bigger(base.cget("size")))
    style.configure("Heading.TLabel", font=heading)
    style.configure("Muted.TLabel", foreground=MUTED)
    style.configure("Good.TLabel", foreground=GOOD)
    style.configure("Bad.TLabel", foreground=BAD)
    style.configure("Status.TLabel", padding=(PAD, SMALL_PAD))
    # Named styles of the server window (other windows may use them too).
    style.configure("Section.TLabelframe.Label", font=heading)
    url = base.copy()
    url.configure(weight="bold", size=_bigger(base.cget("size")))
    style.configure("Url.TLabel", font=url)
    bold = base.copy()
    bold.configure(weight="bold")
    style.configure("Accent.TButton", font=bold, padding=(PAD * 2, SMALL_PAD))
    style.configure("Treeview", rowheight=int(tkfont.nametofont("TkDefaultFont")
                                                  .metrics("linespace") * 1.5))
    # A disabled field must look it: clam keeps it white, and people typed into the file
    # name before connecting with nothing happening.
    for field in ("TEntry", "TCombobox", "TSpinbox"):
        style.map(field,
                  fieldbackground=_disabled_first(style, field, "fieldbackground", TROUGH),
                  foreground=_disabled_first(style, field, "foreground", MUTED))
    # Progress bars people can read: clam's default bar is lighter than its trough.
    style.configure("Filecast.Horizontal.TProgressbar", background=BAR, troughcolor=TROUGH,
                    bordercolor="#a9a49a", lightcolor=BAR, darkcolor=BAR)
    # A tkinter Font deletes its Tk font when garbage-collected, and the styles above would
    # silently fall back to the default font: keep every one alive as long as the root.
    root._filecast_fonts = [heading, url, bold]  # type: ignore[attr-defined]
    root.option_add("*tearOff", False)
    bind_select_all(root)
    return style


def bind_select_all(root: tk.Misc) -> None:
    """Ctrl+A selects everything in a field or text, as people expect (issue 11); Tk's
    X11 default moved the cursor to the line's start (Emacs style)."""
    for widget_class in ("TEntry", "TCombobox", "TSpinbox", "Entry"):
        for key in ("<Control-a>", "<Control-A>"):
            root.bind_class(widget_class, key, _select_all_in_entry)
    for key in ("<Control-a>", "<Control-A>"):
        root.bind_class("Text", key, _select_all_in_text)


def _select_all_in_entry(event: tk.Event[tk.Misc]) -> str:
    widget = event.widget
    if isinstance(widget, (tk.Entry, ttk.Entry)):  # ttk.Combobox and ttk.Spinbox are ttk.Entry
        widget.selection_range(0, "end")
        widget.icursor("end")
    return "break"


def _select_all_in_text(event: tk.Event[tk.Misc]) -> str:
    if isinstance(event.widget, tk.Text):
        event.widget.tag_add("sel", "1.0", "end-1c")
    return "break"


def font_spec(bigger: int = 0, weight: str = "normal") -> tuple[str, int, str]:
    """TkDefaultFont's family, ``bigger`` points larger, as a font description.

    A description, not a ``tkinter.font.Font``: a Font deletes its Tk font in ``__del__``,
    and when a window's reference cycle is collected on a worker thread, that Tcl call comes
    from the wrong thread (seen to abort the process under pytest).
    """
    actual = tkfont.nametofont("TkDefaultFont").actual()
    size = int(actual["size"])
    size = size + bigger if size >= 0 else size - bigger  # negative sizes are pixels
    return (str(actual["family"]), size, weight)


def set_icon(root: tk.Tk, kind: str) -> None:
    """Window icons drawn for this project (assets/filecast-KIND-SIZE.png), when present."""
    images = []
    for size in ICON_SIZES:
        path = ASSETS / f"filecast-{kind}-{size}.png"
        if path.exists():
            images.append(tk.PhotoImage(master=root, file=str(path)))
    if images:
        root.iconphoto(True, *images)
        root._filecast_icons = images  # type: ignore[attr-defined]  # keep them alive


def mono_font() -> tkfont.Font:
    """The fixed-width font for digests and logs."""
    return tkfont.nametofont("TkFixedFont")


def clip(text: str, limit: int = 80) -> str:
    """Make an untrusted name safe to show: controls and bidi marks escaped, long ones cut.

    Guards the layout against hostile names (newlines, right-to-left overrides, 10 KB names).
    """
    shown = escape_for_display(text).replace("\\'", "'")
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def clip_name(name: str, limit: int = 60) -> str:
    """A file name made safe to show and, when long, shortened in the middle so its start,
    its end and its extension stay: ``lecture-07-fourier…-final-v2.pdf`` (issue 11: names
    were cut at the end, hiding the extension)."""
    shown = escape_for_display(name).replace("\\'", "'")
    if len(shown) <= limit:
        return shown
    stem, ext = split_extension(shown)
    if len(ext) > limit // 3:
        stem, ext = shown, ""
    room = limit - len(ext) - 1
    head = (room + 1) // 2
    return f"{stem[:head]}…{stem[len(stem) - (room - head):]}{ext}"


def clip_message(text: str, limit: int = 2000, lines: int = 20) -> str:
    """Like :func:`clip` for a long message meant to wrap: its line breaks are kept.

    Each line is escaped as :func:`clip` does; the whole is cut at ``limit`` characters and
    ``lines`` lines, so a hostile server cannot push the window's controls off the screen.
    """
    return _clip_lines(text, limit, lines, lambda line: clip(line, limit))


def clip_sentence(text: str, limit: int = 400, lines: int = 5) -> str:
    """Like :func:`clip_message` for the program's own sentences, which may quote what a
    server said: only non-printable characters are escaped, so a Windows path keeps its
    backslashes, and a hostile quote cannot make the sentence a wall of text."""
    return _clip_lines(text, limit, lines, escape_controls)


def _clip_lines(text: str, limit: int, lines: int, escape: Callable[[str], str]) -> str:
    all_lines = text.splitlines()
    shown = "\n".join(escape(line) for line in all_lines[:lines])
    if len(shown) > limit:
        shown = shown[: limit - 1] + "…"
    elif len(all_lines) > lines:
        shown += "\n…"
    return shown


def wrap_to_width(label: ttk.Label, margin: int = 0) -> None:
    """Make ``label`` wrap its text at whatever width its column gives it.

    The label asks for almost no width of its own (``width=1``): the other widgets and the
    window decide the width, and the label only follows with its wrap (and its height).
    Asking for its text's width instead made a loop: a long unbroken run (a hostile
    server's error message) wrapped at the label's width asked for a pixel more, the
    window grew to give it, the label was resized and wrapped again — a window that
    widened for a minute, frozen.
    """
    label.configure(width=1)

    def follow(event: tk.Event) -> None:
        width = max(40, event.width - margin)
        if str(label.cget("wraplength")) != str(width):
            label.configure(wraplength=width)

    label.bind("<Configure>", follow, add="+")


def fit_window(top: tk.Misc, min_size: tuple[int, int], start_size: tuple[int, int]) -> float:
    """Size a window for this screen and dpi: sizes are given at 96 dpi and scaled, but
    never beyond the screen (issue 11: at 1024x600 the server window hid its status bar).
    Returns the scale, for widths the window sets itself."""
    window = top.winfo_toplevel()
    scale = max(1.0, float(window.tk.call("tk", "scaling")) / (96 / 72))
    screen_w, screen_h = window.winfo_screenwidth(), window.winfo_screenheight() - 48
    window.minsize(min(int(min_size[0] * scale), screen_w), min(int(min_size[1] * scale),
                                                                  screen_h))
    width = min(int(start_size[0] * scale), screen_w)
    height = min(int(start_size[1] * scale), screen_h)
    window.geometry(f"{width}x{height}")
    return scale
