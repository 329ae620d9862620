"""Sources: files by glob (text, HTML, feed files; gzip or not) and feeds by URL -> RawDocuments."""

from __future__ import annotations

import hashlib
import itertools
import json
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import apache_beam as beam
import charset_normalizer
import feedparser
from apache_beam import pvalue
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from transforms import metrics
from transforms.failures import ERRORS, MAIN, BadInput, StageDoFn, apply_stage
from transforms.fetch import (
    FetchError,
    HttpClient,
    HttpSettings,
    RobotsRules,
    RobotsVerdict,
    fetch_robots,
    origin_of,
)
from transforms.history import NotWritten
from transforms.index import FEED_STATE, LookupIndex
from transforms.layout import OutputLayout
from transforms.records import RawDocument, utc_datetime
from transforms.settings import ConfigError

STAGE = "sources"
KIND_BY_SUFFIX = {
    ".txt": "text",
    ".html": "html",
    ".htm": "html",
    ".xml": "feed",
    ".rss": "feed",
    ".atom": "feed",
    ".json": "feed",
}


@dataclass(frozen=True)
class FeedSettings:
    """One `feeds` entry: where, a name for it, whether each new entry's page is fetched,
    and how many entries a run takes (0: all)."""

    url: str
    name: str = ""
    fetch_pages: bool = True
    max_items: int = 0

    def __post_init__(self) -> None:
        if self.max_items < 0:
            raise ConfigError(f"feeds entry {self.url!r}: 'max_items' must be >= 0, "
                              f"got {self.max_items}")
        if not self.name:
            object.__setattr__(self, "name", self.url)


@dataclass(frozen=True)
class SourceSettings:
    """Config `inputs`, `feeds` and, through `http`, `http.*`, `limits.max_input_bytes` and
    `allow_private_hosts`. Feed files are read like inputs; only feed URLs are fetched."""

    inputs: tuple[str, ...]
    feeds: tuple[FeedSettings, ...]
    http: HttpSettings

    @property
    def patterns(self) -> list[str]:
        """Globs to read: the inputs, and the feeds that are files."""
        return list(self.inputs) + [f.url for f in self.feeds if not is_url(f.url)]

    @property
    def feed_urls(self) -> list[FeedSettings]:
        return [f for f in self.feeds if is_url(f.url)]


def input_kind(path: str) -> str:
    """The kind of a file from its name: text, html or feed; `.gz` is looked through."""
    name = path.lower().removesuffix(".gz")
    for suffix, kind in KIND_BY_SUFFIX.items():
        if name.endswith(suffix):
            return kind
    expected = ", ".join(KIND_BY_SUFFIX)
    raise BadInput(f"unsupported file type; expected one of {expected} (optionally .gz)")


def is_url(location: str) -> bool:
    return urlsplit(location).scheme in ("http", "https")


def decode_text(data: bytes) -> str:
    """Bytes to text: UTF-8 (with or without BOM) first, else the best-fitting legacy charset."""
    if not data.strip():
        raise BadInput("input is empty")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as utf8_error:
        best = _best_legacy_match(data)
        if best is None or "\x00" in str(best):
            raise BadInput(f"cannot decode: not UTF-8 ({utf8_error.reason}) nor any other text "
                           "encoding; is this a binary file?") from None
        return str(best)


