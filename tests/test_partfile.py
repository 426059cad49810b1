"""The file side of a download: .part and its metadata, hashing, writing, the final rename."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import threading
from pathlib import Path

import pytest

from core.client.partfile import PartFile, commit
from core.client.pipeline import BUFFER_COUNT, Sink
from core.client.savefolder import SaveFolder
from core.errors import DigestMismatchError, DiskFullError, ProtocolError, StorageError

ETAG = '"b-1858a2f0c7e3c400"'
DATA = os.urandom(300_000)
SHA = hashlib.sha256(DATA).hexdigest()


def feed(sink: Sink, data: bytes, step: int = 70_000) -> None:
    """Hand ``data`` to the sink in buffers of ``step`` bytes, as the client does."""
    for at in range(0, len(data), step):
        chunk = data[at : at + step]
        buf = sink.buffer()
        buf[: len(chunk)] = chunk
        sink.put(buf, len(chunk))


def start(part: PartFile, offset: int = 0, **kwargs: object) -> Sink:
    """Open the part for DATA at ``offset``."""
    return part.open(ETAG, len(DATA), SHA, "127.0.0.1:5001", offset, **kwargs)  # type: ignore[arg-type]


def names(folder: Path) -> list[str]:
    """The sorted file names in a folder."""
    return sorted(p.name for p in folder.iterdir())


def test_whole_download_and_commit(tmp_path: Path) -> None:
    part = PartFile(tmp_path, "../evil/report.pdf")
    assert part.path == tmp_path / "report.pdf.part"
    sink = start(part)
    meta = json.loads(part.meta_path.read_text())
    assert meta == {"version": 1, "name": "../evil/report.pdf", "etag": ETAG,
                    "size": len(DATA), "sha256": SHA, "server": "127.0.0.1:5001"}
    feed(sink, DATA)
    assert sink.finish(len(DATA), SHA) == SHA
    final = commit(part)
    assert final == tmp_path.resolve() / "report.pdf"
    assert final.read_bytes() == DATA
    assert names(tmp_path) == ["report.pdf"]


def test_resume_offset_rules(tmp_path: Path) -> None:
    part = PartFile(tmp_path, "f.bin")
    assert part.resume_offset(ETAG, len(DATA)) == 0  # nothing there
    sink = start(part)
    feed(sink, DATA[:100_000])
    sink.abort()
    assert part.resume_offset(ETAG, len(DATA), SHA) == 100_000
    assert part.resume_offset(ETAG, len(DATA), None) == 100_000
    assert names(tmp_path) == [".f.bin.part.json", "f.bin.part"]
    for etag, size, sha in [('"other"', len(DATA), SHA), (ETAG, len(DATA) + 1, SHA),
                            (ETAG, len(DATA), "0" * 64), (ETAG, 99_999, SHA)]:
        sink = start(part)
        feed(sink, DATA[:100_000])
        sink.abort()
        assert part.resume_offset(etag, size, sha) == 0  # stale: deleted
        assert names(tmp_path) == []


def test_damaged_meta_is_stale(tmp_path: Path) -> None:
    part = PartFile(tmp_path, "f.bin")
    part.path.write_bytes(DATA[:10])
    part.meta_path.write_text("{half a meta")
    assert part.resume_offset(ETAG, len(DATA)) == 0
    assert names(tmp_path) == []


def test_a_meta_write_cut_by_a_full_disk_keeps_the_saved_bytes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry on a disk that is still full: writing .NAME.part.json fails half-way. The old
    metadata must survive, or the next Retry finds it torn and deletes the part."""
    part = PartFile(tmp_path, "f.bin")
    sink = start(part)
    feed(sink, DATA[:100_000])
    sink.abort()
    real_write_new = SaveFolder.write_new

    def half_then_full(self: SaveFolder, name: str, data: bytes) -> None:
        real_write_new(self, name, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(SaveFolder, "write_new", half_then_full)
    with pytest.raises(DiskFullError):
        start(part, 100_000)
    monkeypatch.setattr(SaveFolder, "write_new", real_write_new)
    assert part.resume_offset(ETAG, len(DATA), SHA) == 100_000
    assert names(tmp_path) == [".f.bin.part.json", "f.bin.part"]  # no temporary left over


def test_a_foreign_part_is_left_alone(tmp_path: Path) -> None:
    part = PartFile(tmp_path, "f.bin")
    part.path.write_bytes(b"a browser's half download")
    with pytest.raises(StorageError, match="belongs to another program"):
        part.resume_offset(ETAG, len(DATA))
    assert part.path.read_bytes() == b"a browser's half download"


def test_resume_hashes_the_prefix(tmp_path: Path) -> None:
    part = PartFile(tmp_path, "f.bin")
    first = start(part)
    feed(first, DATA[:123_457])
    first.abort()
    offset = part.resume_offset(ETAG, len(DATA), SHA)
    second = start(part, offset)
    feed(second, DATA[offset:])
    assert second.finish(len(DATA), SHA) == SHA
    assert part.path.read_bytes() == DATA


def test_resume_may_carry_the_hasher(tmp_path: Path) -> None:
    part = PartFile(tmp_path, "f.bin")
    first = start(part)
    feed(first, DATA[:50_000])
    first.abort()
    assert first.resumable and first.written == 50_000
    second = start(part, 50_000, hasher=first.hasher)
    feed(second, DATA[50_000:])
    assert second.finish(len(DATA), SHA) == SHA


def test_digest_mismatch_leaves_nothing(tmp_path: Path) -> None:
    part = PartFile(tmp_path, "f.bin")
    sink = start(part)
    feed(sink, DATA[:-1] + b"!")
    with pytest.raises(DigestMismatchError, match="damaged"):
        sink.finish(len(DATA), SHA)
    assert names(tmp_path) == []


def test_wrong_length_leaves_nothing(tmp_path: Path) -> None:
    part = PartFile(tmp_path, "f.bin")
    sink = start(part)
    feed(sink, DATA + b"more")
    with pytest.raises(ProtocolError, match="instead of"):
        sink.finish(len(DATA), None)
    assert names(tmp_path) == []


def test_short_writes_are_completed(tmp_path: Path) -> None:
    part = PartFile(tmp_path, "f.bin")
    sink = start(part, write=lambda fd, view: os.write(fd, view[:1000]))
    feed(sink, DATA)
    assert sink.finish(len(DATA), SHA) == SHA
    assert part.path.read_bytes() == DATA


def test_disk_full_keeps_the_part(tmp_path: Path) -> None:
    written = [0]

    def full_after_100k(fd: int, view: memoryview) -> int:
        if written[0] >= 100_000:
            raise OSError(errno.ENOSPC, "No space left on device")
        done = os.write(fd, view[: 100_000 - written[0]])
        written[0] += done
        return done

    part = PartFile(tmp_path, "movie.mkv")
    sink = start(part, write=full_after_100k)
    with pytest.raises(DiskFullError) as full:
        feed(sink, DATA)
        sink.finish(len(DATA), SHA)
    message = str(full.value)
    assert message.startswith("The disk is full:") and "'movie.mkv'" in message
    assert "Retry" in message and "kept" in message
    sink.close()
    assert names(tmp_path) == [".movie.mkv.part.json", "movie.mkv.part"]
    assert part.resume_offset(ETAG, len(DATA), SHA) == 100_000


def test_other_write_errors_name_the_folder(tmp_path: Path) -> None:
    def broken(fd: int, view: memoryview) -> int:
        raise OSError(errno.EIO, "Input/output error")

    part = PartFile(tmp_path, "f.bin")
    sink = start(part, write=broken)
    feed(sink, DATA[:10])
    with pytest.raises(StorageError, match=str(tmp_path)) as error:
        sink.finish(len(DATA), SHA)
    assert not isinstance(error.value, DiskFullError)


def test_memory_is_bounded(tmp_path: Path) -> None:
    gate = threading.Event()

    def slow(fd: int, view: memoryview) -> int:
        gate.wait(5)
        return os.write(fd, view)

    sink = start(PartFile(tmp_path, "f.bin"), write=slow)
    for _ in range(BUFFER_COUNT):
        sink.put(sink.buffer(), 1)
    blocked = threading.Thread(target=sink.buffer, daemon=True)
    blocked.start()
    blocked.join(0.2)
    assert blocked.is_alive()  # no fifth buffer while the writer is stuck
    gate.set()
    blocked.join(5)
    assert not blocked.is_alive()
    sink.close()


def test_commit_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "report.pdf").write_bytes(b"mine")
    (tmp_path / "report (1).pdf").write_bytes(b"mine too")
    for expected in ("report (2).pdf", "report (3).pdf"):
        part = PartFile(tmp_path, "report.pdf")
        sink = start(part)
        feed(sink, DATA)
        sink.finish(len(DATA), SHA)
        assert commit(part).name == expected
    assert (tmp_path / "report.pdf").read_bytes() == b"mine"
    assert (tmp_path / "report (1).pdf").read_bytes() == b"mine too"
    assert (tmp_path / "report (3).pdf").read_bytes() == DATA
    assert not part.path.exists() and not part.meta_path.exists()


