"""Parse: RawDocuments to Articles: HTML through trafilatura, plain text as title + body.

This package is the parsing itself, free of Beam: the extraction processes' fork server
imports it (and parse_html_job) without Beam, so an HTML run's first page waits about 0.75 s
for the server rather than 1.5 s. The Beam step that runs it is parse.stage."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import lxml.html

from transforms.core.bad_input import BadInput
from transforms.core.language import detect_language, page_language
from transforms.core.records import Article, RawDocument, article_id_for, host_of
from transforms.core.settings import check_above, check_at_least
from transforms.core.text import PARAGRAPH_BREAK, one_line, text_paragraphs, without_controls
from transforms.parse.metadata import (
    PageMetadata,
    html_metadata,
    page_metadata,
    page_title,
    trusted_date,
)

STAGE = "parse"
_HTML_LANG = re.compile(r"<html\b[^>]*\blang\s*=\s*[\"']?([A-Za-z]{2,3}(?:-[A-Za-z0-9]+)?)", re.I)
_FULL_PAGE = re.compile(r"<\s*(html|body)\b", re.I)
# A line ending in a full stop (a closing quote or bracket may follow): a sentence, not a headline.
_ONE_SENTENCE = re.compile(r"\w\s?\.[\"'”’)]*\s*$")
_BLOCK_END = re.compile(r"<\s*(?:br|/p|/div|/li|/h[1-6]|/blockquote|/tr|/figcaption)\b[^>]*>", re.I)


@dataclass(frozen=True)
class ParseSettings:
    """Config `parse.*`: the extraction's deadline, the pages sent ahead to it, and
    trafilatura's options."""

    timeout_s: float = 10.0
    pages_ahead: int = 16
    favor_precision: bool = True
    favor_recall: bool = False
    include_comments: bool = False
    include_tables: bool = True

    def __post_init__(self) -> None:
        check_above("parse.timeout_s", self.timeout_s, 0)
        check_at_least("parse.pages_ahead", self.pages_ahead, 0)

    def extract_options(self) -> dict[str, bool]:
        """The keyword arguments for trafilatura.bare_extraction."""
        return {"favor_precision": self.favor_precision, "favor_recall": self.favor_recall,
                "include_comments": self.include_comments,
                "include_tables": self.include_tables}


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


def _detected(title: str | None, text: str) -> str:
    return detect_language(f"{title or ''}\n{text}")


def parse_text(document: RawDocument) -> Article:
    """Title = the first line, body = the rest; a text that is one sentence alone (a news brief,
    a flash) is all body: headlines do not end with a full stop, so the line is not one."""
    paragraphs = text_paragraphs(document.content)
    title = None if document.title is None else one_line(document.title)
    if title is None and paragraphs and not (len(paragraphs) == 1
                                             and _ONE_SENTENCE.search(paragraphs[0])):
        title, paragraphs = paragraphs[0], paragraphs[1:]
    text = _body(paragraphs, title)
    published_at, published_source = trusted_date(
        [(document.metadata.published_at_source or "feed", document.published_at)],
        document.fetched_at)
    return Article(
        article_id=article_id_for(document, document.url),
        source=document.source,
        kind="text",
        text=text,
        url=document.url,
        title=title,
        published_at=published_at,
        language=_detected(title, text),
        metadata=replace(document.metadata, published_at_source=published_source),
    )


def parse_html(document: RawDocument, extract_options: dict[str, Any]) -> Article:
    import trafilatura  # heavy import, only where it is used

    extracted = None
    content = without_controls(document.content)  # lxml would keep a NUL as U+FFFD
    if not _FULL_PAGE.search(content):  # a feed entry's fragment: all of it is content
        paragraphs, found = fragment_paragraphs(content), PageMetadata()
    else:
        extracted = trafilatura.bare_extraction(
            content, url=document.url, with_metadata=True, **extract_options)
        if extracted is None or not extracted.text:
            raise BadInput("no article text found in the page")
        paragraphs = text_paragraphs(extracted.text.replace("\n", PARAGRAPH_BREAK))
        found = page_metadata(content, document.url or extracted.url)
    published_at, metadata = html_metadata(document, found, extracted)
    title = page_title(document, found, extracted and extracted.title,
                       [*found.site_names, *filter(None, [metadata.site_name, metadata.credit,
                                                          host_of(document.url)])])
    url = document.url or (extracted and extracted.url)
    text = _body(paragraphs, title)
    declared = _HTML_LANG.search(document.content[:5000])
    language = page_language((extracted and extracted.language)
                             or (declared and declared.group(1)), f"{title or ''}\n{text}")
    return Article(
        article_id=article_id_for(document, url),
        source=document.source,
        kind="html",
        text=text,
        url=url,
        title=title,
        published_at=published_at,
        language=language.lower(),
        metadata=metadata,
    )


def parse_html_job(job: tuple[RawDocument, dict[str, Any]]) -> Article:
    """parse_html with one argument, as the extraction process is called."""
    return parse_html(*job)
