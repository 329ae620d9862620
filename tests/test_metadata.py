"""What an article says about itself: bylines split into people, one name each, apart from the
agency or outlet credited; dates by trust; headlines without the site's name; from a page's
JSON-LD and meta tags, a feed entry, or the body's byline."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from transforms.clean import clean_article
from transforms.core.bylines import byline_line, byline_of, split_byline
from transforms.core.records import RawDocument
from transforms.parse import parse_html, parse_text
from transforms.parse.metadata import page_headline, page_metadata, trusted_date
from transforms.sources.feeds import feed_documents


@pytest.mark.parametrize(("byline", "authors", "credit"), [
    ("By Ann Lee and Bo Chen", ("Ann Lee", "Bo Chen"), None),
    ("By Ann Lee, Reuters", ("Ann Lee",), "Reuters"),
    ("Von Anna Müller und Jan Berg", ("Anna Müller", "Jan Berg"), None),
    ("Par Claire Dubois et Luc Martin, AFP", ("Claire Dubois", "Luc Martin"), "AFP"),
    ("The Associated Press", (), "The Associated Press"),
    ("Associated Press; Guardian staff reporter", (), "Associated Press"),
    ("Ann Lee in Kyiv", ("Ann Lee",), None),
    ("ann.lee@example.org (Ann Lee)", ("Ann Lee",), None),
    ("Brazil, Rachel", ("Rachel Brazil",), None),  # a citation's surname first
    ("Emma Mackenzie, Image: Getty Images", ("Emma Mackenzie",), None),
    ("Capital Von Jemima Kelly", ("Jemima Kelly",), None),
    ("The Washington Times https://www.washingtontimes.com, Tom Davies", ("Tom Davies",),
     None),
])
def test_bylines_give_people_one_each_and_the_agency_as_credit(
        byline: str, authors: tuple[str, ...], credit: str | None) -> None:
    found = split_byline(byline, sites=["The Washington Times"])
    assert (found.authors, found.credit) == (authors, credit)


def test_the_outlet_is_the_credit_only_where_no_person_is_named() -> None:
    assert byline_of(["Salzburger Nachrichten"], sites=["Salzburger Nachrichten"]).credit == \
        "Salzburger Nachrichten"
    named = byline_of(["Oliver Kring"], ["NDR"], sites=["NDR"])
    assert (named.authors, named.credit) == (("Oliver Kring",), None)
    assert byline_of(["Adam Vidler", "AP"]).credit == "AP"


def test_a_body_line_is_a_byline_only_with_its_lead_in() -> None:
    assert byline_line("By Ann Lee and Bo Chen").authors == ("Ann Lee", "Bo Chen")
    assert byline_line("(Reporting by Ann Lee; Editing by Bo Chen)") is None


PAGE = """<html lang="en"><head>
<title>Council approves budget | Example Tribune</title>
<meta property="og:title" content="Council approves budget | Example Tribune">
<meta property="og:site_name" content="Example Tribune">
<meta property="og:image" content="/img/council.jpg">
<meta name="description" content="The city council passed its budget on Tuesday.">
<meta property="article:modified_time" content="2024-05-04T08:00:00Z">
<meta name="keywords" content="Budget, City council">
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle",
 "headline": "Council approves budget", "datePublished": "2024-05-03T09:30:00+02:00",
 "author": [{"@type": "Person", "name": "Ann Lee"}, {"@type": "Person", "name": "Bo Chen"},
            {"@type": "Organization", "name": "Associated Press"}]}</script>
