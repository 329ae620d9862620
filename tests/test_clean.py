"""Cleaning: the seeds' golden expectations, and must-drop / must-keep snippets."""

from __future__ import annotations

import pytest
from conftest import FIXTURES, SEEDS, check_seed_cleaning, seed_expectations

from pipeline.config import RunSettings
from transforms.clean import (
    BoilerplateRules,
    CleanArticle,
    CleanSettings,
    classify_paragraphs,
    clean_article,
)
from transforms.core.failures import ERRORS
from transforms.core.records import Article, RawDocument
from transforms.parse import parse_html, parse_text


@pytest.mark.parametrize("seed", sorted(seed_expectations()))
def test_seed_is_cleaned_exactly(seed: str, rules: BoilerplateRules) -> None:
    raw = RawDocument(source=seed, kind="text", content=(SEEDS / seed).read_text("utf-8"))
    article = clean_article(parse_text(raw), rules)
    check_seed_cleaning(seed, article.title, article.text,
                        [(r.text, r.reason) for r in article.removed])


CONTEXT = [
    "The council approved the budget after a debate that lasted most of the night.",
    "Opposition members said the plan would raise taxes for small businesses.",
    "A final vote is expected next month, officials said.",
]

MUST_DROP = [
    ("Leave a Reply", "comment_widget"),
    ("View 12 comments", "comment_widget"),
    ("Your email address will not be published. Required fields are marked *",
     "comment_widget"),
    ("Read more: Ministers agree new climate targets", "read_more"),
    ("RELATED: Council election results in full", "read_more"),
    ("Related stories", "related"),
    ("You may also like", "related"),
    ("See also | Floods hit the north", "read_more"),
    ("Photo: Jane Doe/AFP", "photo_credit"),
    ("(Getty Images)", "photo_credit"),
    ("John Smith/Reuters", "photo_credit"),
    ("Reuters", "photo_credit"),
    ("By Jane Doe and John Smith, BBC News", "byline"),
    ("Written by Maria Lopez", "byline"),
    ("Share this article", "share"),
    ("Share on Facebook", "share"),
    ("Follow us on Twitter for the latest updates", "share"),
    ("Sign up for our daily newsletter and get the news in your inbox", "newsletter"),
    ("Download the free app", "promotion"),
    ("Advertisement", "promotion"),
    ("Skip to content", "navigation"),
    ("Home > World > Middle East", "navigation"),
    ("English | Français | العربية", "navigation"),
    ("PoliticsWorldBusinessSport", "navigation"),
    ("© 2024 Example News Ltd. All rights reserved.", "copyright"),
    ("(Reporting by Jane Doe and John Smith; Editing by Mark Heinrich)", "byline"),
    ("Reporting by Jane Doe; additional reporting by Ali Khan in Karachi; Editing by Sam Holmes",
     "byline"),
    ("Additional reporting by Ana Ruiz in Madrid.", "byline"),
    ("Maria Lopez contributed reporting from Mexico City.", "byline"),
    ("Follow the Opinion section on Facebook, Twitter and Instagram.", "share"),
    ("Like this story? Share it with a friend!", "share"),
    ("Get the morning's top stories delivered to your inbox.", "newsletter"),
    ("Tell us what you think...", "comment_widget"),
    ("See more: Floods hit the north", "read_more"),
    ("[Related: Floods hit the north]", "read_more"),
    ("Related post: Floods hit the north", "read_more"),
    ("Most read in world news", "related"),
    ("Don't miss", "related"),
    ("More:", "related"),
    ("Associated Press writers Ana Ruiz, Sam Holmes and Ali Khan contributed to this report.",
     "byline"),
    ("SOURCE: News agencies", "byline"),
    ("Get the magazine delivered through your letterbox every month.", "newsletter"),
    ("The Morning Newsletter", "newsletter"),
    ("Filed under: Middle East | Elections", "navigation"),
    ("Tags: floods, weather", "navigation"),
    ("5 min read", "navigation"),
    ("Reading time: 4 minutes", "navigation"),
    ("Tempo de leitura: 2 minutos", "navigation"),
    ("Have a tip? Jane Doe may be reached at jdoe@example.com.", "author_bio"),
    ("Columnist Sam Holmes can be reached at 206-555-0100 or sholmes@example.com.",
     "author_bio"),
]

