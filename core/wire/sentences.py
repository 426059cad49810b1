"""Every sentence Filecast says about a visit, in one table (issue 10).

The ledger (Clients.txt), the terminal and both windows render from here, so a wording
changes in one place. The original program's lines are kept word for word; they are what
people and scripts already know. Pure: names arrive already quoted (core.wire.escaping).
"""

from __future__ import annotations

from core.wire.units import exact_bytes, human_size, percent

# The original program's lines (server.py / client.py), word for word.
SERVER_WORKING = "SERVER WORKING"
WAITING = "Waiting for connection..."
IN_A_BROWSER = "(In a browser on any device, the same address is the download page.)"
ENTER_HOST = "Enter host ip address: "
ENTER_FILENAME = "Enter the filename: "
NOT_OFFERED = "File does not exist!"
DOWNLOAD_COMPLETE = "Download Complete!"


def did_you_mean(quoted_name: str) -> str:
    """After "File does not exist!": the offered name a typo was closest to (issue 11)."""
    return f"Did you mean {quoted_name}?"


def taking(quoted_name: str) -> str:
    """A name typed in another case or Unicode form, taken as the one file it means."""
    return f"Taking {quoted_name}, the offered file by that name."


def attempt(number: int, limit: int | None) -> str:
    """``attempt 3 of 5``, or ``attempt 3`` when it goes on until cancelled."""
    return f"attempt {number} of {limit}" if limit is not None else f"attempt {number}"


def rechecking(done: int, total: int) -> str:
    """A resume re-reading the part it keeps: ``Checking the 1.8 GB already saved: 40%``."""
    return f"Checking the {human_size(total)} already saved: {percent(done, total)}"


def ask_window(size: int) -> str:
    """The window's question: ``File exists, 11 bytes (11 B). Download?``."""
    return f"File exists, {exact_bytes(size)} ({human_size(size)}). Download?"


def ask_terminal(size: int) -> str:
    """The original yes/no prompt: ``File Exists, 11 Bytes, download?(Y/N): ``."""
    return f"File Exists, {size} Bytes, download?(Y/N): "


def ask_many_terminal(count: int, size: int) -> str:
    """One question for a selection, in the original prompt's style (issue 12)."""
    return f"{file_count(count)}, {size} Bytes ({human_size(size)}), download?(Y/N): "


def ask_many_window(count: int, size: int) -> str:
    """The window's question for a selection: ``120 files, 48.0 MB. Download?``."""
    return f"{file_count(count)}, {human_size(size)}. Download?"


def short_of_space(needed: int, free: int | None) -> str | None:
    """Said before asking when the folder has less room than the download needs (issue 12);
    None when it has room, or when how much it has is not known."""
    if free is None or free >= needed:
        return None
    return (f"Only {human_size(free)} free in the download folder; this needs"
            f" {human_size(needed)}. Free some space or choose another folder first.")


def took_many(done: int, count: int, size: int) -> str:
    """After a selection: ``Downloaded 120 of 120 files (48.0 MB).``"""
    return f"Downloaded {done:,} of {file_count(count)} ({human_size(size)})."


def took_archive(who: str, done: int, count: int, size: int, folder: str | None) -> str:
    """The ledger's summary of one archive (issue 12): ``Client: … downloaded 120 of 120
    files (48.0 MB) of 'Week 12/'``; ``folder`` is already quoted (None: no common folder)."""
    of = folder if folder is not None else "the offer"
    return (f"{who} downloaded {done:,} of {file_count(count)} ({human_size(size)}) of {of}"
            " in one archive")


def renamed(count: int, example: tuple[str, str] | None) -> str:
    """Said after files were saved under new names, so nothing was overwritten."""
    if not count or example is None:
        return ""
    was, now = example
    return (f"{file_count(count)} saved under a new name, because a file of that name (or"
            f" one differing only in capitals) was already there: '{was}' is '{now}'"
            + (" and so on." if count > 1 else "."))


def file_count(count: int) -> str:
    """``1 file``, ``120 files``: the one spelling of a count of files."""
    return "1 file" if count == 1 else f"{count:,} files"


# What the server says about one client, keyed by the ledger event's value (LedgerEvent in
# core.server.ledger). {who} is "Client: ADDRESS" (ledger) or the client's label (terminal,
# window); {file} is already quoted. The first two are the original program's.
ABOUT_CLIENT = {
    "downloaded": "{who} downloaded the file {file}",
    "declined": "{who} did not download the file {file}",
    "not_offered": "{who} asked for {file}, which does not exist",
    "interrupted": "{who} did not finish downloading {file} ({bytes} of {size} bytes)",
    "verified": "{who} downloaded and verified the file {file}",
    "digest_mismatch": "{who} reported a wrong digest for the file {file}",
    "partial": "{who} downloaded bytes {start}-{last} of the file {file}",
    "receipt_refused": "{who} sent a receipt for {file}, which this server has not delivered"
                       " to it whole; not counted",
}
# A folded ledger line (core.server.fold): an event that may repeat in a flood, with a count.
ABOUT_CLIENT_FOLDED = {
    "not_offered": "{who} asked for {file}, which does not exist (repeated {times})",
    "interrupted": "{who} did not finish downloading {file} (repeated {times})",
    "partial": "{who} downloaded {ranges} of the file {file} ({bytes} bytes)",
}
# What a flood summary calls each kind of line it stands for (core.server.floodgate):
# one of them, and several.
COUNTED = {
    "not_offered": ("ask for a file that does not exist", "asks for files that do not exist"),
    "declined": ("decline", "declines"),
    "digest_mismatch": ("receipt with a wrong digest", "receipts with a wrong digest"),
    "receipt_refused": ("receipt for a file not sent whole", "receipts for files not sent whole"),
    "interrupted": ("download cut before its first byte", "downloads cut before their first byte"),
}


def about_client(event: str, who: str, file: str, *, bytes: int | None = None,
                 size: int | None = None, start: int | None = None) -> str:
    """One line about a client's decision or transfer, for the ledger, terminal and window."""
    last = None if start is None or bytes is None else start + bytes - 1
    return ABOUT_CLIENT[event].format(who=who, file=file, bytes=bytes, size=size,
                                      start=start, last=last)


def about_client_folded(event: str, who: str, file: str, repeats: int, bytes: int) -> str:
    """A folded line: the repeated event and how often it came again."""
    return ABOUT_CLIENT_FOLDED[event].format(
        who=who, file=file, bytes=bytes,
        times="1 more time" if repeats == 1 else f"{repeats} more times",
        ranges="1 more range" if repeats == 1 else f"{repeats} more ranges")


def flood_summary(who: str, repeats: int, counts: tuple[tuple[str, int], ...]) -> str:
    """How many requests within a minute were only counted, and of what kind."""
    kinds = ", ".join(f"{n:,} {_counted(kind, n)}" for kind, n in counts)
    requests = "1 more request" if repeats == 1 else f"{repeats:,} more requests"
    return f"{who} made {requests} within a minute than the ledger writes one by one: {kinds}"


def _counted(kind: str, n: int) -> str:
    """What ``n`` lines of one kind are called (an unknown kind by its own name)."""
    one, several = COUNTED.get(kind, (kind, kind))
    return one if n == 1 else several
