"""Parse: RawDocuments to Articles: HTML through trafilatura, plain text as title + body."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import apache_beam as beam
import lxml.html

from pipeline.records import Article, RawDocument, utc_datetime
from transforms.failures import BadInput, StageDoFn, apply_stage

STAGE = "parse"
PARAGRAPH_BREAK = "\n\n"
_BLANK_LINES = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"[.!?:;\"'”’)\]]\s*$")
_HTML_LANG = re.compile(r"<html\b[^>]*\blang\s*=\s*[\"']?([A-Za-z]{2,3}(?:-[A-Za-z0-9]+)?)", re.I)
_FULL_PAGE = re.compile(r"<\s*(html|body)\b", re.I)
_BLOCK_END = re.compile(r"<\s*(?:br|/p|/div|/li|/h[1-6]|/blockquote|/tr|/figcaption)\b[^>]*>", re.I)
_TRACKING_PARAM = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid)$", re.I)


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


def text_paragraphs(text: str) -> list[str]:
    """Non-empty lines as paragraphs; a hard-wrapped line (previous line open, this one starting
    lower-case) joins the line before it."""
    paragraphs: list[str] = []
    for block in _BLANK_LINES.split(text.replace("\r\n", "\n").replace("\r", "\n")):
        previous_open = False
        for raw_line in block.split("\n"):
            line = " ".join(raw_line.split())
            if not line:
                continue
            if previous_open and paragraphs and line[0].islower():
                paragraphs[-1] = f"{paragraphs[-1]} {line}"
            else:
                paragraphs.append(line)
            previous_open = not _SENTENCE_END.search(paragraphs[-1])
    return paragraphs


def fragment_paragraphs(html: str) -> list[str]:
    """Visible text of an HTML fragment (a feed summary), one paragraph per block element."""
    root = lxml.html.fromstring(f"<div>{_BLOCK_END.sub(chr(10), html)}</div>")
    for invisible in root.xpath("//script|//style|//noscript"):
        invisible.drop_tree()
    return text_paragraphs(root.text_content())


def _body(paragraphs: list[str], title: str | None) -> str:
    if title and paragraphs and paragraphs[0].casefold() == title.casefold():
        paragraphs = paragraphs[1:]  # the title is not repeated in the body
    return PARAGRAPH_BREAK.join(paragraphs)


def parse_text(document: RawDocument) -> Article:
    paragraphs = text_paragraphs(document.content)
    title = document.title
    if title is None and paragraphs:
        title, paragraphs = paragraphs[0], paragraphs[1:]
    return Article(
        article_id=article_id_for(document, document.url),
        source=document.source,
        kind="text",
        text=_body(paragraphs, title),
        url=document.url,
        title=title,
        published_at=document.published_at,
    )


def parse_html(document: RawDocument, extract_options: dict) -> Article:
    import trafilatura  # heavy import, only where it is used

    extracted = None
    if not _FULL_PAGE.search(document.content):  # a feed entry's fragment: all of it is content
        paragraphs, title, url, date = fragment_paragraphs(document.content), None, None, None
    else:
        extracted = trafilatura.bare_extraction(
            document.content, url=document.url, with_metadata=True, **extract_options)
        if extracted is None or not extracted.text:
            raise BadInput("no article text found in the page")
        paragraphs = text_paragraphs(extracted.text.replace("\n", PARAGRAPH_BREAK))
        title, url, date = extracted.title, extracted.url, extracted.date
    title = document.title or title
    url = document.url or url
    declared = _HTML_LANG.search(document.content[:5000])
    language = (extracted and extracted.language) or (declared and declared.group(1).lower())
    return Article(
        article_id=article_id_for(document, url),
        source=document.source,
        kind="html",
        text=_body(paragraphs, title),
        url=url,
        title=title,
        published_at=document.published_at or (utc_datetime(date) if date else None),
        language=language or None,
    )


class ParseDocument(StageDoFn):
    """Parses one document; an HTML extraction that runs past the deadline becomes an errors
    row and the run moves on (the abandoned extraction finishes in the background)."""

    stage = STAGE

    def __init__(self, extract_options: dict, timeout_s: float) -> None:
        self.extract_options = extract_options
        self.timeout_s = timeout_s
        self._pool: ThreadPoolExecutor | None = None

    def setup(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="extract")

    def teardown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _parse_html_in_time(self, document: RawDocument) -> Article:
        if self._pool is None:
            self.setup()
        future = self._pool.submit(parse_html, document, self.extract_options)
        try:
            return future.result(timeout=self.timeout_s)
        except FutureTimeout:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="extract")
            raise BadInput(f"extraction took longer than limits.extraction_timeout_s="
                           f"{self.timeout_s:g} s") from None

    def handle(self, document: RawDocument) -> Iterator[Article]:
        beam.metrics.Metrics.counter("newsbeam", "records").inc()
        if document.kind == "html":
            article = self._parse_html_in_time(document)
        else:
            article = parse_text(document)
        if not article.text.strip():
            raise BadInput("no body text after the title")
        yield article


class ParseArticles(beam.PTransform):
    """{origin: RawDocuments} -> (Articles, ErrorRecords).

    Each origin is parsed in its own step, fused with its reading, and only the parsed
    articles are flattened: raw pages never wait in a runner's buffer, so memory does not
    grow with the number of pages."""

    def __init__(self, extract_options: dict, timeout_s: float) -> None:
        super().__init__()
        self.parser = ParseDocument(extract_options, timeout_s)

    def expand(self, documents: dict[str, beam.PCollection]
               ) -> tuple[beam.PCollection, beam.PCollection]:
        parsed = [apply_stage(pcoll, f"Parse{origin.title().replace('_', '')}", self.parser)
                  for origin, pcoll in documents.items()]
        return (tuple(articles for articles, _ in parsed) | "AllArticles" >> beam.Flatten(),
                tuple(errors for _, errors in parsed) | "AllParseErrors" >> beam.Flatten())
