"""Parse: text files as title + body, HTML through trafilatura, feed fragments, ids."""

from __future__ import annotations

import dataclasses
import multiprocessing.forkserver
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from apache_beam.pvalue import TaggedOutput
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue
from conftest import FIXTURES, REPO

from pipeline import cli
from pipeline.config import RunSettings
from transforms.core.failures import ERRORS
from transforms.core.records import RawDocument, article_id_for, normalize_url
from transforms.core.text import text_paragraphs
from transforms.parse import ParseSettings, parse_html, parse_text
from transforms.parse.stage import ParseDocument


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


def test_text_of_one_sentence_is_all_body_and_a_lone_headline_stays_a_title() -> None:
    brief = "A bomb exploded Friday at a bank branch in Woodburn, Oregon, killing two officers."
    article = parse_text(RawDocument("brief.txt", "text", f"{brief}\n"))
    assert article.title is None and article.text == brief
    lone = "Esther Williams, swimming star, dies at 91"
    headline = parse_text(RawDocument("h.txt", "text", f"{lone}\n"))
    assert headline.title == lone and headline.text == ""
    two_lines = parse_text(RawDocument("t.txt", "text", f"Bomb kills two officers\n{brief}\n"))
    assert two_lines.title == "Bomb kills two officers" and two_lines.text == brief


def test_html_page_through_trafilatura(settings: RunSettings) -> None:
    html = (FIXTURES / "html" / "council.html").read_text(encoding="utf-8")
    article = parse_html(RawDocument("council.html", "html", html),
                         settings.parse.extract_options())
    assert article.title == "Council approves city transport plan"
    assert article.url == "https://news.example.org/local/council-transport-plan"
    assert article.published_at == datetime(2024, 3, 5, 9, 30, tzinfo=UTC)  # the full time
    assert article.metadata.published_at_source == "meta"
    assert article.language == "en-gb"
    paragraphs = article.text.split("\n\n")
    assert paragraphs[0].startswith("Buses will run every ten minutes")  # title not repeated
    assert "Mayor Anna Berg said the plan would" in article.text
    assert "\"We support better buses, but not at any price,\" said councillor Tom Reed." in (
        article.text)
    for leftover in ("Home", "Leave a Reply", "Privacy policy", "Share on Facebook",
                     "All rights reserved", "Photo: John Smith/Reuters"):
        assert leftover not in article.text


def test_feed_fragment_keeps_short_summary(settings: RunSettings) -> None:
    raw = RawDocument("feed.xml", "html", "<p>Rates held at 4%.</p><p>Markets rose.</p>",
                      url="https://example.org/a", title="Rates held")
    article = parse_html(raw, settings.parse.extract_options())
    assert article.text == "Rates held at 4%.\n\nMarkets rose."
    assert article.title == "Rates held"


def test_control_characters_leave_titles_and_text(settings: RunSettings) -> None:
    raw = RawDocument("a.txt", "text", "Storm\x07 title\x0c\n\nSchools closed.\x00 Roads "
                      "shut.\x1b[0m\n")
    article = parse_text(raw)
    assert (article.title, article.text) == ("Storm title", "Schools closed. Roads shut. [0m")
    entry = RawDocument("feed.json", "html", "<p>Rates held\x00 at 4%.</p>",
                        url="https://example.org/b", title="Rates\n  held\x00")
    parsed = parse_html(entry, settings.parse.extract_options())
    assert (parsed.title, parsed.text) == ("Rates held", "Rates held at 4%.")


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


def unwrapped(outputs: Iterable[Any]) -> list[Any]:
    """Outputs taken out of their windows (pages' outcomes come out in their own)."""
    return [TaggedOutput(o.tag, o.value.value if isinstance(o.value, WindowedValue) else o.value)
            if isinstance(o, TaggedOutput) else o.value if isinstance(o, WindowedValue) else o
            for o in outputs]


def process(parser: ParseDocument, document: RawDocument) -> list[Any]:
    """ParseDocument.process as a runner calls it, for a document in the global window."""
    return unwrapped(parser.process(document, MIN_TIMESTAMP, GlobalWindow()))


def bundle(parser: ParseDocument, *documents: RawDocument) -> list[Any]:
    """One bundle's outputs, taken out of their windows."""
    parser.start_bundle()
    outputs = [output for document in documents for output in process(parser, document)]
    return outputs + unwrapped(parser.finish_bundle())


def test_pages_are_sent_ahead_and_each_outcome_keeps_its_document(
        settings: RunSettings) -> None:
    """With one page ahead, a page's article comes out when the next page goes to the
    extraction process (or when the bundle ends); plain text is parsed at once; an errors row
    names its own page; pages left in flight by a failed bundle are not mistaken for the next
    bundle's. With two ahead, the third page sent brings out the first."""
    page = (FIXTURES / "html" / "council.html").read_text(encoding="utf-8")
    blank = RawDocument("blank.html", "html", "<html><body><div> </div></body></html>")
    parser = ParseDocument(dataclasses.replace(settings.parse, pages_ahead=1))
    parser.start_bundle()
    assert process(parser, RawDocument("a.html", "html", page)) == []
    [text] = process(parser, RawDocument("t.txt", "text", "Headline\n\nBody text."))
    assert text.source == "t.txt"
    [first] = process(parser, blank)
    assert first.source == "a.html" and first.title == "Council approves city transport plan"
    [error] = unwrapped(parser.finish_bundle())
    assert error.tag == ERRORS and error.value.source == "blank.html"
    assert error.value.message == "no article text found in the page"
    # A bundle that fails after sending a page; the next bundle starts clean.
    parser.start_bundle()
    assert process(parser, blank) == []
    outputs = bundle(parser, RawDocument("b.html", "html", page))
    assert [getattr(o, "source", None) for o in outputs] == ["b.html"]
    parser.teardown()

    parser = ParseDocument(dataclasses.replace(settings.parse, pages_ahead=2))
    parser.start_bundle()
    sent = [RawDocument(f"{name}.html", "html", page) for name in "abcd"]
    assert [process(parser, document) for document in sent[:2]] == [[], []]
    assert [a.source for a in process(parser, sent[2])] == ["a.html"]
    assert [a.source for a in process(parser, sent[3])] == ["b.html"]
    assert [a.source for a in unwrapped(parser.finish_bundle())] == ["c.html", "d.html"]
    parser.teardown()


