"""Many offered files in one response: a POSIX (pax) tar stream (issue 12, docs/PROTOCOL.md
"Many files at once"). Pure: no sockets, no files.

One request per small file lets per-request overhead set the pace (10,000 files of 10 KiB);
one tar of a selection does not, and ``curl URL | tar x`` and a browser's "Download all"
read the same stream. The server lays the archive out before its first byte (``Layout``),
so the answer has a Content-Length and every file's bytes sit at a known offset: the
bytes the client's TCP acknowledged say which files it received whole.

The headers are written by the standard library's tarfile (``TarInfo.tobuf``), which tar,
bsdtar and 7-Zip read. The client reads the stream with ``TarReader``, a strict reader of
just what a Filecast server sends: each member must be the file it asked for next, with
the offered size, and a pax header is at most MAX_PAX_BYTES (tarfile's own reader holds a
header of any size a hostile server announces in memory).
"""

from __future__ import annotations

import functools
import tarfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from core.errors import ProtocolError

ARCHIVE_PATH = "/api/v1/archive"  # POST a selection: its files as one tar
ARCHIVE_PREFIX = "/archive/"  # GET /archive/ (the whole offer), /archive/FOLDER/ (a folder)
ARCHIVE_TYPE = "application/x-tar"
BLOCK = tarfile.BLOCKSIZE  # 512
RECORD = tarfile.RECORDSIZE  # 10240: the archive is padded to whole records, as tar does
MAX_PAX_BYTES = 64 * 1024  # a name is at most 4096 bytes (core.wire.paths): room to spare
# Files a client asks for in one archive request: the request body stays under the
# server's 64 KiB cap (core.wire.http11.MAX_BODY_BYTES) for names of any length.
MAX_ARCHIVE_REQUEST_BYTES = 60 * 1024


@dataclass(frozen=True)
class Member:
    """One file of an archive: its offered name, size and modification time (seconds)."""

    name: str
    size: int
    mtime: int


@functools.lru_cache(maxsize=16384)
def header(member: Member) -> bytes:
    """The tar header blocks of ``member`` (a pax header first when the name needs one).
    Cached: laying an archive out and sending it make each header twice, and every
    client asks for the same files (10,000 headers: 0.4-1 s of tarfile each time)."""
    plain = _plain_header(member)
    if plain is not None:
        return plain
    info = tarfile.TarInfo(member.name)
    info.size, info.mtime, info.mode = member.size, member.mtime, 0o644
    info.type = tarfile.REGTYPE
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


_OCTAL_LIMIT = 8**11  # what a 12-byte ustar number field holds (11 octal digits)


def _plain_header(member: Member) -> bytes | None:
    """The one ustar block tarfile writes for a member that needs no pax header (an ASCII
    name of at most 100 bytes, size and time within ustar's fields), made directly: the
    same bytes in a tenth of the time (10,000 files laid out for a first client took 0.3 s
    of the server's CPU). None for any other member (POSIX.1-2017, pax, "ustar
    Interchange Format")."""
    name = member.name
    if not (name.isascii() and len(name) <= 100 and "\0" not in name
            and 0 <= member.size < _OCTAL_LIMIT and 0 <= member.mtime < _OCTAL_LIMIT):
        return None
    block = bytearray(BLOCK)
    block[:len(name)] = name.encode("ascii")
    block[100:156] = b"0000644\0" b"0000000\0" b"0000000\0" + b"%011o\0" % member.size \
        + b"%011o\0" % member.mtime + b" " * 8  # mode, uid, gid, size, mtime, checksum
    block[156:157] = tarfile.REGTYPE
    block[257:265] = _USTAR_MAGIC
    block[148:156] = b"%06o\0 " % sum(block)  # counted with the field as spaces
    return bytes(block)


def most_bytes(sizes: Sequence[int]) -> int:
    """The longest archive of files of ``sizes`` a Filecast server can send: each with a
    pax header and a header block (a name is at most 4,096 bytes), then the end. A longer
    Content-Length is a hostile server's, refused before a byte is read."""
    per_file = 3 * BLOCK + 2 * 4096 + 1024  # pax header, its records, the header block
    total = sum(size + padding(size) + per_file for size in sizes) + 2 * BLOCK
    return total + -total % RECORD


def padding(size: int) -> int:
    """Zero bytes after ``size`` bytes of data, to the next whole block."""
    return -size % BLOCK


@dataclass(frozen=True)
class Layout:
    """Where each member's data lies in the archive, and the archive's length.

    Headers are made again when sent (``header``), not kept: 100,000 of them would be
    150 MB. ``data_starts[i]`` is the offset of member ``i``'s first data byte."""

    members: tuple[Member, ...]
    data_starts: tuple[int, ...]
    length: int

    @classmethod
    def of(cls, members: Sequence[Member]) -> Layout:
        """Lay ``members`` out in order, ending with two zero blocks, padded to a record."""
        starts, offset = [], 0
        for member in members:
            offset += len(header(member))
            starts.append(offset)
            offset += member.size + padding(member.size)
        offset += 2 * BLOCK
        return cls(tuple(members), tuple(starts), offset + -offset % RECORD)

    def received(self, acked: int) -> tuple[int, int]:
        """How many members lie whole within the first ``acked`` bytes, and how many bytes
        of the next one's data (0 when its data has not begun)."""
        whole = 0
        for start, member in zip(self.data_starts, self.members, strict=True):
            if start + member.size > acked:
                return whole, max(0, acked - start)
            whole += 1
        return whole, 0