def test_commit_without_hard_links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(src: object, dst: object, **at: object) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    (tmp_path / "a.txt").write_bytes(b"mine")
    part = PartFile(tmp_path, "a.txt")
    sink = start(part)
    feed(sink, DATA)
    sink.finish(len(DATA), SHA)
    final = commit(part)
    assert final.name == "a (1).txt" and final.read_bytes() == DATA
    assert (tmp_path / "a.txt").read_bytes() == b"mine"
    assert names(tmp_path) == ["a (1).txt", "a.txt"]


BIG = os.urandom(5 * 1024 * 1024 + 123)  # whole 1 MiB buffers, then an unaligned tail


def save_big(folder: Path, offset: int = 0) -> bytes:
    """Save BIG (from ``offset``, the part already holding BIG[:offset]) and return the part."""
    part = PartFile(folder, "big.bin")
    if offset:
        part.path.write_bytes(BIG[:offset])
    sink = part.open(ETAG, len(BIG), None, "127.0.0.1:5001", offset)
    at = offset
    while at < len(BIG):
        buf = sink.buffer()
        chunk = BIG[at : at + len(buf)]
        buf[: len(chunk)] = chunk
        sink.put(buf, len(chunk))
        at += len(chunk)
    assert sink.finish(len(BIG), hashlib.sha256(BIG).hexdigest())
    return part.path.read_bytes()


