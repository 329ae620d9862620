"""The `newsbeam` command: `newsbeam run [flags] [Beam pipeline options]`."""

from __future__ import annotations

import argparse
import sys
import threading
import time
import traceback
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import (
    DirectOptions,
    PipelineOptions,
    StandardOptions,
)

from pipeline.build import INDEX_KINDS, build_pipeline
from pipeline.compact import DEFAULT_TARGET_MB, compact
from pipeline.compact import recover as recover_compactions
from pipeline.config import ConfigError, RunSettings, feed_entry, load_config, run_settings
from pipeline.lease import Lease, LeaseBusy, LeaseLost, LeaseSettings
from pipeline.options import NewsbeamOptions
from pipeline.report import (
    prune_run_reports,
    run_report,
    runs_row,
    stage_runs_row,
    trend_report,
)
from transforms.core import metrics
from transforms.core.schemas import DATASETS
from transforms.resolve import backfills
from transforms.storage.index import (
    ensure_indexes,
    merge_touched_buckets,
    next_run_time,
    note_committed_run,
)
from transforms.storage.layout import FAILED, OutputLayout
from transforms.write import add_to_manifest, commit_run, manifest_files, recover_runs

# Exit statuses: the run finished (some inputs may be in errors/); the run failed and nothing
# was committed (unexpected failures past their limit, or the runner stopped); the command
# could not start (usage, config or output location).
EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE = 0, 1, 2
# Another run or compaction holds the output's lease (and lease.wait_s passed).
EXIT_LEASE_BUSY = 3

USAGE = """usage: newsbeam run [--config PATH] [--input GLOB]... [--feed URL_OR_PATH]...
                    [--output DIR] [--allow-private-hosts] [Beam pipeline options ...]
       newsbeam compact OUTPUT [--dataset NAME]... [--target-mb N]
       newsbeam report OUTPUT [--run ID | --last N]

run: with no --input or --feed, reads the config's inputs (seeds/*.txt) into out/ on the
DirectRunner. Any other --flag goes to Apache Beam (--runner, --direct_num_workers, ...).
compact: merges each partition's small files into files of about N MB (default 128) and each
index bucket into one file; not while a run writes to OUTPUT.
report: writes the HTML report of a run (the last by default) or of the trends over the last
N runs to OUTPUT/_reports/ (each run writes its own at the end)."""


def effective_config(options: NewsbeamOptions) -> dict[str, Any]:
    """The config file's settings with the command line's flags on top."""
    config = load_config(options.config)
    if options.inputs or options.feeds:
        config["inputs"] = list(options.inputs or [])
        config["feeds"] = config["feeds"] + [feed_entry(f) for f in options.feeds or []]
    if options.output:
        config["output"] = options.output
    if options.quiet:
        config["progress_s"] = 0.0
    config["allow_private_hosts"] = config["allow_private_hosts"] or options.allow_private_hosts
    if not config["inputs"] and not config["feeds"]:
        raise ConfigError("nothing to read: give --input GLOB or --feed URL, or set inputs")
    return config


def check_output_writable(output: str) -> None:
    """Fail before the run, with a clear message, when OUTPUT cannot be written."""
    probe = f"{output.rstrip('/')}/.newsbeam-write-check-{uuid.uuid4().hex}"
    try:
        FileSystems.create(probe).close()
        FileSystems.delete([probe])
    except Exception as exc:  # noqa: BLE001 - any filesystem failure means the same to the user
        raise ConfigError(f"cannot write to output {output!r}: {exc}") from None


def prepare_indexes(settings: RunSettings, layout: OutputLayout) -> dict[str, int]:
    """Builds, once, the indexes an output written before them lacks (see ensure_indexes)."""
    return ensure_indexes(layout, INDEX_KINDS.values(), backfills(settings.entities.normalizer))


def summary(totals: Counter[str], seconds: float, indexed: dict[str, int] | None = None) -> str:
    errors = metrics.errors_by_stage(totals)
    error_text = ", ".join(f"{stage} {n}" for stage, n in errors.items()) or "none"
    built = ""
    if indexed:
        built = "; indexes built once from earlier datasets: " + ", ".join(
            f"{name} ({rows} rows)" for name, rows in indexed.items())
    return (f"newsbeam: inputs seen {totals[metrics.INPUTS]} ({totals[metrics.RECORDS]} records, "
            f"{totals[metrics.FEEDS_UNCHANGED]} feeds unchanged), "
            f"articles written {totals[metrics.ARTICLES_WRITTEN]}, "
            f"already in output {totals[metrics.SKIPPED_EXISTING]}, "
            f"errors by stage: {error_text}; wall time {seconds:.1f} s{built}"
            f"{languages_note(totals)}")


