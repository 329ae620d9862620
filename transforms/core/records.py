"""The record types that travel between stages (one type per hand-off, no positional tuples),
and the identity of an article."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TRACKING_PARAM = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid)$", re.I)


@dataclass(frozen=True)
class Metadata:
    """What a source says about an article beside its text: a feed entry or a sitemap before
    the page is read, then the page itself (JSON-LD, meta tags) and its byline."""

    authors: tuple[str, ...] = ()  # people, one name each
    credit: str | None = None  # the agency or outlet credited ("Associated Press")
    published_at_source: str | None = None  # which evidence gave published_at
    modified_at: datetime | None = None
    image_url: str | None = None
    description: str | None = None
    site_name: str | None = None
    tags: tuple[str, ...] = ()  # the publisher's own tags, categories and keywords


NO_METADATA = Metadata()


@dataclass(frozen=True)
class RawDocument:
    """One input record before parsing: a text file, an HTML page or a feed entry."""

    source: str  # input path or feed URL
    kind: str  # "text" or "html"
    content: str
    url: str | None = None
    title: str | None = None
    published_at: datetime | None = None
    identity: str | None = None  # what makes the record itself (feed entry id); content if None
    metadata: Metadata = NO_METADATA
    fetched_at: datetime | None = None  # when the page was fetched (a WARC record's date)


@dataclass(frozen=True)
class Removed:
    """A block cleaning took out of the body, and why (a short stable reason name)."""

    text: str
    reason: str


@dataclass(frozen=True)
class Article:
    article_id: str
    source: str
    kind: str
    text: str
    url: str | None = None
    title: str | None = None
    published_at: datetime | None = None
    language: str | None = None
    removed: tuple[Removed, ...] = field(default_factory=tuple)
    keyphrases: tuple[str, ...] = ()  # filled by the key-phrase step, before the branches
    metadata: Metadata = NO_METADATA
    # The sentence encoder's embedding of the headline and lead (float32 bytes), computed
    # beside NER (topics' EncodeLeads) and read by the topic head; None: not encoded yet.
    lead_vector: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class EntityMention:
    article_id: str
    entity_id: str
    name: str  # the canonical name once resolved across articles; the mention's own before
    label: str
    text: str  # the surface form: article.text[start:end]
    start: int
    end: int
    key: str = ""  # the spelling-insensitive name key the entity_id is made from
    full: bool = True  # the mention spells the name out (not a short form linked to it)


@dataclass(frozen=True)
class ArticleEntities:
    """An article's mentions as recognised (before dedupe keeps one article per id): the text
    they were found in is named by its digest, since two articles may share an id. An article
    in a language without a model has none, and names that language (dedupe counts it for
    the articles it keeps)."""

    article_id: str
    text_digest: str
    mentions: tuple[EntityMention, ...]
    no_model_for: str | None = None


def text_digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


@dataclass(frozen=True)
class TopicScore:
    article_id: str
    topic_id: str
    topic: str
    score: float
    parent_id: str | None = None  # the top-level topic a subtopic sits under


@dataclass(frozen=True)
class ErrorRecord:
    """An input or record that failed a stage; written to errors/ so nothing is lost silently."""

    source: str
    stage: str
    error_type: str
    message: str


def utc_datetime(value: Any) -> datetime | None:
    """An ISO 8601 date or time as an aware UTC datetime (naive means UTC); None if unreadable."""
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def host_of(url: str | None) -> str | None:
    """The host a URL names, without "www."; None for no URL or a path."""
    host = urlsplit(url or "").hostname
    return host.removeprefix("www.") if host else None


def normalize_url(url: str) -> str:
    """A URL as an identity: lower-case scheme and host, no fragment, no tracking parameters."""
    parts = urlsplit(url.strip())
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if not _TRACKING_PARAM.match(k)])
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, query, ""))


def article_id_for(document: RawDocument, url: str | None) -> str:
    """Deterministic id: from the normalised URL when known, else from the record's identity
    (feed entry id) or its whitespace-normalised content."""
    if url:
        key = "url\0" + normalize_url(url)
    elif document.identity:
        key = "entry\0" + document.identity
    else:
        key = "content\0" + " ".join(document.content.split())
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
