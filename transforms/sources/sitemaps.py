"""Sitemaps (sitemaps.org) and Google News sitemaps, plain or gzip: an index names more
sitemaps, a sitemap names pages; each page is a RawDocument to fetch, carrying what the
sitemap says of it (lastmod, and the news extension's publication date, title, keywords and
publication name; the image extension's picture)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import lxml.etree

from transforms.core.failures import BadInput
from transforms.core.records import Metadata, RawDocument, utc_datetime
from transforms.sources.decode import gunzip_capped
from transforms.sources.http import is_url

_PARSER = lxml.etree.XMLParser(recover=True, resolve_entities=False, no_network=True,
                               huge_tree=True)


@dataclass(frozen=True)
class ChildSitemap:
    """A sitemap an index names, and when the index says it last changed."""

    url: str
    lastmod: datetime | None


def _local(tag: Any) -> str:
    return lxml.etree.QName(tag).localname if isinstance(tag, str) else ""


def _children(element: Any) -> dict[str, Any]:
    """An element's children by local name (the first of each)."""
    found: dict[str, Any] = {}
    for child in element:
        found.setdefault(_local(child.tag), child)
    return found


def _text(element: Any) -> str | None:
    text = " ".join((element.text or "").split()) if element is not None else ""
    return text or None


def _page(source: str, url: str, entry: Any) -> RawDocument:
    fields = _children(entry)
    news = _children(fields["news"]) if "news" in fields else {}
    publication = _children(news["publication"]) if "publication" in news else {}
    image = _children(fields["image"]) if "image" in fields else {}
    published = utc_datetime(_text(news.get("publication_date")))
    keywords = _text(news.get("keywords")) or ""
    return RawDocument(
        source=source,
        kind="html",
        content="",
        url=url,
        title=_text(news.get("title")),
        published_at=published,
        identity=url,
        metadata=Metadata(
            published_at_source="sitemap" if published else None,
            modified_at=utc_datetime(_text(fields.get("lastmod"))),
            image_url=_text(image.get("loc")),
            site_name=_text(publication.get("name")),
            tags=tuple(t.strip() for t in keywords.split(",") if t.strip()),
        ),
    )


def sitemap_items(source: str, data: bytes, max_bytes: int
                  ) -> Iterator[ChildSitemap | RawDocument]:
    """The sitemaps an index names, or the pages a sitemap names (a text sitemap: one URL a
    line). Gzip is looked through. Not a sitemap: BadInput."""
    if data[:2] == b"\x1f\x8b":
        data = gunzip_capped(io.BytesIO(data), max_bytes)
    if data.lstrip(b" \t\r\n\xef\xbb\xbf")[:1] != b"<":  # past white space and a BOM
        urls = [line.strip() for line in data.decode("utf-8", "replace").splitlines()]
        if not urls or not all(is_url(u) for u in urls if u):
            raise BadInput("not a sitemap: neither XML nor one URL a line")
        for url in filter(None, urls):
            yield RawDocument(source=source, kind="html", content="", url=url, identity=url)
        return
    root = lxml.etree.fromstring(data, _PARSER)
    kind = _local(root.tag) if root is not None else ""
    if kind not in ("urlset", "sitemapindex"):
        raise BadInput(f"not a sitemap: its root element is <{kind or 'nothing readable'}>, "
                       "not <urlset> or <sitemapindex>")
    for entry in root:
        fields = _children(entry)
        url = _text(fields.get("loc"))
        if not url or not is_url(url):
            continue
        if kind == "sitemapindex":
            yield ChildSitemap(url, utc_datetime(_text(fields.get("lastmod"))))
        else:
            yield _page(source, url, entry)
