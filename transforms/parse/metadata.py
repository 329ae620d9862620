"""What a page says about its article beside the text: JSON-LD (schema.org NewsArticle and
kin) and meta tags (Open Graph, article:*, Dublin Core, Parse.ly, citation_*), merged with
what its feed entry or sitemap said, each field from the most trusted evidence; its headline
without the site's name.

Each field keeps where it came from, so the article can say which evidence gave its date."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.html

from transforms.core.bylines import byline_of, name_key, same_site
from transforms.core.records import Metadata, RawDocument, host_of, utc_datetime
from transforms.core.text import one_line

_ARTICLE_TYPES = re.compile(r"(?:Article|BlogPosting|Report|NewsArticle|LiveBlogPosting|"
                            r"Posting|WebPage|Story)$", re.IGNORECASE)
_JSON_COMMENT = re.compile(r"^\s*(?:<!--|//<!\[CDATA\[|<!\[CDATA\[)|(?:-->|//\]\]>|\]\]>)\s*$")
_CONTROL = re.compile(r"[\x00-\x1f]")  # JSON forbids them raw inside strings
# Dates in a URL: /2024/05/03/, /2024-05-03/, -20241203- (a year this century, a real month).
_URL_DATE = re.compile(r"(?<!\d)(20\d\d)([/_-]?)(0[1-9]|1[0-2])\2(0[1-9]|[12]\d|3[01])(?!\d)")
# Between a headline and the site's name in a page title: "Headline | CBC News".
_TITLE_SEPARATOR = re.compile(r"\s+[|–—:·•»~*-]\s*|\s*[|｜ㅣ：]\s*|\s+[-–—]")
_BARE_HYPHEN = re.compile(r"(?<=\S)-(?=\S)")
_QUOTES = re.compile(r"[‘’‚‛′`´]")
_MIN_HEADLINE_CHARS = 10
# A publication date is sane if it is no later than the fetch (with a day of slack for time
# zones and clocks) and no earlier than news on the web.
EARLIEST_DATE = datetime(1995, 1, 1, tzinfo=UTC)
DATE_SLACK = timedelta(days=1)
_SPLIT_TAGS = re.compile(r"\s*[,;]\s*")
_MAX_H1S = 5
_SLUG = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)+$")  # "emma-mackenzie": a profile's path

# Meta tags by field, most specific first (name= or property= or itemprop=, case-folded).
_META_PUBLISHED = ("article:published_time", "og:article:published_time", "datepublished",
                   "parsely-pub-date", "sailthru.date", "dc.date.issued", "dcterms.created",
                   "dc.date", "pubdate", "publishdate", "publish-date", "publication_date",
                   "citation_publication_date", "date", "og:published_time")
_META_MODIFIED = ("article:modified_time", "og:updated_time", "datemodified",
                  "dcterms.modified", "last-modified", "lastmod")
_META_AUTHORS = ("author", "article:author", "parsely-author", "sailthru.author",
                 "dc.creator", "dcterms.creator", "citation_author", "byl")
_META_TAGS = ("article:tag", "news_keywords", "keywords", "parsely-tags", "sailthru.tags",
              "article:section")


@dataclass
class PageMetadata:
    """The page's own statements about its article; every field may be missing."""

    headlines: list[str] = field(default_factory=list)  # og:title, JSON-LD, twitter, <title>
    h1s: list[str] = field(default_factory=list)  # the page's visible top headings
    people: list[str] = field(default_factory=list)  # JSON-LD's authors that are people
    meta_authors: list[list[str]] = field(default_factory=list)  # each meta tag's, in order
    organisations: list[str] = field(default_factory=list)  # authors that are organisations
    published: list[tuple[str, datetime]] = field(default_factory=list)  # (evidence, time)
    modified: datetime | None = None
    image_url: str | None = None
    description: str | None = None
    site_names: list[str] = field(default_factory=list)  # og:site_name, JSON-LD publisher
    tags: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)  # article:section, articleSection


