"""Sources: file kinds, decoding, size caps, feeds from files and from a local HTTP server."""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from conftest import FIXTURES, LOCAL_HTTP, SEEDS
from httpserver import serve

from transforms.core.failures import ERRORS, BadInput
from transforms.core.records import RawDocument
from transforms.sources import ReadSources
from transforms.sources.decode import decode_text, read_capped
from transforms.sources.feeds import feed_documents
from transforms.sources.fetching import FetchFeed
from transforms.sources.files import input_kind
from transforms.sources.http import check_public_host
from transforms.sources.settings import FeedSettings, SourceSettings
from transforms.storage.layout import OutputPaths

RSS = (FIXTURES / "feeds" / "world.rss").read_bytes()
HTTP = LOCAL_HTTP
NOW = datetime(2026, 1, 2, tzinfo=UTC)



@pytest.mark.parametrize(("path", "kind"), [
    ("a/b.TXT", "text"), ("page.html.gz", "html"), ("page.htm", "html"), ("f.rss", "feed"),
    ("f.atom.gz", "feed"), ("f.json", "feed"), ("f.xml", "feed"),
])
def test_input_kind_from_name(path: str, kind: str) -> None:
    assert input_kind(path) == kind


def test_unsupported_file_type_names_the_valid_ones() -> None:
    with pytest.raises(BadInput, match=r"unsupported file type; expected one of \.txt"):
        input_kind("report.pdf")


def test_decode_utf8_and_legacy_text() -> None:
    assert decode_text("\ufeffCafé – naïve".encode()) == "Café – naïve"
    latin = ("The café in Zürich served crème brûlée to the délégation on Tuesday, "
             "and the mayor praised the façade.").encode("latin-1")
    assert decode_text(latin).startswith("The café in Zürich served crème brûlée")


@pytest.mark.parametrize(("data", "message"), [
    (b"", "input is empty"), (b"  \n\t", "input is empty"),
    (bytes(range(256)) * 4, "cannot decode"),
])
def test_decode_rejects_empty_and_binary(data: bytes, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        decode_text(data)


def test_read_capped_refuses_bigger_input() -> None:
    assert read_capped(io.BytesIO(b"12345"), 5) == b"12345"
    with pytest.raises(BadInput, match="limits.max_input_bytes=5"):
        read_capped(io.BytesIO(b"123456"), 5)


def test_gzip_files_are_read_whole_and_broken_ones_are_bad_input() -> None:
    first, second = gzip.compress(b"Storm closes schools. " * 50), gzip.compress(b"Rates held.")
    whole = (b"Storm closes schools. " * 50) + b"Rates held."
    assert read_capped(io.BytesIO(first + second), 10_000, gzipped=True) == whole
    assert read_capped(io.BytesIO(first + second + bytes(8)), 10_000, gzipped=True) == whole
    assert read_capped(io.BytesIO(b""), 10_000, gzipped=True) == b""
    with pytest.raises(BadInput, match="limits.max_input_bytes=100"):
        read_capped(io.BytesIO(first), 100, gzipped=True)
    with pytest.raises(BadInput, match="truncated"):
        read_capped(io.BytesIO(first[:len(first) // 2]), 10_000, gzipped=True)
    with pytest.raises(BadInput, match="not a readable gzip file"):
        read_capped(io.BytesIO(b"plain text named .gz"), 10_000, gzipped=True)


def test_rss_entries_become_documents_and_empty_entry_an_error() -> None:
    items = list(feed_documents("world.rss", RSS))
    documents = [i for i in items if isinstance(i, RawDocument)]
    problems = [i for i in items if isinstance(i, BadInput)]
    assert [d.title for d in documents] == ["Storm closes schools across the north",
                                            "Central bank holds interest rates"]
    assert documents[0].url == "https://news.example.org/world/storm-schools"
    assert documents[0].published_at.isoformat() == "2024-03-05T08:00:00+00:00"
    assert "Hundreds of schools" in documents[0].content  # content:encoded, not the summary
    assert "interest rate at 4%" in documents[1].content  # summary when there is no content
    assert len(problems) == 1 and "entry 3" in str(problems[0])


def test_json_feed_entries() -> None:
    items = list(feed_documents("b.json", (FIXTURES / "feeds" / "briefing.json").read_bytes()))
    assert [(i.title, i.url) for i in items] == [
        ("Parliament passes climate bill", "https://news.example.org/briefing/1")]


def test_json_feed_fields_of_the_wrong_type_count_as_absent() -> None:
    feed = json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": [
        42, {"id": 7, "title": ["a list"], "content_text": {"an": "object"}},
        {"id": 8, "title": "Council approves budget", "content_text": "The council approved "
         "the budget.", "date_published": "yesterday"}]}).encode()
    items = list(feed_documents("f.json", feed))
    assert str(items[0]) == "entry 1 (untitled) has no content or summary"
    assert (items[1].title, items[1].identity, items[1].published_at) == (
        "Council approves budget", "8", None)
    assert len(items) == 2


def test_relative_entry_links_are_made_absolute_or_dropped() -> None:
    def rss(site: str) -> bytes:
        return (f'<rss version="2.0"><channel><title>T</title>{site}<item><title>A</title>'
                '<link>/news/1</link><description>Rates held.</description></item>'
                '<item><title>B</title><link>https://other.example/b</link>'
                '<description>Markets rose.</description></item></channel></rss>').encode()

    def links(source: str, data: bytes) -> list[str | None]:
        return [d.url for d in feed_documents(source, data)]

    assert links("https://site.example/feeds/rss.xml", rss("")) == [
        "https://site.example/news/1", "https://other.example/b"]
    assert links("feeds/site.rss", rss("<link>https://site.example/</link>")) == [
        "https://site.example/news/1", "https://other.example/b"]
    assert links("feeds/site.rss", rss("")) == [None, "https://other.example/b"]
    json_feed = json.dumps({"version": "https://jsonfeed.org/version/1.1",
                            "home_page_url": "https://site.example/", "items": [
                                {"id": "1", "url": "news/2", "content_text": "Rates held."}]})
    assert links("feeds/site.json", json_feed.encode()) == ["https://site.example/news/2"]


@pytest.mark.parametrize(("data", "message"), [
    (b'{"version": "https://jsonfeed.org/version/1.1", "items": "none"}',
     "items is a str, not a list"),
    (b"[1, 2, 3]", "not a JSON Feed"),
])
def test_json_that_is_no_json_feed_is_an_error(data: bytes, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        list(feed_documents("f.json", data))


def test_not_a_feed_is_an_error() -> None:
    with pytest.raises(BadInput, match="feed"):
        list(feed_documents("x.xml", b"this is not a feed at all"))


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/feed", "http://localhost/feed",
                                 "http://10.1.2.3/feed", "http://[::1]/feed"])
