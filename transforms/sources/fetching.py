"""Feeds by URL and the pages their entries link to, fetched over HTTP: conditional GETs
with the feed's last state, robots.txt once per site, pages of one host one after another."""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import apache_beam as beam
import pyarrow as pa
from apache_beam import pvalue
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from transforms.core import metrics
from transforms.core.failures import BadInput, StageDoFn, apply_stage
from transforms.core.records import RawDocument
from transforms.core.schemas import FEED_STATE as FEED_STATE_ROWS
from transforms.sources.decode import charset_of, decode_text, read_capped
from transforms.sources.files import ReadInputFile
from transforms.sources.http import (
    FetchError,
    HttpClient,
    HttpSettings,
    Response,
    RobotsRules,
    RobotsVerdict,
    fetch_robots,
    is_url,
    origin_of,
)
from transforms.sources.settings import SITEMAP, FeedSettings, SourceSettings
from transforms.sources.sitemaps import sitemap_items
from transforms.storage.index import IndexKind, latest_per_key, lookup_rows
from transforms.storage.layout import OutputPaths, run_time_in

# Each feed's last state (validators and body digest), for conditional GETs: the feed_state
# dataset's rows keyed by URL, the newest per feed.
FEED_STATE = IndexKind("feed_state", pa.schema([
    FEED_STATE_ROWS.field("url").with_name("key"),
    *(FEED_STATE_ROWS.field(name) for name in FEED_STATE_ROWS.names[1:])]),
    partial(latest_per_key, column="checked_at"), False, "feed_state",
    {"key": "url", **{name: name for name in FEED_STATE_ROWS.names[1:]}})


# An index may name indexes; deeper than this is a loop or a mistake.
MAX_SITEMAP_DEPTH = 2


def conditional_headers(previous: dict[str, Any] | None) -> dict[str, str]:
    """The validators of a feed's last state as conditional GET headers."""
    headers = {}
    if previous and previous.get("etag"):
        headers["If-None-Match"] = previous["etag"]
    if previous and previous.get("last_modified"):
        headers["If-Modified-Since"] = previous["last_modified"]
    return headers


def body_digest(response: Response) -> str:
    return hashlib.sha256(response.body).hexdigest()


def unchanged_since(status: int, digest: str, previous: dict[str, Any] | None) -> bool:
    """Not modified (304), or a body (its `digest`) identical to the last one (some servers
    send wrong validators)."""
    return status == 304 or bool(previous) and previous.get("content_sha256") == digest


def feeds_all_unchanged(settings: SourceSettings, output: OutputPaths) -> int | None:
    """How many feed URLs there are when every one answers unchanged since its last state,
    asked on the launcher before a run or stream batch builds its graph (an idle batch then
    costs a conditional GET per feed, not a graph). None when one has no state yet, changed,
    failed (the graph fetches it again and records why) or is a sitemap (an index may stay
    the same while its sitemaps change)."""
    feeds = settings.feed_urls
    if not feeds or any(f.kind == SITEMAP or not is_url(f.url) for f in feeds):
        return None
    state = {row["key"]: row for row in lookup_rows(output, FEED_STATE,
                                                    [f.url for f in feeds])}
    client = HttpClient(settings.http)
    for feed in feeds:
        previous = state.get(feed.url)
        if previous is None:
            return None
        try:
            response = client.get(feed.url, conditional_headers(previous))
        except BadInput:
            return None
        if not unchanged_since(response.status, body_digest(response), previous):
            return None
    return len(feeds)


class FetchFeed(ReadInputFile):
    """A feed URL fetched over HTTP, then read like a feed file. A conditional GET with the
    validators of the last run (ETag, Last-Modified) saves the download; a body identical to
    the last one (some servers send wrong validators) is not read again. Entries whose feed
    asks for full pages go to the 'needs_page' output."""

    def __init__(self, settings: HttpSettings, checked_at: datetime) -> None:
        super().__init__(settings.max_bytes)
        self.settings = settings
        self.checked_at = checked_at
        self.client: HttpClient | None = None
        self.unchanged = metrics.counter(metrics.FEEDS_UNCHANGED)

    def setup(self) -> None:
        self.client = HttpClient(self.settings)

    def process(self, feed, state, window=beam.DoFn.WindowParam):  # untyped: Beam reads hints
        """As StageDoFn's, with the time of the feed's state row taken from the window (a
        stream's unbounded graph polls each window's feeds as a run of its own)."""
        yield from super().process(feed, state, run_time_in(window, self.checked_at))

    def handle(self, feed: FeedSettings, state: dict[str, dict[str, Any]],
               checked_at: datetime) -> Iterator[Any]:
        self.inputs.inc()
        if self.client is None:
            self.setup()
        url, previous = feed.url, state.get(feed.url)
        if not is_url(url):  # a sitemap file: read whole each run, its pages fetched
            with FileSystems.open(url, compression_type=CompressionTypes.UNCOMPRESSED) as file:
                yield from self._sitemap_pages(feed, read_capped(file, self.max_bytes), None)
            return
        if feed.kind == SITEMAP:  # an index may stay the same while the sitemaps it names
            previous = {"checked_at": previous and previous.get("checked_at")}  # change
        response = self.client.get(url, conditional_headers(previous))
        if response.status == 304:
            self.unchanged.inc()
            return
        digest = body_digest(response)
        yield pvalue.TaggedOutput("feed_state", {
            "url": url, "etag": response.headers.get("etag"),
            "last_modified": response.headers.get("last-modified"),
            "content_sha256": digest,
            "checked_at": checked_at})
        if unchanged_since(response.status, digest, previous):
            self.unchanged.inc()
            return
        if feed.kind == SITEMAP:
            yield from self._sitemap_pages(feed, response.body, previous)
            return
        items = self._entries(url, response.body, pages_follow=feed.fetch_pages)
        for item in itertools.islice(items, feed.max_items or None):
            if isinstance(item, RawDocument) and feed.fetch_pages and item.url:
                yield pvalue.TaggedOutput("needs_page", item)
            else:
                yield item


    def _sitemap_pages(self, feed: FeedSettings, data: bytes,
                       previous: dict[str, Any] | None) -> Iterator[Any]:
        """The pages a sitemap names, to fetch; an index's sitemaps are fetched in turn,
        but not those whose lastmod is older than this sitemap's last check."""
        since = previous.get("checked_at") if previous else None
        pages = self._named_pages(feed.url, data, since, depth=0)
        for item in itertools.islice(pages, feed.max_items or None):
            yield pvalue.TaggedOutput("needs_page", item) if isinstance(item, RawDocument) \
                else item

    def _named_pages(self, source: str, data: bytes, since: datetime | None,
                     depth: int) -> Iterator[Any]:
        """RawDocuments to fetch, and an errors row for each named sitemap that fails."""
        for item in sitemap_items(source, data, self.max_bytes):
            if isinstance(item, RawDocument):
                yield item
            elif depth < MAX_SITEMAP_DEPTH and not (since and item.lastmod
                                                    and item.lastmod < since):
                try:
                    body = self.client.get(item.url).body
                    yield from self._named_pages(item.url, body, since, depth + 1)
                except Exception as exc:  # noqa: BLE001 - one sitemap's failure is one row
                    yield self.error(item.url, exc)