def test_a_page_over_the_deadline_does_not_take_the_pages_behind_it_along(
        settings: RunSettings) -> None:
    normal = (FIXTURES / "html" / "council.html").read_text(encoding="utf-8")
    parser = ParseDocument(dataclasses.replace(settings.parse, timeout_s=0.3))
    outputs = bundle(parser, RawDocument("one.html", "html", normal),
                     RawDocument("heavy.html", "html", HEAVY),
                     RawDocument("two.html", "html", normal))
    parser.teardown()
    assert [(getattr(o, "tag", None), getattr(o, "source", None)) for o in outputs] == [
        (None, "one.html"), (ERRORS, None), (None, "two.html")]
    assert outputs[1].value.source == "heavy.html"
    assert outputs[1].value.error_type == "DeadlineExceeded"


def test_page_without_article_goes_to_errors(settings: RunSettings) -> None:
    raw = RawDocument("blank.html", "html", "<html><body><div> </div></body></html>")
    parser = ParseDocument(settings.parse)
    outputs = bundle(parser, raw)
    parser.teardown()
    assert [o.tag for o in outputs] == [ERRORS]
    assert outputs[0].value.stage == "parse"
    assert outputs[0].value.source == "blank.html"


def extraction_processes() -> list[int]:
    """Live (not zombie) processes forked by this process's fork server: the extractions."""
    server = multiprocessing.forkserver._forkserver._forkserver_pid
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == server and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


PARAGRAPH = "<p>" + "word " * 50 + "</p>"
# A 2 MB page that takes trafilatura about a second
HEAVY = f"<html><body>{'<div>' * 50}{PARAGRAPH * 8000}{'</div>' * 50}</body></html>"


def test_pages_over_the_deadline_are_stopped_and_the_next_page_is_on_time() -> None:
    """20 pages that take trafilatura about a second each, with a 0.3 s deadline: each becomes
    an errors row within the deadline and its extraction is killed; a normal page after them
    is extracted at its usual speed, and once the DoFn is torn down nothing is left running."""
    parser = ParseDocument(ParseSettings(timeout_s=0.3))
    heavy, normal = HEAVY, (FIXTURES / "html" / "council.html").read_text(encoding="utf-8")
    for number in range(20):
        started = time.monotonic()
        outputs = bundle(parser, RawDocument(f"heavy-{number}.html", "html", heavy))
        assert time.monotonic() - started < 1.5
        assert [o.tag for o in outputs] == [ERRORS]
        assert outputs[0].value.message == (
            "extraction took longer than parse.timeout_s=0.3 s")
        assert outputs[0].value.error_type == "DeadlineExceeded"
        assert extraction_processes() == []  # killed, not left running
    started = time.monotonic()
    fine = bundle(parser, RawDocument("fine.html", "html", normal))
    assert time.monotonic() - started < 0.3  # a fresh extraction process, on time
    assert [a.title for a in fine] == ["Council approves city transport plan"]
    assert len(extraction_processes()) == 1  # the one that parsed it, idle
    parser.teardown()
    assert extraction_processes() == []


@pytest.mark.slow
def test_a_run_of_pages_over_the_deadline_leaves_nothing_running(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pages = tmp_path / "pages"
    pages.mkdir()
    for number in range(20):
        (pages / f"heavy-{number:02d}.html").write_text(HEAVY, encoding="utf-8")
    shutil.copy(FIXTURES / "html" / "council.html", pages / "normal.html")
    config = tmp_path / "deadline.yaml"
    config.write_text("parse: {timeout_s: 0.3}\n", encoding="utf-8")
    status = cli.main(["run", "--config", str(config), "--input", f"{pages}/*.html",
                       "--output", str(tmp_path / "out")])
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert status == 0
    assert "articles written 1," in summary and "errors by stage: parse 20;" in summary
    assert extraction_processes() == []  # the runner tore the parsers down: nothing left


def test_the_extraction_server_imports_no_beam() -> None:
    """What the extraction processes' fork server imports (the deadline module, the call's
    module and its preload) leaves Beam out: an HTML run's first page waits for those imports
    (about 0.75 s without Beam, 1.5 s with it)."""
    extraction = ParseDocument(ParseSettings()).extraction
    modules = ["transforms.core.deadline", extraction.function.__module__, *extraction.preload]
    code = f"import sys; import {', '.join(modules)}; print('apache_beam' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, check=True)
    assert modules[1:] == ["transforms.parse", "transforms.parse.preload"]
    assert result.stdout.strip() == "False"