def languages_note(totals: Counter[str]) -> str:
    """"; languages: en 5, de 1 (without entities: de 1; without topics: de 1)"."""
    counted = metrics.by_language(totals)
    if not counted["written"]:
        return ""

    def listed(counts: dict[str, int]) -> str:
        return ", ".join(f"{code} {n}" for code, n in counts.items())

    missing = "; ".join(f"{label}: {listed(counted[key])}" for key, label in (
        ("no_entities", "without entities"), ("no_topics", "without topics")) if counted[key])
    return f"; languages: {listed(counted['written'])}" + (f" ({missing})" if missing else "")


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[-1] if lines else ''}"


class Progress(threading.Thread):
    """A line every `every_s` seconds while the run works: records read, parsed and written so
    far, and the rate. Counts come from the metrics module's counters: the runner's live
    metrics where it has them, else what this process has counted (in-process runners)."""

    def __init__(self, every_s: float, counts_here: bool) -> None:
        """`counts_here`: the runner runs the pipeline in this process (so what this process
        counts is the run's progress)."""
        super().__init__(daemon=True, name="newsbeam-progress")
        self.every_s = every_s
        self.counts_here = counts_here
        self.result: Any = None
        self._stop_event = threading.Event()
        self._baseline = metrics.local_tally()
        self._began = time.monotonic()

    def __enter__(self) -> Progress:
        if self.every_s > 0:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join()

    def counts(self) -> Counter[str]:
        if self.result is not None:
            try:
                return metrics.totals(self.result)
            except Exception:  # noqa: BLE001 - a runner without live metrics: count locally
                pass
        return metrics.local_tally() - self._baseline

    def line(self) -> str:
        elapsed = time.monotonic() - self._began
        counts = self.counts()
        if not counts and not self.counts_here:
            return (f"newsbeam: progress {elapsed:.0f} s: running (this runner reports its "
                    f"counts when it finishes)")
        errors = sum(metrics.errors_by_stage(counts).values())
        return (f"newsbeam: progress {elapsed:.0f} s: inputs read {counts[metrics.INPUTS]}, "
                f"records parsed {counts[metrics.RECORDS]}, articles written "
                f"{counts[metrics.ARTICLES_WRITTEN]}, errors {errors}; "
                f"{counts[metrics.RECORDS] / max(elapsed, 1e-9):.1f} records/s")

    def run(self) -> None:
        while not self._stop_event.wait(self.every_s):
            print(self.line(), flush=True)


def finish_commit(layout: OutputLayout, committed: list[str]) -> None:
    """What follows a run's files into the output: its time for the next runs, and the
    merging of the index buckets it added to."""
    note_committed_run(layout)
    merge_touched_buckets(layout, committed, INDEX_KINDS)


def recover_output(output: str) -> str:
    """Finishes or undoes what interrupted runs and compactions left (under the lease);
    returns a note for the summary line, empty when there was nothing."""
    layout = OutputLayout(output, datetime.now(UTC))
    finished, undone = recover_runs(layout)
    for earlier, committed in finished:
        finish_commit(earlier, committed)
    compactions = recover_compactions(layout)
    done = [f"{n} {what}" for n, what in ((len(finished), "interrupted commit(s) finished"),
                                         (undone, "unfinished run(s) removed"),
                                         (compactions, "interrupted compaction(s) finished"))
            if n]
    return f"; recovered: {', '.join(done)}" if done else ""


