"""Feed files and fetched feed bodies (RSS, Atom, JSON Feed) -> one RawDocument per entry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from transforms.core.bylines import byline_of
from transforms.core.failures import BadInput
from transforms.core.records import Metadata, RawDocument, utc_datetime
from transforms.sources.decode import decode_text
from transforms.sources.http import is_url


def _entry_time(entry: Any) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    return datetime(*parsed[:6], tzinfo=UTC) if parsed else None


def _updated_time(entry: Any) -> datetime | None:
    parsed = entry.get("updated_parsed")
    return datetime(*parsed[:6], tzinfo=UTC) if parsed else None


def _entry_image(entry: Any) -> str | None:
    """The entry's picture: media:content or media:thumbnail, else an image enclosure."""
    for media in (*(entry.get("media_content") or []), *(entry.get("media_thumbnail") or [])):
        if media.get("url") and media.get("medium", "image") == "image":
            return media["url"]
    for link in entry.get("links") or []:
        if link.get("rel") == "enclosure" and str(link.get("type", "")).startswith("image/"):
            return link.get("href")
    return None


def entry_metadata(entry: Any, site_name: str | None, has_content: bool) -> Metadata:
    """What a feed entry says beside its text: authors (an agency among them is the credit),
    categories as tags, its picture, its update time, its summary (a description when the
    entry also carries the full content)."""
    names = [a.get("name") for a in entry.get("authors") or [] if a.get("name")]
    if not names and entry.get("author"):
        names = [(entry.get("author_detail") or {}).get("name") or entry["author"]]
    byline = byline_of(names, sites=[site_name] if site_name else [])
    tags = [t.get("label") or t.get("term") for t in entry.get("tags") or []]
    summary = (entry.get("summary") or "").strip()
    return Metadata(
        authors=byline.authors,
        credit=byline.credit,
        published_at_source="feed" if _entry_time(entry) else None,
        modified_at=_updated_time(entry) if entry.get("published_parsed") else None,
        image_url=_entry_image(entry),
        description=summary if has_content and summary and "<" not in summary else None,
        site_name=site_name,
        tags=tuple(dict.fromkeys(t.strip() for t in tags if t and t.strip())),
    )


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
        modified = utc_datetime(_json_text(item, "date_modified"))
        authors = item.get("authors") or ([item["author"]] if item.get("author") else [])
        image = _json_text(item, "image") or _json_text(item, "banner_image")
        entries.append({
            "id": _json_text(item, "id"), "link": _json_text(item, "url"),
            "title": _json_text(item, "title"),
            "content": [{"value": html, "type": "text/html"} if html else
                        {"value": text or "", "type": "text/plain"}],
            "published_parsed": published.utctimetuple() if published else None,
            "updated_parsed": modified.utctimetuple() if modified else None,
            "authors": [{"name": _json_text(a, "name")} for a in authors
                        if isinstance(a, dict)] if isinstance(authors, list) else [],
            "tags": [{"term": t} for t in item.get("tags") or [] if isinstance(t, str)]
            if isinstance(item.get("tags"), list) else [],
            "media_content": [{"url": image}] if image else [],
            "summary": _json_text(item, "summary"),
        })
    return feedparser.FeedParserDict(entries=entries, bozo=False,
                                     feed={"link": _json_text(feed, "home_page_url"),
                                           "title": _json_text(feed, "title")})


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
    site_name = ((parsed.get("feed") or {}).get("title") or "").strip() or None
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
            metadata=entry_metadata(entry, site_name, has_content=bool(contents)),
        )
