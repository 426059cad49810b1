"""The terminal front end: ``python -m core serve`` and ``python -m core get``.

It keeps the original program's dialogue and lines ("SERVER WORKING", "Enter the filename:",
"File Exists, 11 Bytes, download?(Y/N):", "Download Complete!") on top of the HTTP engine.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import stat
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from core import DEFAULT_MAX_PER_ADDRESS, DEFAULT_PORT, __version__
from core.activity import ServerPrinter
from core.cli_many import get_many
from core.client import FilecastClient, free_bytes, parse_server
from core.errors import CancelledError, FilecastError, NotOfferedError, OfferChangedError
from core.events import (
    DownloadProgress,
    DownloadRechecking,
    DownloadRetrying,
    DownloadStarted,
    DownloadVerifying,
    Event,
)
from core.settings import account_name, client_id, default_ledger
from core.wire import sentences
from core.wire.escaping import escape_controls, escape_text, quoted
from core.wire.names import PART_SUFFIX, match_name
from core.wire.paths import saved_segments
from core.wire.protocol import file_in_url
from core.wire.selection import names_a_folder
from core.wire.units import human_duration, human_rate, human_size


class ProgressPrinter:
    """A one-line progress display for downloads on a terminal. Called from worker threads."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self._out = out
        self._live = out.isatty()
        self._checks = 0  # DownloadVerifying events of this download

    def on_event(self, event: Event) -> None:
        """Redraw the progress line, or report a retry or a wait for the server's digest."""
        if isinstance(event, DownloadStarted):
            self._checks = 0
        elif isinstance(event, DownloadVerifying):
            # A second one: the server is still computing the SHA-256 (issue 9), which may
            # take a minute; say why nothing happens.
            self._checks += 1
            if self._checks == 2:
                self._out.write("\nAll bytes are in; waiting for the server to confirm its"
                                " SHA-256...\n")
                self._out.flush()
        elif isinstance(event, DownloadProgress) and self._live and event.size:
            percent = 100 * event.received / event.size
            self._out.write(f"\r{percent:5.1f}%  {human_size(event.received)} of "
                            f"{human_size(event.size)}  {human_rate(event.bytes_per_second)}  "
                            f"{human_duration(event.seconds_left)} left"
                            + (f"  {event.files_done:,} of {event.files:,} files" if event.files
                               else "") + "   ")
            self._out.flush()
        elif isinstance(event, DownloadRechecking) and self._live:
            self._out.write(f"\r{sentences.rechecking(event.done, event.total)}   ")
            self._out.flush()
        elif isinstance(event, DownloadRetrying):
            self._out.write(f"\nConnection lost ({event.reason}); retrying in "
                            f"{event.delay:.1f} s ({sentences.attempt(event.attempt, event.limit)})"
                            "\n")

    def end(self) -> None:
        """Finish the live line."""
        if self._live:
            self._out.write("\n")


def serve(args: argparse.Namespace) -> int:
    """Offer files until Ctrl-C."""
    # Here, not at the top: `get` has no use for the server (0.08 s of every client's start).
    from core.server import FilecastServer, Ledger, OfferTable, ServerConfig

    files = args.files or [input("Enter the file to distribute: ").strip()]  # or a folder
    printer = ServerPrinter()
    try:
        offer = OfferTable(files, message=args.message, listener=printer)
        ledger = Ledger(args.log_file or default_ledger())
        server = FilecastServer(offer, ledger, printer,
                                ServerConfig(host=args.host, port=args.port,
                                             allowed_hosts=tuple(args.allow_host),
                                             max_per_address=args.max_per_address))
        server.start()
    except FilecastError as error:
        print(escape_controls(str(error)), file=sys.stderr)
        return 1
    print(f"Ledger: {ledger.txt_path}", flush=True)  # issue 11: say where it is written
    for note in offer.state.left_out:  # a folder's hidden files, links out of it (issue 12)
        print(escape_controls(note), flush=True)
    try:
        _stop_on_sigterm()
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nStopping...")
    finally:
        server.close()
        ledger.close()
        offer.close()
    return 0


