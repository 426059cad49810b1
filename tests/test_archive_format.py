"""Unit tests of core/wire/archive.py: the tar stream of many files (issue 12). No sockets.

The server's layout must be a tar archive that tar and Python's tarfile read as the files
it promised, at the offsets it promised; the client's reader must read it back and refuse,
in bounded memory, what a hostile server could send instead.
"""

from __future__ import annotations

import io
import tarfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import ProtocolError
from core.wire.archive import (
    BLOCK,
    RECORD,
    Layout,
    Member,
    TarReader,
    header,
    most_bytes,
    padding,
)

NAMES = ["worksheet 1.pdf", "Week 12/Übung ä.txt", "d/" * 60 + "deep.txt", "x" * 300,
         "日本語/ファイル.txt", "a/b/c.bin"]


def stream(layout: Layout, data: dict[str, bytes]) -> bytes:
    """What the server sends for ``layout``."""
    out = bytearray()
    for member in layout.members:
        out += header(member) + data[member.name] + bytes(padding(member.size))
    return bytes(out) + bytes(layout.length - len(out))


def archive_of(contents: dict[str, bytes]) -> tuple[Layout, bytes]:
    layout = Layout.of([Member(n, len(d), 1_700_000_000 + i)
                        for i, (n, d) in enumerate(contents.items())])
    return layout, stream(layout, contents)


def read_all(data: bytes) -> dict[str, bytes]:
    source = io.BytesIO(data)
    reader, got = TarReader(source.read), {}
    while (entry := reader.next()) is not None:
        got[entry.name] = b"".join(reader.data(entry.size))
    return got


def test_tarfile_reads_the_layout_as_the_files_at_their_offsets() -> None:
    contents = {name: f"{name}\n".encode() * (n + 1) for n, name in enumerate(NAMES)}
    contents["empty.txt"] = b""
    layout, data = archive_of(contents)
    assert len(data) == layout.length and layout.length % RECORD == 0
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == list(contents)
        for member, start in zip(members, layout.data_starts, strict=True):
            assert member.offset_data == start
            extracted = tar.extractfile(member)
            assert extracted is not None and extracted.read() == contents[member.name]
            assert member.mode == 0o644 and member.isreg()


def test_the_reader_reads_what_the_server_writes_and_what_tarfile_writes() -> None:
    contents = {name: name.encode() * 3 for name in NAMES}
    assert read_all(archive_of(contents)[1]) == contents
    made = io.BytesIO()
    with tarfile.open(fileobj=made, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in contents.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    assert read_all(made.getvalue()) == contents


def test_the_reader_reads_a_ustar_name_split_into_prefix_and_name_and_the_mtime() -> None:
    """tar and tarfile write a long path of a ustar header as prefix + name (POSIX ustar)."""
    name = "folder " * 15 + "/" + "inner/" * 3 + "file.txt"  # 141 bytes: a prefix is used
    info = tarfile.TarInfo(name)
    info.size, info.mtime = 5, 1_700_000_123
    block = info.tobuf(tarfile.USTAR_FORMAT)
    assert block[345:500].strip(b"\0")  # really split
    reader = TarReader(io.BytesIO(block + b"hello" + bytes(507 + 2 * BLOCK)).read)
    entry = reader.next()
    assert entry is not None and (entry.name, entry.size, entry.mtime) == (name, 5,
                                                                            1_700_000_123)
    assert b"".join(reader.data(5)) == b"hello" and reader.next() is None


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(min_codepoint=1, max_codepoint=127), min_size=1, max_size=110),
       st.integers(0, 8**11), st.integers(0, 8**11))
def test_a_header_made_directly_is_the_one_tarfile_makes(name: str, size: int,
                                                         mtime: int) -> None:
    """header() writes the common member's block itself (speed): it must be tarfile's."""
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode, info.type = size, mtime, 0o644, tarfile.REGTYPE
    assert header(Member(name, size, mtime)) == info.tobuf(tarfile.PAX_FORMAT, "utf-8",
                                                           "surrogateescape")