def host_key(document: RawDocument, shards: int) -> tuple[str, int]:
    """Pages grouped by host (split in `shards` groups), so one worker fetches a host's pages
    one after another: the per-host concurrency limit and politeness delay hold everywhere."""
    url = document.url or ""
    return urlsplit(url).netloc.lower(), sum(url.encode()) % max(1, shards)


class FetchDoFn(StageDoFn):
    """A fetch-stage DoFn with one HTTP client per worker (made in setup, never pickled)."""

    stage = "fetch"

    def __init__(self, settings: HttpSettings) -> None:
        self.settings = settings
        self.client: HttpClient | None = None

    def setup(self) -> None:
        self.client = HttpClient(self.settings)

    def http(self) -> HttpClient:
        if self.client is None:
            self.setup()
        return self.client


class FetchRobots(FetchDoFn):
    """A site (origin) -> (origin, its robots.txt verdict): fetched once per site per run."""

    def handle(self, origin: str) -> Iterator[tuple[str, RobotsVerdict]]:
        yield origin, fetch_robots(self.http(), origin)


class FetchPages(FetchDoFn):
    """A host's feed entries -> RawDocuments holding each entry's full page, fetched one after
    another with the politeness delay between them, and only where robots.txt allows (the
    run's verdicts per site come as a side input)."""

    def records_in(self, grouped: tuple[tuple[str, int], Iterable[RawDocument]]) -> int:
        return len(list(grouped[1]))

    def handle(self, grouped: tuple[tuple[str, int], Iterable[RawDocument]],
               robots: dict[str, RobotsVerdict]) -> Iterator[Any]:
        _, entries = grouped
        rules = RobotsRules(robots, self.settings.user_agent)
        last_request = 0.0
        for entry in sorted(entries, key=lambda e: e.url or ""):
            try:
                if self.settings.respect_robots:
                    rules.check(entry.url or "")
                wait = self.settings.politeness_delay_s - (time.monotonic() - last_request)
                if wait > 0:
                    time.sleep(wait)
                last_request = time.monotonic()
                yield self._page(entry)
            except Exception as exc:  # noqa: BLE001 - one page's failure is one errors row
                yield self.error(entry.url or entry.source, exc)  # the row names the page

    def _page(self, entry: RawDocument) -> RawDocument:
        url = entry.url or ""
        response = self.http().get(url)
        content_type = response.headers.get("content-type", "")
        if "html" not in content_type and "xml" not in content_type:
            raise FetchError(f"not an HTML page ({content_type or 'no content type'}): {url}")
        return replace(entry, kind="html",
                       content=decode_text(response.body, charset_of(content_type)))


class FetchEntryPages(beam.PTransform):
    """Feed entries to fetch -> (RawDocuments holding their pages, ErrorRecords): robots.txt
    once per site (where respected), then each host's pages one after another."""

    def __init__(self, settings: HttpSettings) -> None:
        super().__init__()
        self.settings = settings

    def expand(self, entries: beam.PCollection) -> tuple[beam.PCollection, beam.PCollection]:
        robots: Any = {}
        errors = []
        if self.settings.respect_robots:
            verdicts, robots_failed = apply_stage(
                entries
                | "Sites" >> beam.Map(lambda e: origin_of(e.url or ""))
                | "EachSiteOnce" >> beam.Distinct(),
                "FetchRobots", FetchRobots(self.settings))
            robots, errors = beam.pvalue.AsDict(verdicts), [robots_failed]
        shards = self.settings.per_host_concurrency
        pages, page_errors = apply_stage(
            entries
            | "KeyByHost" >> beam.Map(lambda e: (host_key(e, shards), e))
            | "GroupByHost" >> beam.GroupByKey(),
            "FetchPages", FetchPages(self.settings), robots)
        errors.append(page_errors)
        return pages, tuple(errors) | "FetchErrors" >> beam.Flatten()