def _text(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value") or value.get("url")
    if isinstance(value, list):
        value = value[0] if value else None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return None
    text = " ".join(html.unescape(str(value)).split())
    return text or None


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 or RFC 2822 date as aware UTC; None if neither."""
    text = _text(value)
    if not text:
        return None
    parsed = utc_datetime(text.replace(" ", "T", 1) if re.match(r"\d{4}-\d\d-\d\d \d", text)
                          else text)
    if parsed is None:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return parsed


def _json_objects(script: str) -> Iterator[dict[str, Any]]:
    """Every object in one ld+json script, through lists and @graph."""
    text = _CONTROL.sub(" ", "\n".join(_JSON_COMMENT.sub("", line)
                                       for line in script.strip().splitlines()))
    try:
        data = json.loads(text)
    except ValueError:
        return
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            yield item
            if isinstance(item.get("@graph"), list):
                stack.extend(reversed(item["@graph"]))


def _types(item: dict[str, Any]) -> list[str]:
    kind = item.get("@type") or []
    return [str(k) for k in (kind if isinstance(kind, list) else [kind])]


def _names(value: Any) -> Iterator[tuple[str, bool]]:
    """(name, is an organisation) of a schema.org author value."""
    for item in value if isinstance(value, list) else [value]:
        name = _text(item)
        if not name:
            continue
        organisation = isinstance(item, dict) and any(
            t in ("Organization", "NewsMediaOrganization", "Corporation") for t in _types(item))
        yield name, organisation


def _image(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("url") or value.get("contentUrl")
    return _text(value)


def _keywords(value: Any) -> list[str]:
    if isinstance(value, list):
        return [t for v in value if (t := _text(v))]
    text = _text(value)
    return [t for t in _SPLIT_TAGS.split(text) if t] if text else []


def _is_article(item: dict[str, Any]) -> bool:
    return (any(_ARTICLE_TYPES.search(k) for k in _types(item)) and "headline" in item
            or "datePublished" in item and "author" in item)


def _read_json_ld(root: Any, found: PageMetadata) -> None:
    """The article's fields from the page's article objects (a page may describe itself in
    several, e.g. a WebPage and a NewsArticle): each field from the first that has it, the
    NewsArticle kinds first."""
    items = [item for script in root.xpath('//script[@type="application/ld+json"]')
             for item in _json_objects(script.text_content() or "")]
    articles = sorted((i for i in items if _is_article(i)),
                      key=lambda i: not any("Article" in k for k in _types(i)))

    def first(field: str, read: Any) -> Any:
        return next((value for item in articles if (value := read(item.get(field)))), None)

    if headline := first("headline", _text):
        found.headlines.append(headline)
    for name, organisation in first("author", lambda v: list(_names(v))) or []:
        (found.organisations if organisation else found.people).append(name)
    if published := first("datePublished", parse_time):
        found.published.append(("json-ld", published))
    found.modified = first("dateModified", parse_time)
    found.image_url = first("image", _image)
    found.description = first("description", _text)
    found.site_names += filter(None, [first("publisher", _text)])
    found.tags += first("keywords", _keywords) or []
    found.sections += first("articleSection", _keywords) or []
    for item in items:
        kinds = _types(item)
        if ("WebSite" in kinds or "NewsMediaOrganization" in kinds) and (
                name := _text(item.get("name"))):
            found.site_names.append(name)


def _meta(root: Any) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for element in root.xpath("//meta[@content]|//*[@itemprop][@content or @datetime]"):
        key = (element.get("property") or element.get("name") or element.get("itemprop")
               or "").strip().casefold()
        value = element.get("content") or element.get("datetime")
        if key and value and value.strip():
            values.setdefault(key, []).append(" ".join(html.unescape(value).split()))
    return values


def _first(meta: dict[str, list[str]], keys: tuple[str, ...]) -> str | None:
    return next((meta[k][0] for k in keys if k in meta), None)


def _read_meta(root: Any, found: PageMetadata) -> None:
    meta = _meta(root)
    if "og:title" in meta:  # the headline as shared: before JSON-LD's, often a search one
        found.headlines.insert(0, meta["og:title"][0])
    if "twitter:title" in meta:
        found.headlines.append(meta["twitter:title"][0])
    found.h1s = [text for h1 in root.xpath("//h1")[:_MAX_H1S]
                 if 0 < len(text := " ".join(h1.text_content().split())) <= 400]
    title = root.find(".//title")
    if title is not None and (text := " ".join(title.text_content().split())):
        found.headlines.append(text)
    for key in _META_PUBLISHED:
        if (published := parse_time(meta.get(key, [None])[0])) is not None:
            found.published.append(("meta", published))
            break
    modified = _first(meta, _META_MODIFIED)
    found.modified = found.modified or parse_time(modified)
    found.meta_authors = [names for key in _META_AUTHORS if (names := [
        v for v in meta.get(key, []) if not _is_link(v) and not _SLUG.match(v)])]
    found.image_url = found.image_url or _first(meta, ("og:image", "og:image:url",
                                                        "twitter:image", "image"))
    found.description = found.description or _first(meta, ("og:description", "description",
                                                            "twitter:description"))
    found.site_names += [v for k in ("og:site_name", "application-name", "publisher")
                         for v in meta.get(k, [])]
    found.sections += meta.get("article:section", [])
    if not found.tags:
        for key in _META_TAGS:
            if key in meta:
                found.tags = [t for v in meta[key] for t in _SPLIT_TAGS.split(v) if t]
                break


def _is_link(value: str) -> bool:
    return bool(urlsplit(value).scheme in ("http", "https") or value.startswith("/"))


def url_date(url: str | None) -> datetime | None:
    """A publication date written into the URL's path (/2024/05/03/ and the like)."""
    match = _URL_DATE.search(urlsplit(url or "").path)
    if not match:
        return None
    try:
        return datetime(int(match[1]), int(match[3]), int(match[4]), tzinfo=UTC)
    except ValueError:
        return None


def page_metadata(content: str, url: str | None) -> PageMetadata:
    """JSON-LD first (typed: people apart from organisations), then meta tags, then the URL."""
    found = PageMetadata()
    try:
        root = lxml.html.fromstring(content)
    except (lxml.etree.ParserError, ValueError):
        return found
    _read_json_ld(root, found)
    _read_meta(root, found)
    if (dated := url_date(url)) is not None:
        found.published.append(("url", dated))
    if found.image_url and url:
        found.image_url = urljoin(url, found.image_url)
    found.tags = list(dict.fromkeys(t for t in found.tags if len(t) <= 100))
    return found


def without_site_name(title: str, sites: list[str], sections: tuple[str, ...] = ()) -> str:
    """The headline of a page title: the site's name cut from its end or its start, and the
    page's section beside it ("Headline - Politics | Site"; a section may follow a bare
    hyphen, so it must match exactly)."""
    section_keys = {name_key(s) for s in sections if s}

    def furniture(segment: str, bare: bool) -> bool:
        return (name_key(segment) in section_keys
                or (not bare and same_site(segment, sites)))

    for _ in range(3):
        separators = list(_TITLE_SEPARATOR.finditer(title)) + (
            list(_BARE_HYPHEN.finditer(title)) if section_keys else [])
        if not separators:
            break
        separators.sort(key=lambda m: m.start())
        last, first = separators[-1], separators[0]
        if last.start() > 0 and furniture(title[last.end():], last.re is _BARE_HYPHEN):
            title = title[:last.start()].strip()
        elif first.end() < len(title) and furniture(title[:first.start()],
                                                     first.re is _BARE_HYPHEN):
            title = title[first.end():].strip()
        else:
            break
    return title


def trusted_date(evidence: list[tuple[str, datetime | None]], fetched_at: datetime | None
                 ) -> tuple[datetime | None, str | None]:
    """(time, evidence name) of the first evidence, in order of trust, that is sane."""
    latest = (fetched_at or datetime.now(UTC)) + DATE_SLACK
    for source, when in evidence:
        if when is not None and EARLIEST_DATE <= when <= latest:
            return when, source
    return None, None


def _title_key(text: str) -> str:
    """A headline compared across its copies: case, spacing and quote styles folded."""
    return " ".join(_QUOTES.sub("'", text).casefold().split())


def page_headline(found: PageMetadata, extracted_title: str | None, sites: list[str]
                  ) -> str | None:
    """The page's headline: the first one stated for sharing and search (og:title, JSON-LD,
    <title>) without the site's name. Where that copy is the visible <h1> with more after a
    separator ("| DW | 28.04.2023", "- National | Globalnews.ca"), the affix is the site's
    furniture, and the h1 is the headline; where they differ in quote marks only, the h1
    keeps the page's typography."""
    stated = [without_site_name(one_line(c), sites, tuple(found.sections))
              for c in [*found.headlines, extracted_title] if c and c.strip()]
    if not stated:
        return None
    first = _title_key(stated[0])
    for h1 in found.h1s:
        key = _title_key(h1)
        if len(key) >= _MIN_HEADLINE_CHARS and (first == key or (
                first.startswith(key) and _TITLE_SEPARATOR.match(stated[0], len(h1)))):
            return h1
    return stated[0] or None


def page_title(document: RawDocument, found: PageMetadata, extracted_title: str | None,
               sites: list[str]) -> str | None:
    """The feed's title, else the page's headline."""
    if document.title and document.title.strip():
        return one_line(document.title)
    return page_headline(found, extracted_title, sites)


def html_metadata(document: RawDocument, found: PageMetadata, extracted: Any
                  ) -> tuple[datetime | None, Metadata]:
    """(published_at, metadata) from the document's own (feed, sitemap) and the page's."""
    given = document.metadata
    sites = [*found.site_names, *filter(None, [given.site_name, host_of(document.url),
                                              extracted and extracted.sitename])]
    extracted_people = extracted.author.split("; ") if extracted and extracted.author else []
    bylines = [byline_of(people, found.organisations, sites) for people in (
        found.people, *found.meta_authors, extracted_people, list(given.authors))]
    byline = next((b for b in bylines if b.authors), None) or next(
        (b for b in bylines if b.credit), bylines[0])
    text_date = utc_datetime(extracted.date) if extracted and extracted.date else None
    evidence = [(given.published_at_source or "feed", document.published_at),
                *found.published, ("text", text_date)]
    published_at, published_source = trusted_date(evidence, document.fetched_at)
    tags = given.tags or tuple(found.tags) or tuple(
        t for field in ("categories", "tags") for t in (getattr(extracted, field, None) or []))
    return published_at, Metadata(
        authors=byline.authors or given.authors,
        credit=byline.credit or given.credit,
        published_at_source=published_source,
        modified_at=found.modified or given.modified_at,
        image_url=found.image_url or given.image_url or (extracted and extracted.image),
        description=found.description or given.description,
        site_name=next(iter(found.site_names), None) or given.site_name,
        tags=tuple(dict.fromkeys(tags)),
    )
