"""One run over OUTPUT, from its command line to its commit: the effective config, the lease,
recovery of what interrupted runs left, the graph built and run, the failure limits, the
runs row, the commit, the summary line and the report.

It says how a run ended by returning (committed) or by raising: RunFailed (nothing was
committed), ConfigError or WorkersCannotStart (it could not start), LeaseBusy (another run
holds the output); the command line turns each into its exit status."""

from __future__ import annotations

import sys
import time
import traceback
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import (
    DirectOptions,
    PipelineOptions,
    StandardOptions,
)

from pipeline.build import INDEX_KINDS, build_pipeline
from pipeline.commit import commit_run, finish_commit, recover_output
from pipeline.config import ConfigError, RunSettings, feed_entry, load_config, run_settings
from pipeline.lease import Lease, LeaseLost
from pipeline.options import NewsbeamOptions, refuse_unknown_options
from pipeline.progress import Progress
from pipeline.report import prune_run_reports, run_report
from pipeline.runs import runs_row, stage_runs_row
from pipeline.workers import check_worker_pool, external_pool
from transforms.core import metrics
from transforms.resolve import backfills
from transforms.sources.fetching import feeds_all_unchanged
from transforms.sources.files import unread_files
from transforms.storage.index import ensure_indexes, next_run_time
from transforms.storage.layout import FAILED, OutputLayout, OutputPaths
from transforms.storage.manifest import add_to_manifest, manifest_files


class RunFailed(Exception):
    """The run stopped or broke a failure limit; nothing was committed. The message says
    why."""


def effective_config(options: NewsbeamOptions) -> dict[str, Any]:
    """The config file's settings with the command line's flags on top."""
    config = load_config(options.config)
    if options.inputs or options.feeds or options.sitemaps:
        config["inputs"] = list(options.inputs or [])
        config["feeds"] = config["feeds"] + [feed_entry(f) for f in options.feeds or []]
        config["sitemaps"] = config["sitemaps"] + [feed_entry(f)
                                                   for f in options.sitemaps or []]
    if options.output:
        config["output"] = options.output
    if options.quiet:
        config["progress_s"] = 0.0
    config["allow_private_hosts"] = config["allow_private_hosts"] or options.allow_private_hosts
    if not config["inputs"] and not config["feeds"] and not config["sitemaps"]:
        raise ConfigError("nothing to read: give --input GLOB, --feed URL or --sitemap URL, "
                          "or set inputs")
    return config


def check_output_writable(output: str) -> None:
    """Fail before the run, with a clear message, when OUTPUT cannot be written."""
    probe = OutputPaths(output).write_check(uuid.uuid4().hex)
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
    if indexed := {name: rows for name, rows in (indexed or {}).items() if rows}:
        built = "; indexes built once from earlier datasets: " + ", ".join(
            f"{name} ({rows} rows)" for name, rows in indexed.items())
    return (f"newsbeam: inputs seen {totals[metrics.INPUTS]} ({totals[metrics.RECORDS]} records, "
            f"{totals[metrics.FILES_UNCHANGED]} files and "
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


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[-1] if lines else ''}"


@dataclass(frozen=True)
class Launch:
    """A command line resolved: Beam's options, the effective config and the settings."""

    options: PipelineOptions
    config: dict[str, Any]
    settings: RunSettings


@dataclass(frozen=True)
class Outcome:
    """How one run or stream batch ended: its counters, its wall time, whether it committed,
    and its summary line."""

    totals: Counter[str]
    seconds: float
    committed: bool
    line: str


def launch(argv: list[str], command: str) -> Launch:
    """Parses and checks a run's or a stream's command line, its config and its output (and an
    external worker pool's workers) before anything runs; raises ConfigError saying what to
    fix."""
    refuse_unknown_options(argv, command)
    options = PipelineOptions(argv)
    try:
        config = effective_config(options.view_as(NewsbeamOptions))
        settings = run_settings(config)
        check_output_writable(settings.output)
    except ValueError as exc:  # a value the settings refused
        raise ConfigError(str(exc)) from None
    pool = external_pool(options)
    if pool is not None:
        check_worker_pool(pool, settings.worker_start_s)
    return Launch(options, config, settings)


def run(argv: list[str]) -> str:
    """Runs `newsbeam run ARGV` and returns its summary line once the run is committed (or
    once it found nothing new to read)."""
    job = launch(argv, "run")
    with Lease(job.settings.output, job.settings.lease, "run") as lease:
        return run_once(job, lease).line


def files_all_read(settings: RunSettings) -> int | None:
    """When the run's globs have nothing new to read (every glob matches files and every file
    was read before as it is now): how many files they match. None when there is something
    to do (a glob that matches nothing is an errors row, so that runs too)."""
    sources = settings.sources
    matched = [FileSystems.match([pattern])[0].metadata_list for pattern in sources.patterns]
    if not all(matched):
        return None
    files = [m for found in matched for m in found]
    new_file = next(unread_files(files, OutputPaths(settings.output)), None)
    return None if new_file is not None else len(files)