MUST_KEEP = [
    "The minister said the talks would resume next week.",
    "\"We will not give up,\" she told reporters in Geneva on Monday.",
    "Read the full report before the vote, the committee urged members on Tuesday.",
    "By the end of the year, prices had risen by 4%.",
    "Shares in the company rose 3% after the announcement.",
    "Photographers gathered outside the court as the verdict was read.",
    "About 200 people attended the meeting in the town hall.",
    "McDonald's said it would open 50 new restaurants in the UK.",
    "Reporting by local media suggested the toll was higher; officials denied it.",
    "Reporting by the newspaper found that the ministry had misled parliament.",
    "Fans follow the team on Facebook, where the club posts match highlights.",
    "More than 100 people were evacuated, officials said.",
    "Sources: the ministry did not say who had seen the report.",
    "Reporters from the newspaper contributed to the relief fund.",
    "The company can be reached at its headquarters in Geneva, he said.",
    "Topics of the talks included trade and the border.",
    "See https://example.org/report for the full findings, the agency said.",
    "http://example.org/list",
]


@pytest.mark.parametrize(("line", "reason"), MUST_DROP)
def test_leftover_line_is_dropped_with_reason(line: str, reason: str,
                                              rules: BoilerplateRules) -> None:
    paragraphs = [CONTEXT[0], line, *CONTEXT[1:]]
    assert classify_paragraphs(paragraphs, rules, page_text=False) == [None, reason, None, None]


@pytest.mark.parametrize("line", MUST_KEEP)
def test_article_sentence_is_kept(line: str, rules: BoilerplateRules) -> None:
    paragraphs = [CONTEXT[0], line, CONTEXT[1]]
    assert classify_paragraphs(paragraphs, rules) == [None, None, None]


def test_caption_shown_twice_goes_with_its_credit(rules: BoilerplateRules) -> None:
    paragraphs = [
        "The summit opened in Brussels on Thursday with a call for unity.",
        "Leaders pose for a family photo at the summit in Brussels (L-R) on Thursday",
        "Leaders pose for a family photo at the summit in Brussels on Thursday. "
        "(Photo: John Thys/AFP)",
        "Talks on the budget are expected to run late into the night.",
    ]
    assert classify_paragraphs(paragraphs, rules) == [None, "caption", "caption", None]


def test_repeated_paragraph_keeps_its_first_copy(rules: BoilerplateRules) -> None:
    paragraphs = [CONTEXT[0], CONTEXT[1], CONTEXT[1], CONTEXT[2]]
    assert classify_paragraphs(paragraphs, rules) == [None, None, "duplicate", None]


def test_repeated_article_sentence_far_apart_is_kept(rules: BoilerplateRules) -> None:
    quote = "\"This is a historic day for our country,\" the president said on Sunday."
    filler = [f"Paragraph {n} of the report describes the vote in the assembly." for n in range(5)]
    paragraphs = [quote, *filler, quote]
    assert classify_paragraphs(paragraphs, rules) == [None] * len(paragraphs)


def test_about_heading_without_bio_is_kept(rules: BoilerplateRules) -> None:
    paragraphs = ["The mayor opened the new library on Friday after two years of building work.",
                  "About Town", "Residents welcomed the long-awaited building.",
                  "It will open every day from nine in the morning, the council said."]
    assert classify_paragraphs(paragraphs, rules) == [None, None, None, None]


PROSE = [f"Paragraph {n} of the report says the council met on Tuesday and agreed the budget "
         "for next year after a long debate about buses, schools and housing in the city."
         for n in range(30)]