# --- reading (the client) --------------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    """A member header as read: the name, the size and the modification time it gives."""

    name: str
    size: int
    mtime: float


class TarReader:
    """Reads a Filecast archive from ``read(n)`` (at most n bytes, fewer only at the end).

    The stream is pulled CHUNK bytes at a time and members' data handed out as views into
    it: 10,000 members read block by block through http.client cost more than writing
    them (issue 12). Memory stays bounded: CHUNK plus one pax header."""

    CHUNK = 256 * 1024

    def __init__(self, read: Callable[[int], bytes]) -> None:
        self._read = read
        self._buffer = memoryview(b"")
        self._at = 0

    def _exactly(self, count: int) -> memoryview:
        """The next ``count`` bytes, a view into the buffer when they are in it."""
        end = self._at + count
        if end <= len(self._buffer):
            view, self._at = self._buffer[self._at:end], end
            return view
        parts = [bytes(self._buffer[self._at:])]
        have = len(parts[0])
        while have < count:  # count is at most CHUNK or a pax header: bounded either way
            data = self._read(max(self.CHUNK, count - have))
            if not data:
                raise ProtocolError("The server's archive ended in the middle of a file.")
            parts.append(data)
            have += len(data)
        joined = b"".join(parts)
        self._buffer, self._at = memoryview(joined), count
        return self._buffer[:count]

    def next(self) -> Entry | None:
        """The next member's header; None at the end of the archive. The caller then reads
        its data with ``data`` before asking for the next one."""
        overrides: dict[str, str] | None = None  # a member has at most one pax header
        while True:
            block = self._exactly(BLOCK)
            if block == _ZERO_BLOCK:
                return None
            name, size, mtime, kind = _ustar(bytes(block))
            # Empty pax headers one after another once kept a client reading for ever.
            if kind == tarfile.XHDTYPE and overrides is None:
                if size > MAX_PAX_BYTES:
                    raise ProtocolError("The server sent an archive header that is too long.")
                overrides = parse_pax(bytes(self._exactly(size + padding(size))[:size]))
                continue
            if kind not in (tarfile.REGTYPE, tarfile.AREGTYPE):
                raise ProtocolError("The server's archive holds something other than files.")
            return _entry(name, size, mtime, overrides or {})

    def data(self, size: int, chunk: int = CHUNK) -> Iterator[memoryview]:
        """The member's ``size`` data bytes in pieces (views, valid until the next read),
        then its padding skipped."""
        left = size
        while left:
            piece = self._exactly(min(chunk, left, max(1, len(self._buffer) - self._at)))
            left -= len(piece)
            yield piece
        self._exactly(padding(size))


_ZERO_BLOCK = bytes(BLOCK)
_USTAR_MAGIC = b"ustar\x0000"  # POSIX.1-1988 ustar, as tarfile writes (not GNU's "ustar  ")


def _ustar(block: bytes) -> tuple[str, int, float, bytes]:
    """A ustar header block's name, size, mtime and type (POSIX.1-2017, pax, "ustar
    Interchange Format"): the fields a Filecast server writes, strictly. tarfile's reader
    took 50 µs a header, most of a small file's cost on the way in (issue 12)."""
    try:
        if block[257:265] != _USTAR_MAGIC:
            raise ValueError("not ustar")
        stored = int(block[148:156].rstrip(b" \0") or b"x", 8)
        if stored != sum(block) - sum(block[148:156]) + 8 * 32:  # the field counts as spaces
            raise ValueError("checksum")
        size = int(block[124:136].rstrip(b" \0") or b"0", 8)
        mtime = int(block[136:148].rstrip(b" \0") or b"0", 8)
    except ValueError as exc:
        raise ProtocolError("The server sent a damaged archive.") from exc
    name = block[:100].split(b"\0", 1)[0]
    prefix = block[345:500].split(b"\0", 1)[0]
    if prefix:
        name = prefix + b"/" + name
    return name.decode("utf-8", "surrogateescape"), size, float(mtime), block[156:157]


def _entry(name: str, size: int, mtime: float, overrides: dict[str, str]) -> Entry:
    """The member with its pax header's path, size and mtime applied."""
    try:
        name = overrides.get("path", name)
        size = int(overrides["size"]) if "size" in overrides else size
        mtime = float(overrides["mtime"]) if "mtime" in overrides else mtime
    except ValueError as exc:
        raise ProtocolError("The server sent a damaged archive.") from exc
    if size < 0:
        raise ProtocolError("The server sent a damaged archive.")
    return Entry(name, size, mtime)


def parse_pax(data: bytes) -> dict[str, str]:
    """The records of a pax extended header: ``LENGTH KEY=VALUE\\n``, LENGTH counting the
    whole record (POSIX.1-2017, pax, "pax Extended Header"); strict, anything else raises."""
    records: dict[str, str] = {}
    at = 0
    while at < len(data):
        space = data.find(b" ", at, at + 21)
        digits = data[at:space]
        if space < 0 or not digits.isdigit():
            raise ProtocolError("The server sent a damaged archive.")
        end = at + int(digits)
        record = data[space + 1:end]
        if end > len(data) or end <= space + 1 or not record.endswith(b"\n") \
                or b"=" not in record:
            raise ProtocolError("The server sent a damaged archive.")
        key, _, value = record[:-1].partition(b"=")
        records[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8",
                                                                      "surrogateescape")
        at = end
    return records