def nothing_to_read(settings: RunSettings) -> Counter[str] | None:
    """The counts of a run or batch that need not build its graph: no file is new and every
    feed URL answers unchanged (asked last: only when the files leave nothing to do)."""
    files = files_all_read(settings)
    if files is None:
        return None
    feeds = 0
    if settings.sources.feed_urls:
        feeds = feeds_all_unchanged(settings.sources, OutputPaths(settings.output))
        if feeds is None:
            return None
    return Counter({metrics.FILES_UNCHANGED: files, metrics.FEEDS_UNCHANGED: feeds,
                    metrics.INPUTS: feeds})


def found_nothing(totals: Counter[str]) -> bool:
    """A batch that read no new input and changed nothing: every input it polled answered
    unchanged, and no record or error came out."""
    return (totals[metrics.INPUTS] == totals[metrics.FEEDS_UNCHANGED]
            and not totals[metrics.RECORDS]
            and not sum(metrics.errors_by_stage(totals).values()))


def nothing_new(totals: Counter[str], started: float, recovered: str) -> Outcome:
    """The outcome of a run or batch that found nothing new and commits nothing."""
    seconds = time.monotonic() - started
    unchanged = ", ".join(f"{n} {what} unchanged" for what, n in (
        ("files", totals[metrics.FILES_UNCHANGED]), ("feeds", totals[metrics.FEEDS_UNCHANGED]))
        if n)
    return Outcome(totals, seconds, False, f"newsbeam: nothing new ({unchanged}), nothing "
                   f"committed; wall time {seconds:.1f} s{recovered}")


def run_once(job: Launch, lease: Lease, mode: str = "run") -> Outcome:
    """One run (`mode` "run") or one stream batch ("stream") under the lease: recovery, the
    graph, the limits, the commit. A run or batch with nothing new commits nothing: no graph
    when every file was read before and no feed URL is polled, no commit when the feeds
    polled were all unchanged. A stream batch writes no report (`newsbeam report OUTPUT --run
    ID` draws one)."""
    options, settings = job.options, job.settings
    started = time.monotonic()
    recovered = recover_output(settings.output)
    unchanged = nothing_to_read(settings)
    if unchanged is not None:
        return nothing_new(unchanged, started, recovered)
    layout = settings.layout(next_run_time(OutputPaths(settings.output), datetime.now(UTC)))
    try:
        indexed = prepare_indexes(settings, layout)
        pipeline = build_pipeline(options, settings, layout)
    except ValueError as exc:  # a stage refused its settings
        raise ConfigError(str(exc)) from None
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
        raise RunFailed(f"the run failed, nothing committed: {first_line(exc)}") from None
    totals = metrics.totals(result)
    breach = settings.failures.breach(totals)
    if breach is not None:
        with FileSystems.create(layout.marker(FAILED)) as handle:
            handle.write(breach.encode())
        raise RunFailed(f"the run failed, nothing committed: {breach}; its files and errors "
                        f"rows are left in {layout.staging}")
    if found_nothing(totals):
        FileSystems.delete([layout.staging])
        return nothing_new(totals, started, recovered)
    try:
        lease.check_held()
    except LeaseLost as exc:
        raise RunFailed(str(exc)) from None
    seconds = time.monotonic() - started
    staged_errors = [layout.staged(path) for path in manifest_files(layout)
                     if path.startswith("errors/")]
    runner = options.view_as(StandardOptions).runner or "DirectRunner"
    row = runs_row(layout, job.config, str(runner), mode, totals, datetime.now(UTC), seconds,
                   staged_errors, metrics.seconds_by_stage(result))
    add_to_manifest(layout, [stage_runs_row(layout, row)])
    finish_commit(layout, commit_run(layout))
    line = summary(totals, seconds, indexed) + recovered
    if mode == "run":
        line += report_note(settings.output, layout, settings.keep_run_reports)
    return Outcome(totals, seconds, True, line)


def report_note(output: str, layout: OutputLayout, keep: int) -> str:
    """Writes the run's HTML report, and deletes all but the newest `keep`; the report's path
    for the summary line. The run is committed already: a report that fails is said on stderr
    and the run still counts as done."""
    try:
        path = run_report(output, layout.stamp)
    except Exception as exc:  # noqa: BLE001 - reported, and the data is committed
        traceback.print_exc()
        print(f"newsbeam: the run is committed, but its report failed: {first_line(exc)}; "
              f"`newsbeam report {output}` writes it again", file=sys.stderr)
        return ""
    try:
        pruned = prune_run_reports(output, keep)
    except Exception as exc:  # noqa: BLE001 - reported, and the data is committed
        traceback.print_exc()
        print(f"newsbeam: the run is committed, but deleting run reports beyond "
              f"keep_run_reports={keep} failed: {first_line(exc)}", file=sys.stderr)
        pruned = 0
    return f"; report: {path}" + f" ({pruned} older deleted)" * bool(pruned)
