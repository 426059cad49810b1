"""A corpus of relative names a hostile server could offer or a hostile client request
(issue 12): each must stay inside the chosen folder on the client and never name anything
but an offered file on the server."""

from __future__ import annotations

HOSTILE_RELATIVE = [
    "../x", "../../etc/passwd", "a/../../b", "a/b/../../../c", "/abs/path", "//server/share/x",
    "C:\\Windows\\x", "C:/Windows/x", "a\\..\\..\\b", "..\\x", "a/./b", ".", "..", "...",
    "a//b", "a/b/", "/", "//", "\x00", "a\x00b", "a/\nb", "a\rb/c", "CON/aux.txt",
    "a/" * 40 + "x", "x" * 5000, "d/" * 10 + "x" * 300, "%2e%2e/x", "..%2fx", "..%5cx",
    "\u202e/x", "nul", " /x", "a/ /b", ". ./x", ".. /x", "\u2024\u2024/x", "\uff0e\uff0e/x",
    "a/.part.json", ".x.part.json", "x.part", "~/x", "$HOME/x", "a/b\x7f/c", "\u0085/x",
    "lone\udcff/x",
]