def _stop_on_sigterm() -> None:
    """Stop on SIGTERM as on Ctrl-C: cut downloads are recorded and the ledger closed
    (the default action ended the process with nothing written)."""
    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    with contextlib.suppress(ValueError):  # not the main thread (tests calling serve())
        signal.signal(signal.SIGTERM, interrupt)


@dataclass
class _Visit:
    """What the terminal visit got to: enough to say, after Ctrl-C, what was kept."""

    folder: Path
    linked: str | None = None  # the file a pasted http://HOST:PORT/files/NAME named
    name: str | None = None
    size: int | None = None

    def cancelled(self) -> str:
        """"Cancelled.", naming the partial file only when one is really there (issue 9)."""
        if self.name is None:
            return "Cancelled."
        part = self.folder.joinpath(*saved_segments(self.name))  # with its folders
        part = part.with_name(part.name + PART_SUFFIX)
        try:
            status = part.lstat()
        except OSError:
            return "Cancelled."
        if not stat.S_ISREG(status.st_mode) or not status.st_size:
            return "Cancelled."
        of = f" of {human_size(self.size)}" if self.size else ""
        return (f"Cancelled; the partial file '{escape_text(part.name)}'"
                f" ({human_size(status.st_size)}{of}) is kept for a resume.")


def get(args: argparse.Namespace) -> int:
    """The original client dialogue: host, message, name, yes or no."""
    host_text = args.host or input(sentences.ENTER_HOST).strip()
    try:
        host, port = parse_server(host_text)
    except ValueError as error:
        print(escape_controls(str(error)), file=sys.stderr)
        return 2
    try:  # --output DIR is made when missing, as curl --create-dirs does (issue 12)
        Path(args.output).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(escape_controls(f"Cannot make the folder {args.output}:"
                              f" {error.strerror or error}."), file=sys.stderr)
        return 1
    progress = ProgressPrinter()
    visit = _Visit(Path(args.output), linked=file_in_url(host_text))
    name = account_name() if args.display_name is None else (args.display_name.strip() or None)
    with FilecastClient(host, port, client_id=client_id(), name=name,
                        listener=progress) as client:
        try:
            return _visit(client, args, progress, visit)
        except CancelledError:
            progress.end()
            print(visit.cancelled())
            return 130
        except FilecastError as error:
            progress.end()
            print(escape_controls(str(error)), file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            client.cancel()
            progress.end()
            print(visit.cancelled())
            return 130


def _visit(client: FilecastClient, args: argparse.Namespace, progress: ProgressPrinter,
           visit: _Visit) -> int:
    """Greeting, name, check, answer; asked again when the file changes before it is saved."""
    offer = client.connect()
    print(escape_controls(offer.message))
    several = args.all or len(args.names) > 1 or (
        len(args.names) == 1 and names_a_folder([f.name for f in offer.files], args.names[0]))
    if several:  # several files or a folder: one question (issue 12)
        return get_many(client, offer, args, visit.folder, _yes_or_no, progress.end)
    typed = (args.names[0] if args.names else None) or visit.linked \
        or input(sentences.ENTER_FILENAME).strip()
    match = match_name(typed, [f.name for f in offer.files])
    name = match.name or typed
    if name != typed:  # case or Unicode form only: the one file it can mean (issue 11)
        print(sentences.taking(quoted(name)))
    try:
        info = client.check(name)
    except NotOfferedError:
        print(sentences.NOT_OFFERED)
        if match.suggestion is None or not _takes_suggestion(args, match.suggestion):
            return 1
        name = match.suggestion
        info = client.check(name)
    visit.name = name
    while True:
        visit.size = info.size
        warning = sentences.short_of_space(info.size, free_bytes(visit.folder))
        if warning:
            print(warning)
        if not _wants_it(args, info.size):
            client.decline(name)
            print(f"You did not download '{escape_text(name)}'; the server has recorded that.")
            return 0
        try:
            result = client.download(name, visit.folder, info=info)
        except OfferChangedError as changed:
            # issue 9: consent is for the file shown; --yes agreed to that one only
            progress.end()
            if args.yes:
                raise
            print(escape_controls(str(changed)))
            info = changed.info
            continue
        break
    progress.end()
    print(sentences.DOWNLOAD_COMPLETE)
    how = "SHA-256 verified" if result.verified else "SHA-256 not verified"
    print(f"Saved {result.path} ({human_size(result.size)}, {how}).")
    return 0


def _takes_suggestion(args: argparse.Namespace, suggestion: str) -> bool:
    """"Did you mean 'x'?": asked when interactive; --yes and --no never take a guess."""
    question = sentences.did_you_mean(quoted(suggestion))
    if args.yes or args.no:
        print(question)
        return False
    return _yes_or_no(f"{question} (Y/N): ")


def _wants_it(args: argparse.Namespace, size: int) -> bool:
    """--yes / --no, or ask "download?(Y/N)" until the answer is Y or N."""
    if args.yes or args.no:
        print(sentences.ask_terminal(size) + ("Y" if args.yes else "N"))
        return bool(args.yes)
    return _yes_or_no(sentences.ask_terminal(size))


def _yes_or_no(prompt: str) -> bool:
    """Ask until the answer is Y or N."""
    while True:
        answer = input(prompt).strip().lower()
        if answer in ("y", "yes", "n", "no"):
            return answer.startswith("y")
        print("Please answer Y or N.")


def build_parser() -> argparse.ArgumentParser:
    """The ``serve`` and ``get`` commands and every option."""
    parser = argparse.ArgumentParser(prog="python -m core", description=(
        "Filecast: offer a file to everyone on the network, and fetch it."))
    parser.add_argument("--version", action="version", version=f"Filecast {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    s = commands.add_parser("serve", help="offer files to clients",
                            description="Offer FILE(s) over HTTP until Ctrl-C.")
    s.add_argument("files", nargs="*", metavar="PATH",
                   help="files or folders to offer (a file is asked for when absent)")
    s.add_argument("--host", default="",
                   help="address to listen on (default: every interface, IPv4 and IPv6;"
                   " 0.0.0.0: IPv4 only)")
    s.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"port to listen on (default: {DEFAULT_PORT}; 0 picks a free one)")
    s.add_argument("--log-file", default=None, metavar="PATH",
                   help="ledger file; a .jsonl twin is written beside it (default:"
                   f" {default_ledger()})")
    s.add_argument("--max-per-address", type=int, default=DEFAULT_MAX_PER_ADDRESS,
                   metavar="N", help="connections one IP address may hold (default:"
                   f" {DEFAULT_MAX_PER_ADDRESS}; 0: no limit); at the limit its idle"
                   " ones give way")
    s.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="a DNS name clients use for this computer besides its own name and"
                   " its IP addresses (others are refused: DNS rebinding); repeatable")
    s.add_argument("--message", help="what clients are told (default: \"Enter 'NAME' when "
                   "prompted to download the document...\")")
    s.set_defaults(run=serve)
    g = commands.add_parser("get", help="download a file from a Filecast server",
                            description="Connect, hear the server's message, ask for a file.")
    g.add_argument("host", nargs="?", help=f"HOST or HOST:PORT (default port {DEFAULT_PORT}; "
                   "asked when absent)")
    g.add_argument("names", nargs="*", metavar="NAME",
                   help="the file to ask for (asked when absent); several, or a folder of the"
                   " offer ('Week 12/'), are asked about once")
    g.add_argument("--all", action="store_true", help="ask for every offered file at once")
    answer = g.add_mutually_exclusive_group()
    answer.add_argument("--yes", "-y", action="store_true", help="download without asking")
    answer.add_argument("--no", "-n", action="store_true", help="decline without asking")
    g.add_argument("--name", dest="display_name", metavar="NAME",
                   help="your name, as the server's ledger shows it (default: this account's"
                   " full name; \"\" sends none). Names are self-declared.")
    g.add_argument("--output", "-o", default=".",
                   help="folder to save into (default: the current folder)")
    g.set_defaults(run=get)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m core``."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except (EOFError, KeyboardInterrupt):
        print()
        return 130
    return code
