"""Sources: files by glob (text, HTML, feed files; gzip or not) and feeds by URL -> RawDocuments.

Its phases: files (globs matched and read), feeds (entries of RSS, Atom and JSON feeds),
fetching (feeds by URL and their entries' pages), http (the client and robots.txt), decode
(bytes to text)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.transforms.periodicsequence import PeriodicImpulse
from apache_beam.transforms.window import FixedWindows
from apache_beam.utils.timestamp import MAX_TIMESTAMP, Timestamp

from transforms.core import metrics
from transforms.core.failures import ERRORS, MAIN, apply_stage
from transforms.core.records import article_id_for
from transforms.sources.fetching import FEED_STATE, FetchEntryPages, FetchFeed
from transforms.sources.files import (
    INPUT_FILES,
    MatchInputs,
    ReadInputFile,
    UnreadFiles,
    file_signature,
    input_file_row,
)
from transforms.sources.settings import SourceSettings
from transforms.storage.history import FirstSight, NotWritten
from transforms.storage.index import LookupIndex
from transforms.storage.layout import OutputPaths, run_time_in

INDEX_KINDS = (FEED_STATE, INPUT_FILES)


class ReadSources(beam.PTransform):
    """pipeline -> {'documents': {'files' | 'feed_entries' | 'pages': RawDocuments},
    'errors': ErrorRecords, 'feed_state': this run's rows (None when the run reads no feed
    URLs), 'index_rows': {index name: rows} for its indexes}.

    Files by glob, those read before skipped; feeds by URL, with the state the output holds
    for those feeds; for feeds that ask for it, each new entry's full page (entries already in
    the output are not fetched again). `output`: what earlier runs wrote (the files read, the
    feeds' state, the articles written); `run_time`: written with each feed's state.

    Applied to a pipeline, it reads once (a run). Applied to a PCollection of ticks in fixed
    windows (a stream's unbounded graph: PollSources), it reads again on every tick, each
    window as a run of its own; `remember_s` then says how long the stream remembers a file or
    a feed entry it read (FirstSight), so one not yet committed is not read twice, and a glob
    that matches nothing is no error (an empty folder is waiting for files)."""

    def __init__(self, settings: SourceSettings, output: OutputPaths, run_time: datetime,
                 remember_s: float | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.output = output
        self.run_time = run_time
        self.remember_s = remember_s

    def each_time(self, root: Any, label: str, values: list[Any]) -> beam.PCollection:
        """`values` once (root: the pipeline), or on every tick (root: the ticks)."""
        if isinstance(root, beam.PCollection):
            return root | label >> beam.FlatMap(lambda _tick, all_of=tuple(values): all_of)
        return root | label >> beam.Create(values)

    def expand(self, root: Any) -> dict[str, beam.PCollection]:
        polling = self.remember_s is not None
        patterns = self.each_time(root, "InputPatterns", self.settings.patterns)
        matches, match_errors = apply_stage(patterns, "MatchFiles",
                                            MatchInputs(empty_is_error=not polling))
        unread = matches | "UnreadFiles" >> UnreadFiles(self.output)
        if polling:
            unread = unread | "FirstSightOfFiles" >> FirstSight(
                self.remember_s, lambda m: m.path, file_signature, metrics.FILES_UNCHANGED)
        files = (
            unread
            | "SpreadFiles" >> beam.Reshuffle()
            | "OpenFiles" >> fileio.ReadMatches()
        )
        file_documents, read_errors = apply_stage(
            files, "ReadFiles", ReadInputFile(self.settings.http.max_bytes))

        documents = {"files": file_documents}
        errors = [match_errors, read_errors]
        feed_state = None
        if self.settings.feed_urls:  # a run without feed URLs builds none of the feed steps
            feed_documents, feed_errors, feed_state = self.read_feeds(root)
            documents.update(feed_documents)
            errors += feed_errors
        run_time = self.run_time
        index_rows = {INPUT_FILES.name: unread | "InputFileRows" >> beam.Map(
            lambda m, window=beam.DoFn.WindowParam: input_file_row(
                m, run_time_in(window, run_time)))}
        if feed_state is not None:
            index_rows[FEED_STATE.name] = feed_state | "FeedStateRows" >> beam.Map(
                FEED_STATE.index_row)
        return {"documents": documents,
                "errors": tuple(errors) | "SourceErrors" >> beam.Flatten(),
                "feed_state": feed_state, "index_rows": index_rows}

    def read_feeds(self, root: Any
                   ) -> tuple[dict[str, beam.PCollection], list[beam.PCollection],
                              beam.PCollection]:
        """Feed entries, and for feeds that ask for it each new entry's page; their errors;
        this run's feed_state rows."""
        feed_urls = [feed.url for feed in self.settings.feed_urls]
        state = beam.pvalue.AsDict(
            self.each_time(root, "FeedUrls", feed_urls)
            | "LookUpFeedState" >> LookupIndex(self.output, FEED_STATE)
            | "StateByUrl" >> beam.Map(lambda row: (row["key"], row)))
        http = self.settings.http
        feeds = (
            self.each_time(root, "Feeds", self.settings.feed_urls)
            | "SpreadFeeds" >> beam.Reshuffle()
            | "FetchFeeds" >> beam.ParDo(FetchFeed(http, self.run_time), state)
            .with_outputs(ERRORS, "needs_page", "feed_state", main=MAIN)
        )
        new_entries = feeds.needs_page | "NewEntriesToFetch" >> NotWritten(self.output)
        if self.remember_s is not None:  # polled again before its window is committed
            new_entries = new_entries | "FirstSightOfEntries" >> FirstSight(
                self.remember_s, lambda d: article_id_for(d, d.url))
        pages, page_errors = new_entries | "FetchEntryPages" >> FetchEntryPages(http)
        # Kept apart per origin: a Flatten is a materialising step on some runners, and raw
        # pages are the largest records of the run; they are flattened once parsed.
        new_feed_entries = feeds[MAIN] | "NewFeedEntries" >> NotWritten(self.output)
        return ({"feed_entries": new_feed_entries, "pages": pages},
                [feeds[ERRORS], page_errors], feeds.feed_state)


class PollSources(beam.PTransform):
    """pipeline -> what ReadSources gives, read again every `every_s` seconds of a stream's
    unbounded graph: Beam's PeriodicImpulse ticks from `start` (epoch seconds, a multiple of
    `every_s`, so each tick opens its fixed window) until `stop` (None: for ever), each tick
    reading in its window. `remember_s`: see ReadSources."""

    def __init__(self, settings: SourceSettings, output: OutputPaths, every_s: float,
                 remember_s: float, start: float, stop: float | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.output = output
        self.every_s = every_s
        self.remember_s = remember_s
        self.start = start
        self.stop = stop

    def expand(self, pipeline: beam.Pipeline) -> dict[str, beam.PCollection]:
        ticks = (pipeline
                 | "Ticks" >> PeriodicImpulse(
                     start_timestamp=Timestamp(self.start),
                     stop_timestamp=Timestamp(self.stop) if self.stop else MAX_TIMESTAMP,
                     fire_interval=self.every_s)
                 | "TickWindows" >> beam.WindowInto(FixedWindows(self.every_s)))
        return ticks | "ReadSources" >> ReadSources(
            self.settings, self.output, datetime.fromtimestamp(self.start, UTC),
            self.remember_s)
