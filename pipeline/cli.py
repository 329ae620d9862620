"""The `newsbeam` command: its commands, their flags and exit statuses.

    newsbeam run [flags] [Beam pipeline options]   (pipeline/run.py)
    newsbeam stream [flags] [--every S] [--for S] [Beam pipeline options]   (pipeline/stream.py)
    newsbeam compact OUTPUT [--dataset NAME]... [--target-mb N]   (pipeline/compact.py)
    newsbeam report OUTPUT [--run ID | --last N]   (pipeline/report.py)"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import NoReturn

from apache_beam.io.filesystems import FileSystems

from pipeline.commit import recover_output
from pipeline.compact import DEFAULT_TARGET_MB, compact
from pipeline.config import ConfigError
from pipeline.lease import Lease, LeaseBusy, LeaseSettings
from pipeline.options import refuse_unknown
from pipeline.report import run_report, trend_report
from pipeline.run import RunFailed, run
from pipeline.stream import stream
from pipeline.workers import WorkersCannotStart
from transforms.core.schemas import DATASETS

# Exit statuses: the run finished (some inputs may be in errors/); the run failed and nothing
# was committed (unexpected failures past their limit, or the runner stopped); the command
# could not start (usage, config or output location).
EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE = 0, 1, 2
# Another run or compaction holds the output's lease (and lease.wait_s passed).
EXIT_LEASE_BUSY = 3

USAGE = """usage: newsbeam run [--config PATH] [--input GLOB]... [--feed URL_OR_PATH]...
                    [--sitemap URL_OR_PATH]... [--output DIR] [--allow-private-hosts]
                    [Beam pipeline options ...]
       newsbeam stream [the flags of run] [--every SECONDS] [--for SECONDS]
       newsbeam compact OUTPUT [--dataset NAME]... [--target-mb N]
       newsbeam report OUTPUT [--run ID | --last N]

run: with no --input, --feed or --sitemap, reads the config's inputs (seeds/*.txt) into out/ on the
DirectRunner. Any other --flag goes to Apache Beam (--runner, --direct_num_workers, ...);
a flag neither knows is refused.
stream: every --every seconds (default 60) reads what is new and commits it as a run does,
until SIGTERM or SIGINT (the batch in progress is committed first) or --for seconds.
compact: merges each partition's small files into files of about N MB (default 128) and each
index bucket into one file; not while a run writes to OUTPUT.
report: writes the HTML report of a run (the last by default) or of the trends over the last
N runs to OUTPUT/_reports/ (each run writes its own at the end)."""


# How a run that did not commit ended, as its exit status (its message goes to stderr).
RUN_ENDINGS: tuple[tuple[type[Exception], int], ...] = (
    (ConfigError, EXIT_USAGE), (WorkersCannotStart, EXIT_USAGE),
    (LeaseBusy, EXIT_LEASE_BUSY), (RunFailed, EXIT_RUN_FAILED))


def run_command(argv: list[str], command: Callable[[list[str]], str] = run) -> int:
    """`newsbeam run` (or, with `command=stream`, `newsbeam stream`): its line, or what ended
    it, as its exit status."""
    try:
        print(command(argv))
    except tuple(kind for kind, _ in RUN_ENDINGS) as exc:
        print(f"newsbeam: {exc}", file=sys.stderr)
        return next(status for kind, status in RUN_ENDINGS if isinstance(exc, kind))
    return EXIT_OK


class CommandParser(argparse.ArgumentParser):
    """A command's flags; what it cannot parse raises ConfigError in one line (argparse would
    print its usage and exit)."""

    def __init__(self, command: str) -> None:
        super().__init__(prog=f"newsbeam {command}", add_help=False, allow_abbrev=False)
        self.command = command

    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"newsbeam {self.command}: {message}")

    def parse_command(self, argv: list[str]) -> argparse.Namespace:
        args, unknown = self.parse_known_args(argv)
        refuse_unknown(unknown, self, self.command)
        return args


def parsed(parser: CommandParser, argv: list[str]) -> argparse.Namespace | None:
    """The command's arguments, or None once what is wrong with them is said on stderr."""
    try:
        return parser.parse_command(argv)
    except ConfigError as exc:
        print(f"newsbeam: {exc}", file=sys.stderr)
        return None


def compact_command(argv: list[str]) -> int:
    parser = CommandParser("compact")
    parser.add_argument("output")
    parser.add_argument("--dataset", action="append", choices=sorted(DATASETS))
    parser.add_argument("--target-mb", type=int, default=DEFAULT_TARGET_MB)
    args = parsed(parser, argv)
    if args is None:
        return EXIT_USAGE
    if args.target_mb < 1:
        print("newsbeam: --target-mb must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    if not FileSystems.exists(args.output):
        print(f"newsbeam: no output at {args.output!r}", file=sys.stderr)
        return EXIT_USAGE
    started = time.monotonic()
    try:
        with Lease(args.output, LeaseSettings(), "compaction"):
            recovered = recover_output(args.output)
            report = compact(args.output, args.dataset, args.target_mb)
    except LeaseBusy as exc:
        print(f"newsbeam: {exc}", file=sys.stderr)
        return EXIT_LEASE_BUSY
    print(f"{report.summary()}; wall time {time.monotonic() - started:.1f} s{recovered}")
    return EXIT_OK


def report_command(argv: list[str]) -> int:
    parser = CommandParser("report")
    parser.add_argument("output")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--run", default=None)
    which.add_argument("--last", type=int, default=None)
    args = parsed(parser, argv)
    if args is None:
        return EXIT_USAGE
    try:
        if args.last is not None:
            if args.last < 1:
                raise ValueError("--last must be at least 1")
            path = trend_report(args.output, args.last)
        else:
            path = run_report(args.output, args.run)
    except ValueError as exc:
        print(f"newsbeam: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"newsbeam report: {path}")
    return EXIT_OK


def stream_command(argv: list[str]) -> int:
    return run_command(argv, stream)


COMMANDS = {"run": run_command, "stream": stream_command, "compact": compact_command,
            "report": report_command}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return EXIT_OK if args else EXIT_USAGE
    if args[0] not in COMMANDS:
        print(f"newsbeam: unknown command {args[0]!r}\n{USAGE}", file=sys.stderr)
        return EXIT_USAGE
    if any(a in ("-h", "--help") for a in args[1:]):
        print(USAGE)
        return EXIT_OK
    return COMMANDS[args[0]](args[1:])


if __name__ == "__main__":
    sys.exit(main())
