"""`newsbeam stream`: one long-lived process that, every `every` seconds, takes what is new
(files not read before, feed entries not written before) through the same graph and commits it
as one run commits it (one `runs/` row per batch, mode "stream").

Why micro-batches in one process: Beam's local runners cannot run an unbounded graph correctly
(windows fire when the source ends), and a batch graph over what is new is exactly a run. The
process holds the output's lease for its life, so compaction runs inside it, between batches,
on its own schedule; the models stay loaded between batches (each is loaded once per process).
SIGTERM or SIGINT: the batch in progress finishes and commits, then the stream exits 0."""

from __future__ import annotations

import math
import signal
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import StandardOptions

from pipeline.build import Source, add_stages
from pipeline.commit import CommitWindows, recover_output
from pipeline.compact import compact
from pipeline.config import ConfigError
from pipeline.lease import Lease, LeaseLost
from pipeline.options import StreamOptions
from pipeline.run import Launch, RunFailed, first_line, launch, prepare_indexes, run_once
from transforms.core import metrics
from transforms.sources import PollSources
from transforms.storage.layout import OutputPaths
from transforms.write import MANIFESTS


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set `stop` (the batch in progress finishes) while in the block."""
    def ask_to_stop(signum: int, _frame: object) -> None:
        print(f"newsbeam stream: {signal.Signals(signum).name} received; finishing the batch "
              f"in progress", flush=True)
        stop.set()

    previous = {sig: signal.signal(sig, ask_to_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class Stream:
    """The batches of one stream, under one lease."""

    def __init__(self, job: Launch, lease: Lease) -> None:
        self.job = job
        self.lease = lease
        self.settings = job.settings.stream
        self.batches = self.committed = self.failed_in_row = 0
        self.totals: Counter[str] = Counter()
        self.last_compaction = time.monotonic()
        self.committed_at_compaction = 0

    def batch(self) -> None:
        """One batch: what is new, committed; a failed batch is said and counted (past
        stream.max_failed_batches in a row, RunFailed stops the stream)."""
        self.batches += 1
        stamp = f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}"
        try:
            self.lease.check_held()
        except LeaseLost as exc:
            raise RunFailed(f"the stream stopped: {exc}") from None
        try:
            outcome = run_once(self.job, self.lease, mode="stream")
        except RunFailed as exc:
            self.failed_in_row += 1
            print(f"newsbeam stream: batch {self.batches} at {stamp}: {exc}", flush=True)
            if self.failed_in_row >= self.settings.max_failed_batches:
                raise RunFailed(f"the stream stopped: {self.failed_in_row} batches in a row "
                                f"failed (stream.max_failed_batches); the last: {exc}") from None
            return
        self.failed_in_row = 0
        self.committed += outcome.committed
        self.totals += outcome.totals
        print(f"newsbeam stream: batch {self.batches} at {stamp}: "
              f"{outcome.line.removeprefix('newsbeam: ')}", flush=True)

    def compact_if_due(self) -> None:
        """Merges the small files the batches left, every stream.compact_every_s (when a batch
        committed since the last time)."""
        every = self.settings.compact_every_s
        if (not every or time.monotonic() - self.last_compaction < every
                or self.committed == self.committed_at_compaction):
            return
        self.last_compaction = time.monotonic()
        self.committed_at_compaction = self.committed
        output = self.job.settings.output
        try:
            recovered = recover_output(output)
            report = compact(output, None, self.settings.compact_target_mb)
        except Exception as exc:  # noqa: BLE001 - said with its trace; the data is committed
            traceback.print_exc()   # and the next batch's recovery finishes what it began
            print(f"newsbeam stream: compaction failed, the stream goes on: "
                  f"{first_line(exc)}", flush=True)
            return
        print(f"newsbeam stream: compaction: "
              f"{report.summary().removeprefix('newsbeam compact: ')}{recovered}", flush=True)

    def summary(self, seconds: float) -> str:
        return (f"newsbeam stream: stopped after {self.batches} batches in {seconds:.0f} s "
                f"({self.committed} committed); articles written "
                f"{self.totals[metrics.ARTICLES_WRITTEN]}, already in output "
                f"{self.totals[metrics.SKIPPED_EXISTING]}, files unchanged "
                f"{self.totals[metrics.FILES_UNCHANGED]}")


def build_unbounded_pipeline(job: Launch, source: Source) -> beam.Pipeline:
    """A stream's unbounded graph: the run's stages over what `source` reads, in fixed windows
    of stream.every_s, each window committed as a run by CommitWindows on the workers."""
    pipeline = beam.Pipeline(options=job.options)
    # every window has its own layout (OutputLayout.in_window); this one names the output
    layout = job.settings.layout(datetime.now(UTC))
    stages = add_stages(pipeline, job.settings, layout, source)
    runner = str(job.options.view_as(StandardOptions).runner or "DirectRunner")
    _ = stages["rows"][MANIFESTS] | "CommitWindows" >> beam.ParDo(
        CommitWindows(job.config, runner, job.settings.lease))
    return pipeline


def stream_unbounded(job: Launch, every_s: float, for_s: float | None) -> str:
    """`newsbeam stream --streaming`: the unbounded graph on the configured runner, polling
    from the next multiple of `every_s` (for `for_s` seconds, or for ever). What interrupted
    runs left is recovered first, under the lease; then the lease is left to the windows'
    commits (the job outlives this process on a remote runner)."""
    settings = replace(job.settings, stream=replace(job.settings.stream, every_s=every_s))
    with Lease(settings.output, settings.lease, "stream"):
        recovered = recover_output(settings.output)
        prepare_indexes(settings, settings.layout(datetime.now(UTC)))
    start = math.ceil(time.time() / every_s) * every_s
    stop = start + for_s if for_s is not None else None

    def poll(pipeline: beam.Pipeline) -> dict[str, Any]:
        return pipeline | "PollSources" >> PollSources(
            settings.sources, OutputPaths(settings.output), every_s,
            settings.stream.remember_ids_s, start, stop)

    started = time.monotonic()
    result = build_unbounded_pipeline(replace(job, settings=settings), poll).run()
    result.wait_until_finish()
    return (f"newsbeam stream: the unbounded graph ended after "
            f"{time.monotonic() - started:.0f} s; each window was committed as a run "
            f"(see runs/){recovered}")


def stream(argv: list[str], stop: threading.Event | None = None) -> str:
    """Runs `newsbeam stream ARGV` until SIGTERM/SIGINT, `stop` set, or --for seconds; returns
    its closing line. Raises as `run` does (RunFailed: the stream stopped on failed batches or
    a lost lease; it commits nothing more)."""
    job = launch(argv, "stream")
    flags = job.options.view_as(StreamOptions)
    every_s = flags.every if flags.every is not None else job.settings.stream.every_s
    if every_s <= 0 or (flags.for_s is not None and flags.for_s <= 0):
        raise ConfigError("--every and --for take a number of seconds above 0")
    if job.options.view_as(StandardOptions).streaming:
        return stream_unbounded(job, every_s, flags.for_s)
    stop = stop or threading.Event()
    started = time.monotonic()
    ends = started + flags.for_s if flags.for_s is not None else float("inf")
    with stop_on_signals(stop), Lease(job.settings.output, job.settings.lease,
                                      "stream") as lease:
        batches = Stream(job, lease)
        while not stop.is_set() and time.monotonic() < ends:
            began = time.monotonic()
            batches.batch()
            if not stop.is_set():
                batches.compact_if_due()
            stop.wait(max(0.0, min(began + every_s, ends) - time.monotonic()))
        return batches.summary(time.monotonic() - started)