def run(argv: list[str]) -> int:
    options = PipelineOptions(argv)
    try:
        config = effective_config(options.view_as(NewsbeamOptions))
        settings = run_settings(config)
        check_output_writable(settings.output)
    except (ConfigError, ValueError) as exc:
        print(f"newsbeam: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        with Lease(settings.output, settings.lease, "run") as lease:
            return run_holding_lease(options, config, settings, lease)
    except LeaseBusy as exc:
        print(f"newsbeam: {exc}", file=sys.stderr)
        return EXIT_LEASE_BUSY


def run_holding_lease(options: PipelineOptions, config: dict[str, Any], settings: RunSettings,
                      lease: Lease) -> int:
    started = time.monotonic()
    recovered = recover_output(settings.output)
    layout = settings.layout(next_run_time(settings.output, datetime.now(UTC)))
    try:
        indexed = prepare_indexes(settings, layout)
        pipeline = build_pipeline(options, settings, layout)
    except (ConfigError, ValueError) as exc:
        print(f"newsbeam: {exc}", file=sys.stderr)
        return EXIT_USAGE
    direct = options.view_as(DirectOptions)
    in_process = (options.view_as(StandardOptions).runner in (None, "DirectRunner")
                  and direct.direct_running_mode in (None, "in_memory"))
    progress = Progress(settings.progress_s, counts_here=in_process)
    try:
        with progress:
            result = pipeline.run()
            progress.result = result  # runners that run in the background report as they go
            result.wait_until_finish()
    except Exception as exc:  # noqa: BLE001 - the runner's failure, reported in one line
        traceback.print_exc()
        print(f"newsbeam: the run failed, nothing committed: {_first_line(exc)}",
              file=sys.stderr)
        return EXIT_RUN_FAILED
    totals = metrics.totals(result)
    breach = settings.failures.breach(totals)
    if breach is not None:
        with FileSystems.create(layout.marker(FAILED)) as handle:
            handle.write(breach.encode())
        print(f"newsbeam: the run failed, nothing committed: {breach}; its files and errors "
              f"rows are left in {layout.staging}", file=sys.stderr)
        return EXIT_RUN_FAILED
    try:
        lease.check_held()
    except LeaseLost as exc:
        print(f"newsbeam: {exc}", file=sys.stderr)
        return EXIT_RUN_FAILED
    seconds = time.monotonic() - started
    staged_errors = [layout.staged(path) for path in manifest_files(layout)
                     if path.startswith("errors/")]
    runner = options.view_as(StandardOptions).runner or "DirectRunner"
    row = runs_row(layout, config, str(runner), totals, datetime.now(UTC), seconds,
                   staged_errors, metrics.seconds_by_stage(result))
    add_to_manifest(layout, [stage_runs_row(layout, row)])
    finish_commit(layout, commit_run(layout))
    print(summary(totals, seconds, indexed) + recovered
          + report_note(settings.output, layout, settings.keep_run_reports))
    return EXIT_OK


def report_note(output: str, layout: OutputLayout, keep: int) -> str:
    """Writes the run's HTML report, and deletes all but the newest `keep`; the report's path
    for the summary line. The run is committed already: a report that fails is said on stderr
    and the run still counts as done."""
    try:
        path = run_report(output, layout.stamp)
    except Exception as exc:  # noqa: BLE001 - reported, and the data is committed
        traceback.print_exc()
        print(f"newsbeam: the run is committed, but its report failed: {_first_line(exc)}; "
              f"`newsbeam report {output}` writes it again", file=sys.stderr)
        return ""
    try:
        pruned = prune_run_reports(output, keep)
    except Exception as exc:  # noqa: BLE001 - reported, and the data is committed
        traceback.print_exc()
        print(f"newsbeam: the run is committed, but deleting run reports beyond "
              f"keep_run_reports={keep} failed: {_first_line(exc)}", file=sys.stderr)
        pruned = 0
    return f"; report: {path}" + f" ({pruned} older deleted)" * bool(pruned)


def compact_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="newsbeam compact", add_help=False)
    parser.add_argument("output")
    parser.add_argument("--dataset", action="append", choices=sorted(DATASETS))
    parser.add_argument("--target-mb", type=int, default=DEFAULT_TARGET_MB)
    try:
        args = parser.parse_args(argv)
    except SystemExit:  # argparse has printed what is wrong
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
    parser = argparse.ArgumentParser(prog="newsbeam report", add_help=False)
    parser.add_argument("output")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--run", default=None)
    which.add_argument("--last", type=int, default=None)
    try:
        args = parser.parse_args(argv)
    except SystemExit:  # argparse has printed what is wrong
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


COMMANDS = {"run": run, "compact": compact_command, "report": report_command}


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
