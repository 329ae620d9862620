"""Parse: text files as title + body, HTML through trafilatura, feed fragments, ids."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import FIXTURES

import transforms.parse
from pipeline.records import RawDocument
from transforms.failures import ERRORS
from transforms.parse import (
    ParseDocument,
    article_id_for,
    normalize_url,
    parse_html,
    parse_text,
    text_paragraphs,
)


def test_text_paragraphs_join_hard_wrapped_lines() -> None:
    text = "First paragraph is wrapped\nover two lines.\nA new line is a new paragraph.\n\n\nLast."
    assert text_paragraphs(text) == [
        "First paragraph is wrapped over two lines.",
        "A new line is a new paragraph.",
        "Last.",
    ]


def test_text_file_title_is_first_line_and_not_repeated() -> None:
    raw = RawDocument("a.txt", "text", "Headline here\n\nFirst para.\n\nSecond para.\n")
    article = parse_text(raw)
    assert article.title == "Headline here"
    assert article.text == "First para.\n\nSecond para."
    assert article.kind == "text" and article.url is None


def test_html_page_through_trafilatura(config: dict[str, Any]) -> None:
    html = (FIXTURES / "html" / "council.html").read_text(encoding="utf-8")
    article = parse_html(RawDocument("council.html", "html", html), config["extraction"])
    assert article.title == "Council approves city transport plan"
    assert article.url == "https://news.example.org/local/council-transport-plan"
    assert article.published_at == datetime(2024, 3, 5, tzinfo=UTC)
    assert article.language == "en-gb"
    paragraphs = article.text.split("\n\n")
    assert paragraphs[0].startswith("Buses will run every ten minutes")  # title not repeated
    assert "Mayor Anna Berg said the plan would" in article.text
    assert "\"We support better buses, but not at any price,\" said councillor Tom Reed." in (
        article.text)
    for leftover in ("Home", "Leave a Reply", "Privacy policy", "Share on Facebook",
                     "All rights reserved", "Photo: John Smith/Reuters"):
        assert leftover not in article.text


def test_feed_fragment_keeps_short_summary(config: dict[str, Any]) -> None:
    raw = RawDocument("feed.xml", "html", "<p>Rates held at 4%.</p><p>Markets rose.</p>",
                      url="https://example.org/a", title="Rates held")
    article = parse_html(raw, config["extraction"])
    assert article.text == "Rates held at 4%.\n\nMarkets rose."
    assert article.title == "Rates held"


def test_article_id_is_deterministic_and_url_based() -> None:
    raw = RawDocument("x.html", "html", "<p>a</p>")
    first = article_id_for(raw, "https://Example.org/news/a/?utm_source=x#top")
    assert first == article_id_for(raw, "https://example.org/news/a")
    assert first != article_id_for(raw, "https://example.org/news/b")
    text = RawDocument("one.txt", "text", "Title\n\nBody  text")
    same_text_elsewhere = RawDocument("two.txt", "text", "Title\nBody text\n")
    assert article_id_for(text, None) == article_id_for(same_text_elsewhere, None)
    assert len(first) == 32


def test_normalize_url_drops_tracking_and_fragment() -> None:
    assert normalize_url("HTTPS://News.Example.org/a/?b=1&utm_medium=rss&fbclid=z#c") == (
        "https://news.example.org/a?b=1")


def test_page_without_article_goes_to_errors(config: dict[str, Any]) -> None:
    raw = RawDocument("blank.html", "html", "<html><body><div> </div></body></html>")
    outputs = list(ParseDocument(config["extraction"], timeout_s=10).process(raw))
    assert [o.tag for o in outputs] == [ERRORS]
    assert outputs[0].value.stage == "parse"
    assert outputs[0].value.source == "blank.html"


def test_slow_extraction_goes_to_errors_and_the_next_page_is_parsed(
        config: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    real_parse_html = transforms.parse.parse_html

    def parse_html_slowly_for_one_page(document: RawDocument, options: dict) -> Any:
        if document.source == "slow.html":
            time.sleep(3)
        return real_parse_html(document, options)

    monkeypatch.setattr(transforms.parse, "parse_html", parse_html_slowly_for_one_page)
    parser = ParseDocument(config["extraction"], timeout_s=0.5)
    parser.setup()
    html = (FIXTURES / "html" / "council.html").read_text(encoding="utf-8")
    started = time.monotonic()
    slow = list(parser.process(RawDocument("slow.html", "html", html)))
    assert time.monotonic() - started < 2.5
    assert [o.tag for o in slow] == [ERRORS]
    assert slow[0].value.message == "extraction took longer than limits.extraction_timeout_s=0.5 s"
    fine = list(parser.process(RawDocument("fine.html", "html", html)))
    assert [a.title for a in fine] == ["Council approves city transport plan"]
    parser.teardown()
