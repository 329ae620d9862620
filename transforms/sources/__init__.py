"""Sources: files by glob (text, HTML, feed files; gzip or not) and feeds by URL -> RawDocuments.

Its phases: files (globs matched and read), feeds (entries of RSS, Atom and JSON feeds),
fetching (feeds by URL and their entries' pages), http (the client and robots.txt), decode
(bytes to text)."""

from __future__ import annotations

from datetime import datetime

import apache_beam as beam
from apache_beam.io import fileio

from transforms.core.failures import ERRORS, MAIN, apply_stage
from transforms.sources.fetching import FEED_STATE, FetchEntryPages, FetchFeed
from transforms.sources.files import (
    INPUT_FILES,
    MatchInputs,
    ReadInputFile,
    UnreadFiles,
    input_file_row,
)
from transforms.sources.settings import SourceSettings
from transforms.storage.history import NotWritten
from transforms.storage.index import LookupIndex
from transforms.storage.layout import OutputPaths

INDEX_KINDS = (FEED_STATE, INPUT_FILES)


class ReadSources(beam.PTransform):
    """pipeline -> {'documents': {'files' | 'feed_entries' | 'pages': RawDocuments},
    'errors': ErrorRecords, 'feed_state': this run's rows (None when the run reads no feed
    URLs), 'index_rows': {index name: rows} for its indexes}.

    Files by glob, those read before skipped; feeds by URL, with the state the output holds
    for those feeds; for feeds that ask for it, each new entry's full page (entries already in
    the output are not fetched again). `output`: what earlier runs wrote (the files read, the
    feeds' state, the articles written);
    `run_time`: written with each feed's state."""

    def __init__(self, settings: SourceSettings, output: OutputPaths, run_time: datetime
                 ) -> None:
        super().__init__()
        self.settings = settings
        self.output = output
        self.run_time = run_time

    def expand(self, pipeline: beam.Pipeline) -> dict[str, beam.PCollection]:
        patterns = pipeline | "InputPatterns" >> beam.Create(self.settings.patterns)
        matches, match_errors = apply_stage(patterns, "MatchFiles", MatchInputs())
        unread = matches | "UnreadFiles" >> UnreadFiles(self.output)
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
            feed_documents, feed_errors, feed_state = self.read_feeds(pipeline)
            documents.update(feed_documents)
            errors += feed_errors
        index_rows = {INPUT_FILES.name: unread | "InputFileRows" >> beam.Map(
            input_file_row, self.run_time)}
        if feed_state is not None:
            index_rows[FEED_STATE.name] = feed_state | "FeedStateRows" >> beam.Map(
                FEED_STATE.index_row)
        return {"documents": documents,
                "errors": tuple(errors) | "SourceErrors" >> beam.Flatten(),
                "feed_state": feed_state, "index_rows": index_rows}

    def read_feeds(self, pipeline: beam.Pipeline
                   ) -> tuple[dict[str, beam.PCollection], list[beam.PCollection],
                              beam.PCollection]:
        """Feed entries, and for feeds that ask for it each new entry's page; their errors;
        this run's feed_state rows."""
        feed_urls = [feed.url for feed in self.settings.feed_urls]
        state = beam.pvalue.AsDict(
            pipeline
            | "FeedUrls" >> beam.Create(feed_urls)
            | "LookUpFeedState" >> LookupIndex(self.output, FEED_STATE)
            | "StateByUrl" >> beam.Map(lambda row: (row["key"], row)))
        http = self.settings.http
        feeds = (
            pipeline
            | "Feeds" >> beam.Create(self.settings.feed_urls)
            | "SpreadFeeds" >> beam.Reshuffle()
            | "FetchFeeds" >> beam.ParDo(FetchFeed(http, self.run_time), state)
            .with_outputs(ERRORS, "needs_page", "feed_state", main=MAIN)
        )
        new_entries = feeds.needs_page | "NewEntriesToFetch" >> NotWritten(self.output)
        pages, page_errors = new_entries | "FetchEntryPages" >> FetchEntryPages(http)
        # Kept apart per origin: a Flatten is a materialising step on some runners, and raw
        # pages are the largest records of the run; they are flattened once parsed.
        new_feed_entries = feeds[MAIN] | "NewFeedEntries" >> NotWritten(self.output)
        return ({"feed_entries": new_feed_entries, "pages": pages},
                [feeds[ERRORS], page_errors], feeds.feed_state)