def _best_legacy_match(data: bytes) -> Any:
    """charset_normalizer's best match; among equally good ones, windows-1252, which the web
    uses for every page labelled latin-1."""
    matches = list(charset_normalizer.from_bytes(data))
    if not matches:
        return None
    best = matches[0]
    ties = [m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
    return next((m for m in ties if m.encoding == "cp1252"), best)


def read_capped(stream: Any, max_bytes: int, gzipped: bool = False) -> bytes:
    """Read at most max_bytes (decompressed); refuse anything larger instead of holding it all."""
    data = gunzip_capped(stream, max_bytes + 1) if gzipped else stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise BadInput(f"larger than limits.max_input_bytes={max_bytes}; raise it in the config "
                       "to accept bigger inputs")
    return data


_CHUNK_BYTES = 1 << 20


def gunzip_capped(stream: Any, limit: int) -> bytes:
    """A gzip stream's content, every member (as `gzip -d` gives it), at most `limit` bytes.
    Decompressed here rather than by the filesystem, which returns a truncated file's first
    part as if it were whole: a corrupt or cut-off file is bad input, never a shorter text."""
    out = bytearray()
    member, fed, pending = zlib.decompressobj(wbits=31), False, b""
    while len(out) < limit:
        pending = pending or stream.read(_CHUNK_BYTES)
        if not pending:
            break
        if not fed and not pending.strip(b"\0"):  # zero bytes padding the file's end
            pending = b""
            continue
        try:
            out += member.decompress(pending, limit - len(out))
        except zlib.error as error:
            raise BadInput(f"not a readable gzip file ({error}); is it really gzip-compressed?"
                           ) from None
        fed, pending = True, member.unconsumed_tail
        if member.eof:  # another member may follow
            member, fed, pending = zlib.decompressobj(wbits=31), False, member.unused_data
    if fed and not member.eof and len(out) < limit:
        raise BadInput("gzip file ends before its compressed data does: truncated (an "
                       "interrupted copy or download?)")
    return bytes(out)


def _entry_time(entry: Any) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    return datetime(*parsed[:6], tzinfo=UTC) if parsed else None


def json_feed(data: bytes) -> feedparser.FeedParserDict | None:
    """A JSON Feed (jsonfeed.org) in feedparser's shape, or None if the bytes are not one."""
    if data.lstrip()[:1] not in (b"{", b"["):  # XML begins with "<"
        return None
    try:
        feed = json.loads(decode_text(data))
    except ValueError as exc:
        raise BadInput(f"JSON feed does not parse: {exc}") from None
    if not isinstance(feed, dict) or "jsonfeed.org" not in str(feed.get("version", "")):
        raise BadInput("JSON file is not a JSON Feed (no jsonfeed.org version)")
    items = feed.get("items") or []
    if not isinstance(items, list):
        raise BadInput(f"JSON feed's items is a {type(items).__name__}, not a list")
    entries = []
    for item in items:
        if not isinstance(item, dict):
            continue
        html = _json_text(item, "content_html")
        text = _json_text(item, "content_text") or _json_text(item, "summary")
        published = utc_datetime(_json_text(item, "date_published")
                                 or _json_text(item, "date_modified"))
        entries.append({
            "id": _json_text(item, "id"), "link": _json_text(item, "url"),
            "title": _json_text(item, "title"),
            "content": [{"value": html, "type": "text/html"} if html else
                        {"value": text or "", "type": "text/plain"}],
            "published_parsed": published.utctimetuple() if published else None,
        })
    return feedparser.FeedParserDict(entries=entries, bozo=False,
                                     feed={"link": _json_text(feed, "home_page_url")})


def _json_text(obj: dict[str, Any], name: str) -> str | None:
    """A JSON Feed object's (the feed's, an item's) text field: a string (a number as its
    text, as the specification asks of ids); any other value (a list, an object) counts as
    absent, not as a crash."""
    value = obj.get(name)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) else None


def absolute_link(link: str | None, *bases: str | None) -> str | None:
    """An entry's link; a relative one ("/news/1") made absolute against the first base that
    is a URL (the feed's own, else the site the feed names), or None: a path names no page by
    itself, cannot be fetched, and would give entries of two sites one article_id."""
    if not link or urlsplit(link).scheme:
        return link or None
    return next((urljoin(base, link) for base in bases if base and is_url(base)), None)


def feed_documents(source: str, data: bytes, pages_follow: bool = False
                   ) -> Iterator[RawDocument | BadInput]:
    """Each feed entry as a RawDocument (content, else summary, as the page); else BadInput.
    With `pages_follow`, an entry with a link needs no text of its own: its page is fetched."""
    parsed = json_feed(data) or feedparser.parse(data)
    if not parsed.entries:
        if parsed.bozo:
            problem = parsed.get("bozo_exception")
            raise BadInput(f"feed does not parse: {problem}")
        raise BadInput("feed has no entries")
    site = (parsed.get("feed") or {}).get("link")
    for number, entry in enumerate(parsed.entries, start=1):
        contents = entry.get("content") or []
        body = (contents[0] if contents else entry.get("summary_detail")) or {}
        link = absolute_link(entry.get("link"), source, site)  # a file's path is no base
        text = (body.get("value") or "").strip()
        if not text and not (pages_follow and link):
            yield BadInput(f"entry {number} ({link or entry.get('title') or 'untitled'}) has no "
                           "content or summary")
            continue
        yield RawDocument(
            source=source,
            kind="text" if body.get("type") == "text/plain" else "html",
            content=body.get("value") or "",
            url=link,
            title=(entry.get("title") or "").strip() or None,
            published_at=_entry_time(entry),
            identity=entry.get("id") or link,
        )


class MatchInputs(StageDoFn):
    """Expand each glob with Beam's filesystems (local, gs://, ...); a glob matching nothing is
    an error row, not a silent no-op."""

    stage = STAGE

    def handle(self, pattern: str) -> Iterator[Any]:
        matched = FileSystems.match([pattern])[0].metadata_list
        if not matched:
            raise BadInput(f"no file matches {pattern!r}")
        yield from sorted(matched, key=lambda m: m.path)


