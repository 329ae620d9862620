"""Sources: files by glob (text, HTML, feed files; gzip or not) and feeds by URL -> RawDocuments."""

from __future__ import annotations

import ipaddress
import json
import socket
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import apache_beam as beam
import charset_normalizer
import feedparser
from apache_beam.io import fileio
from apache_beam.io.filesystems import FileSystems

from pipeline.records import RawDocument, utc_datetime
from transforms.failures import BadInput, StageDoFn, apply_stage

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
USER_AGENT = "newsbeam/0.1 (+https://pypi.org/project/newsbeam/)"


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


def read_capped(stream: Any, max_bytes: int) -> bytes:
    """Read at most max_bytes (decompressed); refuse anything larger instead of holding it all."""
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise BadInput(f"larger than limits.max_input_bytes={max_bytes}; raise it in the config "
                       "to accept bigger inputs")
    return data


def _entry_time(entry: Any) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    return datetime(*parsed[:6], tzinfo=UTC) if parsed else None


def json_feed(data: bytes) -> feedparser.FeedParserDict | None:
    """A JSON Feed (jsonfeed.org) in feedparser's shape, or None if the bytes are not one."""
    if not data.lstrip().startswith(b"{"):
        return None
    try:
        feed = json.loads(decode_text(data))
    except ValueError as exc:
        raise BadInput(f"JSON feed does not parse: {exc}") from None
    if not isinstance(feed, dict) or "jsonfeed.org" not in str(feed.get("version", "")):
        raise BadInput("JSON file is not a JSON Feed (no jsonfeed.org version)")
    entries = []
    for item in feed.get("items") or []:
        if not isinstance(item, dict):
            continue
        html, text = item.get("content_html"), item.get("content_text") or item.get("summary")
        published = utc_datetime(item.get("date_published") or item.get("date_modified"))
        entries.append({
            "id": item.get("id"), "link": item.get("url"), "title": item.get("title"),
            "content": [{"value": html, "type": "text/html"} if html else
                        {"value": text or "", "type": "text/plain"}],
            "published_parsed": published.utctimetuple() if published else None,
        })
    return feedparser.FeedParserDict(entries=entries, bozo=False)


def feed_documents(source: str, data: bytes) -> Iterator[RawDocument | BadInput]:
    """Each feed entry as a RawDocument (content, else summary, as the page); else BadInput."""
    parsed = json_feed(data) or feedparser.parse(data)
    if not parsed.entries:
        if parsed.bozo:
            problem = parsed.get("bozo_exception")
            raise BadInput(f"feed does not parse: {problem}")
        raise BadInput("feed has no entries")
    for number, entry in enumerate(parsed.entries, start=1):
        contents = entry.get("content") or []
        body = contents[0] if contents else entry.get("summary_detail")
        link = entry.get("link") or None
        if not body or not (body.get("value") or "").strip():
            yield BadInput(f"entry {number} ({link or entry.get('title', 'untitled')}) has no "
                           "content or summary")
            continue
        kind = "text" if body.get("type") == "text/plain" else "html"
        yield RawDocument(
            source=source,
            kind=kind,
            content=body["value"],
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

    def handle(self, readable: fileio.ReadableFile) -> Iterator[Any]:
        beam.metrics.Metrics.counter("newsbeam", "inputs").inc()
        path = readable.metadata.path
        kind = input_kind(path)
        with readable.open() as stream:  # compression detected from the name (.gz)
            data = read_capped(stream, self.max_bytes)
        if kind == "feed":
            yield from self._entries(path, data)
        else:
            yield RawDocument(source=path, kind=kind, content=decode_text(data))

    def _entries(self, source: str, data: bytes) -> Iterator[Any]:
        for item in feed_documents(source, data):
            yield self.error(source, item) if isinstance(item, BadInput) else item


def check_public_host(url: str) -> None:
    """Refuse URLs whose host resolves to loopback, private, link-local or multicast addresses."""
    host = urlsplit(url).hostname
    if not host:
        raise BadInput(f"URL has no host: {url}")
    for info in socket.getaddrinfo(host, None):
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            raise BadInput(f"{host} resolves to non-public address {address}; pass "
                           "--allow-private-hosts to fetch from it")


class FetchFeed(ReadInputFile):
    """A feed URL fetched over HTTP (timeout, size cap, User-Agent), then read like a feed file."""

    def __init__(self, max_bytes: int, timeout_s: float, allow_private_hosts: bool) -> None:
        super().__init__(max_bytes)
        self.timeout_s = timeout_s
        self.allow_private_hosts = allow_private_hosts

    def handle(self, url: str) -> Iterator[Any]:
        beam.metrics.Metrics.counter("newsbeam", "inputs").inc()
        if not self.allow_private_hosts:
            check_public_host(url)
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
            data = read_capped(response, self.max_bytes)
        yield from self._entries(url, data)


class ReadSources(beam.PTransform):
    """Files by glob and feeds by URL -> (RawDocuments, ErrorRecords)."""

    def __init__(self, patterns: list[str], feed_urls: list[str], max_bytes: int,
                 timeout_s: float, allow_private_hosts: bool) -> None:
        super().__init__()
        self.patterns = patterns
        self.feed_urls = feed_urls
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.allow_private_hosts = allow_private_hosts

    def expand(self, pbegin: beam.pvalue.PBegin) -> tuple[beam.PCollection, beam.PCollection]:
        patterns = pbegin | "InputPatterns" >> beam.Create(self.patterns)
        matches, match_errors = apply_stage(patterns, "MatchFiles", MatchInputs())
        files = (
            matches
            | "SpreadFiles" >> beam.Reshuffle()
            | "OpenFiles" >> fileio.ReadMatches()
        )
        file_documents, read_errors = apply_stage(
            files, "ReadFiles", ReadInputFile(self.max_bytes))
        urls = (
            pbegin
            | "FeedUrls" >> beam.Create(self.feed_urls)
            | "SpreadFeeds" >> beam.Reshuffle()
        )
        feed_fetcher = FetchFeed(self.max_bytes, self.timeout_s, self.allow_private_hosts)
        feed_entries, fetch_errors = apply_stage(urls, "FetchFeeds", feed_fetcher)
        documents = (file_documents, feed_entries) | "AllDocuments" >> beam.Flatten()
        errors = (match_errors, read_errors, fetch_errors) | "SourceErrors" >> beam.Flatten()
        return documents, errors