def test_page_text_keeps_the_prose_run_and_drops_menus_around_it(rules: BoilerplateRules) -> None:
    paragraphs = ["Home", "World", "Business", "Sport", *PROSE[:6], "Share", "Most popular",
                  "Ten things to do this weekend", "Cookie settings", "Contact us"]
    reasons = classify_paragraphs(paragraphs, rules, page_text=True, title="Council budget")
    assert [r for r in reasons[4:10]] == [None] * 6
    assert all(reasons[i] for i in (0, 1, 2, 3, 10, 11, 12, 13, 14))


def test_article_starts_after_the_repeated_headline(rules: BoilerplateRules) -> None:
    teaser = ("Another story entirely, with a long summary that reads like prose and ends "
              "with a full stop, as teasers on news front pages often do.")
    paragraphs = [teaser, teaser + " Again.", "Council agrees budget for next year",
                  *PROSE[:4]]
    reasons = classify_paragraphs(paragraphs, rules, page_text=True,
                                  title="Council agrees budget for next year | City News")
    assert reasons == ["outside_article", "outside_article", "headline", None, None, None, None]


def test_related_box_inside_the_article_does_not_end_it(rules: BoilerplateRules) -> None:
    paragraphs = [*PROSE[:3], "Related", "Bus fares to rise in January", *PROSE[3:8]]
    reasons = classify_paragraphs(paragraphs, rules, page_text=True)
    assert reasons[:3] == [None] * 3 and reasons[5:] == [None] * 5
    assert reasons[3] == "related"


def test_related_list_after_a_full_article_ends_it(rules: BoilerplateRules) -> None:
    paragraphs = [*PROSE[:12], "Related stories", *PROSE[12:15]]
    reasons = classify_paragraphs(paragraphs, rules, page_text=True)
    assert reasons[:12] == [None] * 12
    assert reasons[12:] == ["related"] + ["outside_article"] * 3


def test_language_switcher_above_title_gives_way(rules: BoilerplateRules) -> None:
    article = Article(article_id="x", source="s", kind="text", title="English / Deutsch",
                      text="Storm closes schools\n\nSchools across the region closed on Monday.")
    cleaned = clean_article(article, rules)
    assert cleaned.title == "Storm closes schools"
    assert cleaned.text == "Schools across the region closed on Monday."
    assert [(r.text, r.reason) for r in cleaned.removed] == [("English / Deutsch", "navigation")]


def test_article_with_nothing_left_goes_to_errors(rules: BoilerplateRules) -> None:
    article = Article(article_id="x", source="empty.txt", kind="text", title="Title",
                      text="Leave a Comment\n\nShow Comments")
    outputs = list(CleanArticle(CleanSettings(rules, min_words=1)).process(article))
    assert len(outputs) == 1 and outputs[0].tag == ERRORS
    error = outputs[0].value
    assert (error.source, error.stage, error.error_type) == ("empty.txt", "clean", "BadInput")
    assert "0 words left" in error.message


