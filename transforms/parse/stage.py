"""The parse stage's Beam step: ParseDocument runs parse_text inline and sends HTML pages to
an extraction process with a deadline, pages ahead; ParseArticles parses each origin in its own
step."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.utils.windowed_value import WindowedValue

from transforms.core import metrics
from transforms.core.deadline import CallWithDeadline, DeadlineExceeded
from transforms.core.failures import BadInput, StageDoFn, apply_stage
from transforms.core.records import Article, RawDocument
from transforms.parse import STAGE, ParseSettings, parse_html_job, parse_text


class ParseDocument(StageDoFn):
    """Parses one document. HTML extraction runs in a child process with a deadline: a page
    that runs past it becomes an errors row, and its extraction is killed, so it uses no more
    CPU and the pages after it are not slowed.

    Pages are sent ahead: up to `pages_ahead` pages wait in the extraction process, and a
    page's outcome is passed on when one more is sent (or when the bundle finishes), so the
    process extracts pages while this worker cleans earlier ones and the steps fused after it
    (entities in batches) run."""

    stage = STAGE

    def __init__(self, settings: ParseSettings) -> None:
        self.settings = settings
        self.extraction = CallWithDeadline(parse_html_job, ("transforms.parse.preload",))
        self.records = metrics.counter(metrics.RECORDS)
        self.sent_from: deque[tuple[Any, Any]] = deque()  # each page in flight's (time, window)

    def start_bundle(self) -> None:
        if self.extraction.in_flight:  # a failed bundle left its pages in the process
            self.extraction.stop()
        self.sent_from.clear()

    def teardown(self) -> None:
        self.extraction.stop()

    def process(self, document: RawDocument, timestamp=beam.DoFn.TimestampParam,  # noqa: ANN001
                window=beam.DoFn.WindowParam) -> Iterator[Any]:  # noqa: ANN001
        self.count_seen(document)
        self.records.inc()
        if document.kind != "html":
            yield from self.guarded(document, lambda: _with_text(parse_text(document)))
            return
        yield from self.guarded(document, lambda: self._submit(document, timestamp, window))
        while self.extraction.in_flight > self.settings.pages_ahead:
            yield from self._collect()

    def finish_bundle(self) -> Iterator[Any]:
        while self.extraction.in_flight:
            yield from self._collect()

    def _submit(self, document: RawDocument, timestamp: Any, window: Any) -> tuple[()]:
        """Sends the page to the extraction process; its outcome comes from `_collect`."""
        self.extraction.submit((document, self.settings.extract_options()))
        self.sent_from.append((timestamp, window))
        return ()

    def _collect(self) -> Iterator[Any]:
        """The oldest page in flight's article (or errors row), in that page's window (the
        element being processed now, or none at the bundle's end, may be in another)."""
        document, _ = self.extraction.oldest()
        timestamp, window = self.sent_from.popleft()
        for output in self.guarded(document, lambda: _with_text(self._extracted())):
            if isinstance(output, pvalue.TaggedOutput):
                yield pvalue.TaggedOutput(output.tag, WindowedValue(output.value, timestamp,
                                                                    [window]))
            else:
                yield WindowedValue(output, timestamp, [window])

    def _extracted(self) -> Article:
        try:
            return self.extraction.result(self.settings.timeout_s)
        except DeadlineExceeded:
            raise DeadlineExceeded(f"extraction took longer than parse.timeout_s="
                                   f"{self.settings.timeout_s:g} s") from None


def _with_text(article: Article) -> Iterator[Article]:
    if not article.text.strip():
        raise BadInput("no body text after the title")
    yield article


class ParseArticles(beam.PTransform):
    """{origin: RawDocuments} -> (Articles, ErrorRecords).

    Each origin is parsed in its own step, fused with its reading, and only the parsed
    articles are flattened: raw pages never wait in a runner's buffer, so memory does not
    grow with the number of pages."""

    def __init__(self, settings: ParseSettings) -> None:
        super().__init__()
        self.settings = settings

    def expand(self, documents: dict[str, beam.PCollection]
               ) -> tuple[beam.PCollection, beam.PCollection]:
        parsed = [apply_stage(pcoll, f"Parse{origin.title().replace('_', '')}",
                              ParseDocument(self.settings))
                  for origin, pcoll in documents.items()]
        return (tuple(articles for articles, _ in parsed) | "AllArticles" >> beam.Flatten(),
                tuple(errors for _, errors in parsed) | "AllParseErrors" >> beam.Flatten())
