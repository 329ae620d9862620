"""Sitemaps as a source: an index naming a gzip news sitemap, its pages fetched with their
news metadata; a second run fetches only the page added since."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import SEEDS, read_dataset, run_cli
from httpserver import page, page_of, serve

from transforms.core.failures import BadInput
from transforms.core.records import RawDocument
from transforms.sources.sitemaps import ChildSitemap, sitemap_items

NEWS = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"
        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">{urls}</urlset>"""
URL = """<url><loc>{base}/story/{n}</loc><lastmod>2024-05-03T10:0{n}:00Z</lastmod>
<news:news><news:publication><news:name>Example Tribune</news:name>
<news:language>en</news:language></news:publication>
<news:publication_date>2024-05-03T09:0{n}:00+02:00</news:publication_date>
<news:title>Headline number {n}</news:title><news:keywords>Budget, Parliament</news:keywords>
</news:news><image:image><image:loc>{base}/img/{n}.jpg</image:loc></image:image></url>"""
INDEX = """<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>{base}/news-sitemap.xml.gz</loc></sitemap>
<sitemap><loc>{base}/sitemap-2019.xml</loc><lastmod>2019-01-01</lastmod></sitemap>
</sitemapindex>"""


def test_a_news_sitemap_names_pages_with_their_metadata() -> None:
    data = NEWS.format(urls=URL.format(base="https://news.example.org", n=1)).encode()
    [entry] = sitemap_items("https://news.example.org/sitemap.xml", gzip.compress(data), 10**6)
    assert isinstance(entry, RawDocument) and entry.url == "https://news.example.org/story/1"
    assert entry.title == "Headline number 1"
    assert entry.published_at == datetime(2024, 5, 3, 7, 1, tzinfo=UTC)
    assert entry.metadata.published_at_source == "sitemap"
    assert entry.metadata.modified_at == datetime(2024, 5, 3, 10, 1, tzinfo=UTC)
    assert entry.metadata.site_name == "Example Tribune"
    assert entry.metadata.tags == ("Budget", "Parliament")
    assert entry.metadata.image_url == "https://news.example.org/img/1.jpg"


def test_an_index_names_sitemaps_and_anything_else_is_refused() -> None:
    children = list(sitemap_items("i.xml", INDEX.format(base="https://x.org").encode(), 10**6))
    assert children == [ChildSitemap("https://x.org/news-sitemap.xml.gz", None),
                        ChildSitemap("https://x.org/sitemap-2019.xml",
                                     datetime(2019, 1, 1, tzinfo=UTC))]
    with pytest.raises(BadInput, match="not a sitemap"):
        list(sitemap_items("feed.xml", b"<rss><channel></channel></rss>", 10**6))


def test_sitemap_index_run_then_only_the_new_page(tmp_path: Path) -> None:
    seeds = sorted(SEEDS.glob("*.txt"))
    published = {"count": 2}

    def news_sitemap(_headers: dict[str, str], _hit: int) -> tuple[int, dict[str, str], bytes]:
        urls = "".join(URL.format(base=server.base, n=n) for n in range(published["count"]))
        return 200, {"Content-Type": "application/x-gzip"}, gzip.compress(
            NEWS.format(urls=urls).encode())

    def index(_headers: dict[str, str], _hit: int) -> tuple[int, dict[str, str], bytes]:
        return 200, {"Content-Type": "application/xml"}, INDEX.format(base=server.base).encode()

    routes = {"/sitemap_index.xml": index, "/news-sitemap.xml.gz": news_sitemap,
              "/sitemap-2019.xml": page(NEWS.format(urls=""), "application/xml"),
              "/robots.txt": page("User-agent: *\nAllow: /\n", "text/plain"),
              **{f"/story/{n}": page(page_of(seeds[n])) for n in range(3)}}
    output = tmp_path / "out"
    with serve(routes) as server:
        args = ("--sitemap", f"{server.base}/sitemap_index.xml", "--output", str(output),
                "--allow-private-hosts")
        first = run_cli(*args)
        assert first.returncode == 0, first.stderr[-3000:]
        published["count"] = 3
        second = run_cli(*args)
        assert second.returncode == 0, second.stderr[-3000:]
        hits = dict(server.hits)
    articles = {a["url"].rsplit("/", 1)[1]: a for a in read_dataset(output, "articles")}
    assert sorted(articles) == ["0", "1", "2"]
    assert hits["/story/0"] == hits["/story/1"] == hits["/story/2"] == 1
    assert hits["/sitemap-2019.xml"] == 1  # unchanged since the first run: not fetched again
    first_story = articles["0"]
    assert first_story["title"] == "Headline number 0"
    assert first_story["published_at"] == datetime(2024, 5, 3, 7, 0, tzinfo=UTC)
    assert first_story["published_at_source"] == "sitemap"
    assert first_story["site_name"] == "Example Tribune"
    assert first_story["tags"] == ["Budget", "Parliament"]
    assert first_story["image_url"] == f"{server.base}/img/0.jpg"
    assert not read_dataset(output, "errors")
