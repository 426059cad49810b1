"""The programs Filecast is compared with: where they are, installing them, their versions."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass

from .measure import run_timed

APT_TIMEOUT = 900.0


@dataclass(frozen=True)
class Tool:
    """A command and the Debian packages that bring it (tried in order)."""

    command: str
    packages: tuple[str, ...]
    version_args: tuple[str, ...]


TOOLS = {
    "nginx": Tool("nginx", ("nginx-light", "nginx"), ("-v",)),
    "curl": Tool("curl", ("curl",), ("--version",)),
    "wrk": Tool("wrk", ("wrk",), ("-v",)),
    "ab": Tool("ab", ("apache2-utils",), ("-V",)),
    "iperf3": Tool("iperf3", ("iperf3",), ("--version",)),
    "sha256sum": Tool("sha256sum", ("coreutils",), ("--version",)),
    "Xvfb": Tool("Xvfb", ("xvfb",), ()),
}
INSTALLABLE = ("nginx", "wrk", "ab", "iperf3", "curl")


def which(name: str) -> str | None:
    """The path of a tool, also in the sbin folders a non-login PATH may lack."""
    command = TOOLS[name].command if name in TOOLS else name
    found = shutil.which(command)
    if found:
        return found
    for folder in ("/usr/sbin", "/sbin", "/usr/local/sbin"):
        candidate = os.path.join(folder, command)
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def install_missing(names: Sequence[str] = INSTALLABLE) -> dict[str, str]:
    """apt-get install what is missing (root only); a package that fails is only noted.

    Returns a note per tool: "present", "installed", or why it is not available.
    """
    notes: dict[str, str] = {}
    missing = [n for n in names if which(n) is None]
    for name in names:
        if name not in missing:
            notes[name] = "present"
    if not missing:
        return notes
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        for name in missing:
            notes[name] = "not available (not root or no apt-get: not installed)"
        return notes
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    lock = ("-o", "DPkg::Lock::Timeout=600")
    update = run_timed(["apt-get", "update", "-q", *lock], APT_TIMEOUT, env=env)
    for name in missing:
        for package in TOOLS[name].packages:
            ran = run_timed(["apt-get", "install", "-y", "-q", "--no-install-recommends",
                             *lock, package], APT_TIMEOUT, env=env)
            if ran.ok and which(name):
                notes[name] = f"installed ({package})"
                break
        else:
            why = "apt-get update failed; " if not update.ok else ""
            notes[name] = f"not available ({why}apt-get install {'/'.join(TOOLS[name].packages)}"\
                          " failed)"
    return notes


def version(name: str) -> str:
    """The first line a tool prints about its version, or "not available"."""
    path = which(name)
    if path is None:
        return "not available"
    tool = TOOLS[name]
    if not tool.version_args:
        return path
    ran = run_timed([path, *tool.version_args], 10.0)
    text = (ran.stdout.strip() or ran.stderr.strip()).splitlines()
    return text[0].strip() if text else path