def test_private_hosts_are_refused(url: str) -> None:
    with pytest.raises(BadInput, match="--allow-private-hosts"):
        check_public_host(url)


def test_read_sources_sends_bad_files_to_errors_and_reads_the_rest(tmp_path: Path) -> None:
    shutil.copy(SEEDS / "000_f18e94bea9b18e7b.txt", tmp_path / "good.txt")
    html = (FIXTURES / "html" / "council.html").read_bytes()
    (tmp_path / "page.html.gz").write_bytes(gzip.compress(html))
    (tmp_path / "world.rss.gz").write_bytes(gzip.compress(RSS))
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "notes.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "big.txt").write_bytes(b"word " * 40_000)
    (tmp_path / "corrupt.txt.gz").write_bytes(b"plain text named .gz")
    cut = gzip.compress((SEEDS / "000_f18e94bea9b18e7b.txt").read_bytes())
    (tmp_path / "cut.txt.gz").write_bytes(cut[:len(cut) // 2])
    base = str(tmp_path)
    patterns = [f"{base}/*", f"{base}/nothing-*.txt"]
    with TestPipeline() as p:
        read = p | ReadSources(SourceSettings(tuple(patterns), (), HTTP),
                               OutputPaths(str(tmp_path / "out")), NOW)
        documents = tuple(read["documents"].values()) | "AllDocuments" >> beam.Flatten()
        errors = read["errors"]
        assert_that(documents | "Sources" >> beam.Map(lambda d: (d.source, d.kind)), equal_to([
            (f"{base}/good.txt", "text"), (f"{base}/page.html.gz", "html"),
            (f"{base}/world.rss.gz", "html"), (f"{base}/world.rss.gz", "html"),
        ]), label="documents")
        assert_that(errors | "Errors" >> beam.Map(lambda e: (e.source, e.stage, e.error_type)),
                    equal_to([
                        (f"{base}/empty.txt", "sources", "BadInput"),
                        (f"{base}/binary.txt", "sources", "BadInput"),
                        (f"{base}/notes.pdf", "sources", "BadInput"),
                        (f"{base}/big.txt", "sources", "BadInput"),
                        (f"{base}/corrupt.txt.gz", "sources", "BadInput"),
                        (f"{base}/cut.txt.gz", "sources", "BadInput"),
                        (f"{base}/world.rss.gz", "sources", "BadInput"),  # entry 3: no text
                        (f"{base}/nothing-*.txt", "sources", "BadInput"),
                    ]), label="errors")


def test_feed_over_http_from_local_server() -> None:
    routes = {"/feed.xml": (200, "application/rss+xml", RSS),
              "/gone.xml": (404, "text/plain", b"not here")}
    summaries = {"name": "world", "fetch_pages": False, "max_items": 0}
    with serve(routes) as server:
        allowed = FetchFeed(HTTP, NOW)
        outputs = list(allowed.process(FeedSettings(f"{server.base}/feed.xml", **summaries), {}))
        documents = [o for o in outputs if isinstance(o, RawDocument)]
        assert [d.url for d in documents] == ["https://news.example.org/world/storm-schools",
                                              "https://news.example.org/world/rates-hold"]
        assert all(d.source == f"{server.base}/feed.xml" for d in documents)
        state = [o.value for o in outputs if getattr(o, "tag", None) == "feed_state"]
        assert state[0]["url"] == f"{server.base}/feed.xml" and len(
            state[0]["content_sha256"]) == 64
        missing = list(allowed.process(FeedSettings(f"{server.base}/gone.xml", **summaries), {}))
        assert [(o.tag, o.value.error_type) for o in missing] == [(ERRORS, "FetchError")]
        assert "HTTP 404" in missing[0].value.message
        private = dataclasses.replace(HTTP, allow_private_hosts=False)
        refused = list(FetchFeed(private, NOW).process(
            FeedSettings(f"{server.base}/feed.xml", **summaries), {}))
        assert [o.tag for o in refused] == [ERRORS]
        assert "--allow-private-hosts" in refused[0].value.message
        assert server.hits["/feed.xml"] == 1  # the refused fetch never reached the server


def test_entity_expansion_feed_stays_small() -> None:
    entities = "".join(f'<!ENTITY {chr(98 + i)} "' + f"&{chr(97 + i)};" * 10 + '">'
                       for i in range(9))
    bomb = (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">{entities}]>'
            '<rss version="2.0"><channel><title>t</title><item><title>&j;</title>'
            '<link>http://x.example/1</link><description>&j;</description></item>'
            '</channel></rss>').encode()
    items = list(feed_documents("bomb.xml", bomb))  # 10^10 characters if expanded
    assert all(len(getattr(item, "content", "")) < 1000 for item in items)