def test_received_counts_the_members_whose_bytes_were_acknowledged() -> None:
    layout, _ = archive_of({"a": b"1" * 10, "b": b"2" * 600, "c": b""})
    a, b, c = layout.data_starts
    assert layout.received(0) == (0, 0)
    assert layout.received(a + 9) == (0, 9)
    assert layout.received(a + 10) == (1, 0)
    assert layout.received(b + 100) == (1, 100)
    assert layout.received(b + 600) == (2, 0)  # "c" is empty, but its header is not in yet
    assert layout.received(c) == (3, 0)
    assert layout.received(layout.length) == (3, 0)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1,
                               max_size=120).filter(lambda n: "\x00" not in n),
                       st.binary(max_size=1500), max_size=6))
def test_any_names_and_contents_round_trip(contents: dict[str, bytes]) -> None:
    layout, data = archive_of(contents)
    assert read_all(data) == contents
    assert layout.length <= most_bytes([len(d) for d in contents.values()])


def test_a_second_pax_header_for_one_member_is_refused() -> None:
    """Empty pax headers one after another once kept a client reading for ever."""
    pax = tarfile.TarInfo("././@PaxHeader")
    pax.type = tarfile.XHDTYPE
    block = pax.tobuf(tarfile.USTAR_FORMAT)
    with pytest.raises(ProtocolError, match="other than files"):
        read_all(block * 3 + header(Member("a", 0, 0)) + bytes(2 * BLOCK))


def test_an_archive_cut_short_is_an_error() -> None:
    _, data = archive_of({"a.txt": b"x" * 2000})
    with pytest.raises(ProtocolError, match="ended in the middle"):
        read_all(data[:1500])


def test_a_huge_pax_header_is_refused_before_it_is_read() -> None:
    info = tarfile.TarInfo("././@PaxHeader")
    info.type, info.size = tarfile.XHDTYPE, 8**11 - 1  # 8 GiB, the most ustar can say
    block = info.tobuf(tarfile.USTAR_FORMAT)
    asked: list[int] = []

    def read(count: int) -> bytes:  # the header, then as many zeros as asked for
        asked.append(count)
        return block if len(asked) == 1 else b"\0" * count

    with pytest.raises(ProtocolError, match="too long"):
        TarReader(read).next()
    assert max(asked) <= TarReader.CHUNK  # read in bounded pieces, never the 8 GiB


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.DIRTYPE,
                                  tarfile.CHRTYPE, tarfile.FIFOTYPE, tarfile.GNUTYPE_LONGNAME])
def test_anything_but_a_file_is_refused(kind: bytes) -> None:
    info = tarfile.TarInfo("x")
    info.type, info.linkname = kind, "/etc/passwd"
    with pytest.raises(ProtocolError, match="other than files"):
        read_all(info.tobuf(tarfile.USTAR_FORMAT) + bytes(2 * BLOCK))


@pytest.mark.parametrize("pax", [b"9 path=x", b"x path=y\n", b"99 path=y\n", b"5 ab\n",
                                 b"11 size=-5\n", b"12 mtime=zz\n"])
def test_a_damaged_pax_header_is_refused(pax: bytes) -> None:
    info = tarfile.TarInfo("././@PaxHeader")
    info.type, info.size = tarfile.XHDTYPE, len(pax)
    member = tarfile.TarInfo("x").tobuf(tarfile.USTAR_FORMAT)
    data = info.tobuf(tarfile.USTAR_FORMAT) + pax + bytes(padding(len(pax))) + member
    with pytest.raises(ProtocolError, match="damaged"):
        read_all(data + bytes(2 * BLOCK))


def test_a_bad_checksum_is_refused() -> None:
    block = bytearray(header(Member("a.txt", 0, 0)))
    block[0] ^= 1
    with pytest.raises(ProtocolError, match="damaged"):
        read_all(bytes(block) + bytes(2 * BLOCK))