@pytest.mark.parametrize("offset", [0, 4096, 1234567])
def test_direct_and_ordinary_writes_together_save_the_exact_bytes(tmp_path: Path,
                                                                  offset: int) -> None:
    """Aligned whole buffers may go out with O_DIRECT, the tail and an unaligned resume
    through the page cache: the part must hold exactly the bytes, in order."""
    assert save_big(tmp_path, offset) == BIG


def test_a_file_system_that_refuses_direct_writes_still_gets_the_bytes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(fd: int, data: object, offset: int) -> int:
        raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(os, "pwrite", refuse)
    assert save_big(tmp_path) == BIG


def swap_the_part_after_open(monkeypatch: pytest.MonkeyPatch, part: PartFile,
                             target: Path) -> None:
    """Right after PartFile.open opens the part (its ftruncate), put a symlink to ``target``
    at the part's name: whatever opens that name again is redirected (issue 9)."""
    real = os.ftruncate

    def truncate_then_swap(fd: int, length: int) -> None:
        real(fd, length)
        part.path.unlink()
        part.path.symlink_to(target)

    monkeypatch.setattr(os, "ftruncate", truncate_then_swap)


def test_direct_writes_never_reopen_the_parts_name(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The O_DIRECT descriptor is a second one on the part: opened by the part's name, it
    followed a symlink planted there since and wrote the file outside (issue 9)."""
    folder, outside = tmp_path / "downloads", tmp_path / "outside.bin"
    folder.mkdir()
    outside.write_bytes(b"precious" * 300_000)
    before = outside.read_bytes()
    part = PartFile(folder, "big.bin")
    swap_the_part_after_open(monkeypatch, part, outside)
    sink = part.open(ETAG, len(BIG), None, "127.0.0.1:5001", 0)
    monkeypatch.undo()
    feed(sink, BIG, step=1024 * 1024)
    assert sink.finish(len(BIG), hashlib.sha256(BIG).hexdigest())
    assert outside.read_bytes() == before
    with pytest.raises(StorageError, match="replaced by something else"):
        commit(part)  # the name no longer names the verified bytes: nothing is saved
    assert outside.read_bytes() == before
    assert not (folder / "big.bin").exists()


def test_a_resume_hashes_the_part_it_opened_not_its_name(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    part = PartFile(tmp_path, "f.bin")
    first = start(part)
    feed(first, DATA[:100_000])
    first.abort()
    decoy = tmp_path / "decoy"
    decoy.write_bytes(os.urandom(100_000))
    swap_the_part_after_open(monkeypatch, part, decoy)
    second = start(part, part.resume_offset(ETAG, len(DATA), SHA))
    monkeypatch.undo()
    feed(second, DATA[100_000:])
    assert second.finish(len(DATA), SHA) == SHA


def test_a_hard_linked_part_is_never_written(tmp_path: Path) -> None:
    """A second name on the part (planted, or left by a kill in commit) would make writing
    into it write a file elsewhere: the part starts over instead."""
    part = PartFile(tmp_path, "f.bin")
    first = start(part)
    feed(first, DATA[:100_000])
    first.abort()
    elsewhere = tmp_path / "elsewhere"
    os.link(part.path, elsewhere)
    kept = elsewhere.read_bytes()
    assert part.resume_offset(ETAG, len(DATA), SHA) == 0
    sink = start(part)
    feed(sink, DATA)
    assert sink.finish(len(DATA), SHA) == SHA
    assert elsewhere.read_bytes() == kept and part.path.read_bytes() == DATA
