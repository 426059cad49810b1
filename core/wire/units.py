"""Human spellings of sizes, speeds and durations, shared by the terminal and the windows."""

from __future__ import annotations

import math

_UNITS = ("B", "KB", "MB", "GB", "TB", "PB")


def human_size(count: float) -> str:
    """``11 B``, ``1.5 MB``, ``4.3 GB`` (decimal units, as disks and networks are sold)."""
    if count < 1000:
        return f"{int(count)} B"
    exponent = min(int(math.log(count, 1000)), len(_UNITS) - 1)
    value = count / 1000**exponent
    if round(value, 1) >= 1000 and exponent < len(_UNITS) - 1:
        exponent, value = exponent + 1, value / 1000
    return f"{value:.1f} {_UNITS[exponent]}"


def human_rate(bytes_per_second: float) -> str:
    """``12.3 MB/s``."""
    return f"{human_size(max(0.0, bytes_per_second))}/s"


def human_duration(seconds: float | None) -> str:
    """``45 s``, ``3 min 5 s``, ``1 h 2 min``; an em dash when unknown."""
    if seconds is None or math.isinf(seconds) or math.isnan(seconds):
        return "—"
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def exact_bytes(count: int) -> str:
    """``1,048,576 bytes`` (``1 byte`` for one)."""
    return "1 byte" if count == 1 else f"{count:,} bytes"


def percent(done: int, total: int) -> str:
    """``33%``; one decimal below 10% so an early stop does not read as ``0%``."""
    if total <= 0:
        return "100%"
    value = 100 * done / total
    return f"{value:.1f}%" if value < 10 else f"{int(value)}%"
