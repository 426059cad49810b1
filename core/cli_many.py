"""``python3 -m core get HOST NAME NAME...`` and ``--all`` (issue 12): several files, or a
folder of the offer, asked about once ("120 files, 48000000 Bytes (48.0 MB),
download?(Y/N)") and saved under the output folder with their folders. One name keeps the
original dialogue (core.cli). Each file is downloaded as the one file is: for the version
the offer showed (consent), verified, resumed on a retry; a file that changed meanwhile is
skipped with its sentence, never saved unasked.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from core.client import FilecastClient, by_archive, free_bytes, make_folders
from core.errors import CancelledError, FilecastError
from core.wire import sentences
from core.wire.escaping import escape_controls, escape_text, quoted
from core.wire.protocol import FileInfo, Offer
from core.wire.selection import empty_within, select


def get_many(client: FilecastClient, offer: Offer, args: argparse.Namespace,
             folder: Path, ask: Callable[[str], bool], done: Callable[[], None]) -> int:
    """The selection's dialogue after the greeting: which files, one question, each file.
    ``ask`` puts a yes/no question; ``done`` ends the progress line."""
    by_name = {f.name: f for f in offer.files}
    chosen = select(list(by_name), args.names, everything=args.all)
    for typed, suggestion in chosen.missing:
        hint = f" {sentences.did_you_mean(quoted(suggestion))}" if suggestion else ""
        print(f"{escape_text(typed)}: {sentences.NOT_OFFERED}{hint}")
    if not chosen.names:
        return 1
    infos = [by_name[name] for name in chosen.names]
    total = sum(info.size for info in infos)
    warning = sentences.short_of_space(total, free_bytes(folder))
    if warning:
        print(warning)
    if not _wants_them(args, ask, len(infos), total):
        client.decline_many(infos) if len(infos) > 1 else client.decline(infos[0].name)
        print(f"You did not download {sentences.file_count(len(infos))}; the server has"
              " recorded that.")
        return 1 if chosen.missing else 0  # a name that matched nothing is an error
    saved, failed = _download_each(client, infos, folder, done)
    size = sum(info.size for info in infos if info.name not in failed)
    print(sentences.took_many(saved, len(infos), size))
    empty = empty_within(offer.folders, list(by_name), args.names, everything=args.all)
    if empty:  # kept, as tar keeps them (issue 12)
        try:
            make_folders(folder, empty)
        except OSError as exc:
            print(f"The empty folders could not be made in {folder}: {exc.strerror or exc}.")
            return 1
    return 0 if not failed and not chosen.missing else 1


def _wants_them(args: argparse.Namespace, ask: Callable[[str], bool], count: int,
                size: int) -> bool:
    """--yes / --no, or the one question for the whole selection."""
    question = sentences.ask_many_terminal(count, size)
    if args.yes or args.no:
        print(question + ("Y" if args.yes else "N"))
        return bool(args.yes)
    return ask(question)


def _download_each(client: FilecastClient, infos: list[FileInfo], folder: Path,
                   done: Callable[[], None]) -> tuple[int, set[str]]:
    """Download each file for the version shown; the count saved and the names that were
    not (each said in its sentence). Small files go first, many to a request (core.client.
    archive_fetch); the rest, and any an archive did not bring, one by one. A cancel
    (Ctrl-C) ends them all."""
    small = [info for info in infos if by_archive(info)] if len(infos) > 1 else []
    at_once = {info.name for info in small}
    saved, failed = 0, set()
    one_by_one = [info for info in infos if info.name not in at_once]
    if small:
        print(f"[1-{len(small)}/{len(infos)}] {sentences.file_count(len(small))} at once")
        taken = client.download_small(small, folder)
        done()
        saved += len(taken.saved)
        for name, sentence in taken.failed.items():
            failed.add(name)
            print(escape_controls(sentence))
        for name, now in taken.renamed.items():
            print(f"Saved {escape_text(name)} as {escape_text(now)}: that name was taken.")
        if taken.stopped is not None:  # a full disk, say: the rest would only fail the same
            print(escape_controls(str(taken.stopped)))
            failed.update(info.name for info in taken.left + one_by_one)
            return saved, failed
        one_by_one = taken.left + one_by_one
    for number, info in enumerate(one_by_one, len(infos) - len(one_by_one) + 1):
        print(f"[{number}/{len(infos)}] {escape_text(info.name)}")
        try:
            client.download(info.name, folder, info=info)
            saved += 1
        except CancelledError:
            raise
        except FilecastError as error:  # OfferChangedError too: consent was for the version shown
            failed.add(info.name)
            done()
            print(escape_controls(str(error)))
        done()
    return saved, failed