class ReadInputFile(StageDoFn):
    """One matched file to RawDocuments: a text or HTML document, or one per feed entry."""

    stage = STAGE

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.inputs = metrics.counter(metrics.INPUTS)

    def handle(self, readable: fileio.ReadableFile) -> Iterator[Any]:
        self.inputs.inc()
        path = readable.metadata.path
        kind = input_kind(path)
        gzipped = path.lower().endswith(".gz")
        with readable.open(compression_type=CompressionTypes.UNCOMPRESSED if gzipped
                           else CompressionTypes.AUTO) as stream:
            data = read_capped(stream, self.max_bytes, gzipped)
        if kind == "feed":
            yield from self._entries(path, data)
        else:
            yield RawDocument(source=path, kind=kind, content=decode_text(data))

    def _entries(self, source: str, data: bytes, pages_follow: bool = False) -> Iterator[Any]:
        for item in feed_documents(source, data, pages_follow):
            yield self.error(source, item) if isinstance(item, BadInput) else item


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

    def handle(self, feed: FeedSettings, state: dict[str, dict[str, Any]]) -> Iterator[Any]:
        self.inputs.inc()
        if self.client is None:
            self.setup()
        url, previous = feed.url, state.get(feed.url)
        headers = {}
        if previous and previous.get("etag"):
            headers["If-None-Match"] = previous["etag"]
        if previous and previous.get("last_modified"):
            headers["If-Modified-Since"] = previous["last_modified"]
        response = self.client.get(url, headers)
        if response.status == 304:
            self.unchanged.inc()
            return
        digest = hashlib.sha256(response.body).hexdigest()
        yield pvalue.TaggedOutput("feed_state", {
            "url": url, "etag": response.headers.get("etag"),
            "last_modified": response.headers.get("last-modified"),
            "content_sha256": digest, "checked_at": self.checked_at})
        if previous and previous.get("content_sha256") == digest:
            self.unchanged.inc()
            return
        items = self._entries(url, response.body, pages_follow=feed.fetch_pages)
        for item in itertools.islice(items, feed.max_items or None):
            if isinstance(item, RawDocument) and feed.fetch_pages and item.url:
                yield pvalue.TaggedOutput("needs_page", item)
            else:
                yield item


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
        return replace(entry, kind="html", content=decode_text(response.body))


class ReadSources(beam.PTransform):
    """pipeline -> {'documents': {'files' | 'feed_entries' | 'pages': RawDocuments},
    'errors': ErrorRecords, 'feed_state': this run's rows (None when the run reads no feed
    URLs)}.

    Files by glob; feeds by URL, with the state the output holds for those feeds; for feeds
    that ask for it, each new entry's full page (entries already in the output are not fetched
    again). `layout`: the output, and the run's time written with each feed's state."""

    def __init__(self, settings: SourceSettings, layout: OutputLayout) -> None:
        super().__init__()
        self.settings = settings
        self.layout = layout

    def expand(self, pipeline: beam.Pipeline) -> dict[str, beam.PCollection]:
        patterns = pipeline | "InputPatterns" >> beam.Create(self.settings.patterns)
        matches, match_errors = apply_stage(patterns, "MatchFiles", MatchInputs())
        files = (
            matches
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
        return {"documents": documents,
                "errors": tuple(errors) | "SourceErrors" >> beam.Flatten(),
                "feed_state": feed_state}

    def read_feeds(self, pipeline: beam.Pipeline
                   ) -> tuple[dict[str, beam.PCollection], list[beam.PCollection],
                              beam.PCollection]:
        """Feed entries, and for feeds that ask for it each new entry's page; their errors;
        this run's feed_state rows."""
        feed_urls = [feed.url for feed in self.settings.feed_urls]
        state = beam.pvalue.AsDict(
            pipeline
            | "FeedUrls" >> beam.Create(feed_urls)
            | "LookUpFeedState" >> LookupIndex(self.layout, FEED_STATE)
            | "StateByUrl" >> beam.Map(lambda row: (row["key"], row)))
        http = self.settings.http
        feeds = (
            pipeline
            | "Feeds" >> beam.Create(self.settings.feed_urls)
            | "SpreadFeeds" >> beam.Reshuffle()
            | "FetchFeeds" >> beam.ParDo(FetchFeed(http, self.layout.run_time), state)
            .with_outputs(ERRORS, "needs_page", "feed_state", main=MAIN)
        )
        new_entries = feeds.needs_page | "NewEntriesToFetch" >> NotWritten(self.layout)
        robots: Any = {}
        robot_errors = []
        if http.respect_robots:
            verdicts, robots_failed = apply_stage(
                new_entries
                | "Sites" >> beam.Map(lambda e: origin_of(e.url or ""))
                | "EachSiteOnce" >> beam.Distinct(),
                "FetchRobots", FetchRobots(http))
            robots, robot_errors = beam.pvalue.AsDict(verdicts), [robots_failed]
        shards = http.per_host_concurrency
        pages, page_errors = apply_stage(
            new_entries
            | "KeyByHost" >> beam.Map(lambda e: (host_key(e, shards), e))
            | "GroupByHost" >> beam.GroupByKey(),
            "FetchPages", FetchPages(http), robots)
        # Kept apart per origin: a Flatten is a materialising step on some runners, and raw
        # pages are the largest records of the run; they are flattened once parsed.
        new_feed_entries = feeds[MAIN] | "NewFeedEntries" >> NotWritten(self.layout)
        return ({"feed_entries": new_feed_entries, "pages": pages},
                [feeds[ERRORS], page_errors, *robot_errors], feeds.feed_state)