def _golden_pages() -> dict:
    import yaml

    return yaml.safe_load((FIXTURES / "pages" / "golden.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", sorted(_golden_pages()))
def test_golden_page_keeps_article_and_drops_leftovers(page: str, settings: RunSettings,
                                                       rules: BoilerplateRules) -> None:
    expected = _golden_pages()[page]
    content = (FIXTURES / "pages" / page).read_text(encoding="utf-8")
    raw = RawDocument(source=page, kind=expected["kind"], content=content)
    parsed = (parse_html(raw, settings.parse.extract_options()) if expected["kind"] == "html"
              else parse_text(raw))
    article = clean_article(parsed, rules)
    assert article.title == expected["title"]
    for snippet in expected["keep"]:
        assert snippet in article.text, f"{page}: article text lost: {snippet!r}"
    for snippet in expected["drop"]:
        assert snippet not in article.text, f"{page}: leftover kept: {snippet!r}"
    assert all(r.reason for r in article.removed)


CLEAN_ARTICLE = "\n".join([
    "United win the derby to go top",
    "",
    "LONDON, March 3 (Reuters) -",
    "United beat City 2-1 on Sunday to go top of the table, with two goals in the last ten "
    "minutes after a goalless first half at a packed stadium.",
    "",
    "The visitors had led through a penalty before the break, but the home side pressed for "
    "the rest of the match and were rewarded late on.",
    "Key moments",
    "The first goal came from a corner that the goalkeeper could not hold, and the second "
    "from a counter-attack in stoppage time.",
    "Results",
    "United 2 City 1",
    "Rovers 0 Athletic 0",
    "Wanderers 3 Town 2",
    "What comes next",
    "United travel to Wanderers next weekend, while City host Rovers on Saturday.",
    ""])


def test_a_clean_article_keeps_its_dateline_subheadings_and_results(
        rules: BoilerplateRules) -> None:
    article = clean_article(parse_text(RawDocument("derby.txt", "text", CLEAN_ARTICLE)), rules)
    assert article.removed == ()
    for line in ("LONDON, March 3 (Reuters) -", "Key moments", "Results", "United 2 City 1",
                 "Rovers 0 Athletic 0", "Wanderers 3 Town 2", "What comes next"):
        assert line in article.text.split("\n\n")


def test_page_text_around_the_same_article_is_still_cut(rules: BoilerplateRules) -> None:
    page = ("United win the derby to go top\n\nHome\nNews\nSport\nFootball\nCricket\n\n"
            + CLEAN_ARTICLE.split("\n", 2)[2]
            + "\nMost popular\nShare this article\nCookie settings\nTerms of use\nContact us\n")
    article = clean_article(parse_text(RawDocument("page.txt", "text", page)), rules)
    removed = {r.text for r in article.removed}
    assert {"Home", "News", "Sport", "Football", "Cricket", "Most popular", "Cookie settings",
            "Terms of use", "Contact us"} <= removed
    assert article.text.startswith("United beat City 2-1 on Sunday")
    assert "the second from a counter-attack in stoppage time." in article.text


WIRE_STORY = "\n".join([
    "Soccer-Arsenal go top after win at Molineux",
    "",
    "LONDON, April 20 (Reuters) - Arsenal moved to the top of the Premier League on Saturday "
    "after a 2-0 win at Wolverhampton Wanderers, with goals in the second half.",
    "Mikel Arteta's side now lead Liverpool by one point with five games left.",
    "Second half",
    "Saka opened the scoring in the 52nd minute, curling a shot past the goalkeeper.",
    "Trossard added a second ten minutes from time after a counter-attack.",
    "(Reporting by Ed Osmond; Editing by Clare Fallon)",
    "Results",
    "Wolverhampton 0 Arsenal 2",
    "Chelsea 1 Everton 1",
    "Standings",
    "1. Arsenal 33 games 74 points",
    "2. Liverpool 32 73",
    "Goalscorers",
    "Arsenal: Saka, Trossard",
    "Chelsea: Palmer",
    "Everton: Calvert-Lewin",
    ""])


def test_a_wire_story_keeps_its_tables_lists_and_dateline(rules: BoilerplateRules) -> None:
    """A credit line and a list of scorers (short lines, no digits) are no page's furniture:
    the story is not cut to a 'main block', and every line but the credit stays."""
    article = clean_article(parse_text(RawDocument("wire.txt", "text", WIRE_STORY)), rules)
    assert [(r.reason, r.text) for r in article.removed] == [
        ("byline", "(Reporting by Ed Osmond; Editing by Clare Fallon)")]
    kept = article.text.split("\n\n")
    for line in WIRE_STORY.splitlines()[2:]:
        if line and not line.startswith("(Reporting"):
            assert line in kept
