"""Topics: the lexicon labeller on short hand-written texts, one per category."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.config import choose
from pipeline.records import Article
from transforms.topics import TOPIC_BACKENDS, LexiconTopics, TopicLexicon, lexicon_scores

TEXTS = {
    "sport": ("United win the cup final",
              "The striker scored twice as United beat City 3-1 in the cup final at the stadium. "
              "The manager praised his players and the goalkeeper after the match."),
    "economy, business and finance": (
        "Bank raises interest rates",
        "The central bank raised interest rates to curb inflation. Shares fell and the "
        "company said profits and revenue would be lower this quarter as investors sold stock."),
    "politics": ("Minister resigns before election",
                 "The prime minister accepted the resignation as the party prepared for the "
                 "election campaign. Opposition lawmakers in parliament called for a vote."),
    "conflict, war and peace": (
        "Ceasefire collapses",
        "Troops and militants resumed fighting after rocket attacks and airstrikes ended the "
        "ceasefire. The army said soldiers were killed in the battle."),
    "weather": ("Storm warning issued",
                "Forecasters warned of heavy rain, snow and wind as temperatures fall below "
                "freezing; the weather service expects the storm to pass by Friday."),
    "health": ("Hospital cases rise",
               "Doctors and nurses at the hospital treated more patients for the virus as the "
               "outbreak spread; health officials urged vaccination."),
}


@pytest.fixture(scope="module")
def lexicon(config: dict[str, Any]) -> TopicLexicon:
    return TopicLexicon.from_config(config["topics"]["lexicon"])


@pytest.mark.parametrize("label", sorted(TEXTS))
def test_top_topic_per_category(label: str, lexicon: TopicLexicon) -> None:
    title, text = TEXTS[label]
    scores = lexicon_scores(title, text, lexicon, min_score=0.0, max_topics=3)
    assert scores[0][1] == label
    assert all(0.0 <= score <= 1.0 for _, _, score in scores)
    assert [s for _, _, s in scores] == sorted((s for _, _, s in scores), reverse=True)


def test_no_text_gets_no_topics(lexicon: TopicLexicon) -> None:
    assert lexicon_scores(None, "", lexicon, min_score=0.0, max_topics=3) == []
    assert lexicon_scores("Untitled", "Lorem ipsum dolor.", lexicon, 0.0, 3) == []


def test_dofn_yields_keyed_topic_rows(config: dict[str, Any]) -> None:
    topics = config["topics"]
    labeller = LexiconTopics(topics["lexicon"], topics["min_score"], topics["max_topics"])
    title, text = TEXTS["sport"]
    rows = list(labeller.process(Article("a9", "s", "text", text, title=title)))
    assert rows[0][0] == "a9"
    assert (rows[0][1].topic_id, rows[0][1].topic) == ("medtop:15000000", "sport")
    assert len(rows) <= topics["max_topics"]


def test_unknown_backend_lists_valid_choices() -> None:
    with pytest.raises(ValueError, match="valid choices: lexicon_topics"):
        choose(TOPIC_BACKENDS, "zero_shot", "topics.backend")