</head><body><article><h1>Council approves budget</h1>
<p>The city council approved the budget for next year on Tuesday after a long debate.</p>
<p>Spending on schools and buses rises, while the council keeps taxes where they were.</p>
</article></body></html>"""


def test_json_ld_and_meta_tags_fill_the_metadata(settings) -> None:  # noqa: ANN001
    document = RawDocument("council.html", "html", PAGE,
                           url="https://tribune.example.org/2024/05/03/council-budget")
    article = parse_html(document, settings.parse.extract_options())
    meta = article.metadata
    assert article.title == "Council approves budget"
    assert meta.authors == ("Ann Lee", "Bo Chen") and meta.credit == "Associated Press"
    assert article.published_at == datetime(2024, 5, 3, 7, 30, tzinfo=UTC)
    assert meta.published_at_source == "json-ld"
    assert meta.modified_at == datetime(2024, 5, 4, 8, 0, tzinfo=UTC)
    assert meta.image_url == "https://tribune.example.org/img/council.jpg"
    assert meta.description == "The city council passed its budget on Tuesday."
    assert meta.site_name == "Example Tribune"
    assert meta.tags == ("Budget", "City council")


def test_dates_are_taken_in_order_of_trust_and_insane_ones_passed_over() -> None:
    fetched = datetime(2024, 5, 3, 12, tzinfo=UTC)
    future = datetime(2031, 1, 1, tzinfo=UTC)
    ancient = datetime(1970, 1, 1, tzinfo=UTC)
    sane = datetime(2024, 5, 2, tzinfo=UTC)
    assert trusted_date([("feed", future), ("json-ld", ancient), ("url", sane)], fetched) == (
        sane, "url")
    assert trusted_date([("feed", None), ("meta", None)], fetched) == (None, None)
    metadata = page_metadata("<html><head></head><body></body></html>",
                             "https://x.org/news/2024-05-02/story")
    assert metadata.published == [("url", sane)]


def test_the_site_name_is_cut_from_the_headline_and_a_visible_h1_keeps_its_own() -> None:
    found = page_metadata("<html><head><meta property='og:title' content='Ukraine talks "
                          "resume | DW | 28.04.2023'></head><body><h1>Ukraine talks resume</h1>"
                          "</body></html>", "https://www.dw.com/x")
    assert page_headline(found, None, ["dw.com"]) == "Ukraine talks resume"
    found = page_metadata("<html><head><title>Storm hits coast - CBC News</title></head>"
                          "<body></body></html>", None)
    assert page_headline(found, None, ["CBC News"]) == "Storm hits coast"


def test_feed_entry_authors_categories_and_media_reach_the_document() -> None:
    rss = b"""<?xml version="1.0"?><rss version="2.0"
      xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/">
      <channel><title>Example Tribune</title><link>https://tribune.example.org/</link>
      <item><title>Budget passes</title><link>https://tribune.example.org/budget</link>
      <dc:creator>Ann Lee and Bo Chen</dc:creator><category>Politics</category>
      <media:content url="https://tribune.example.org/b.jpg" medium="image"/>
      <pubDate>Fri, 03 May 2024 09:00:00 GMT</pubDate>
      <description>The council passed the budget after a long debate on Tuesday.</description>
      </item></channel></rss>"""
    [entry] = feed_documents("https://tribune.example.org/feed", rss)
    assert entry.metadata.authors == ("Ann Lee", "Bo Chen")
    assert entry.metadata.tags == ("Politics",)
    assert entry.metadata.image_url == "https://tribune.example.org/b.jpg"
    assert entry.metadata.site_name == "Example Tribune"
    assert entry.metadata.published_at_source == "feed"


def test_a_body_byline_names_the_authors_of_a_text_article(rules) -> None:  # noqa: ANN001
    text = ("Storm closes coastal roads\n\nBy Ann Lee and Bo Chen, Reuters\n\n"
            "Heavy rain closed roads along the coast on Monday, officials said.\n\n"
            "Crews expect to reopen most of them by Wednesday morning.")
    article = clean_article(parse_text(RawDocument("storm.txt", "text", text)), rules)
    assert article.metadata.authors == ("Ann Lee", "Bo Chen")
    assert article.metadata.credit == "Reuters"
    assert "By Ann Lee" not in article.text
