"""Topics: IPTC Media Topics (top level) per article, with a score in [0, 1]."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import apache_beam as beam

from pipeline.config import choose
from pipeline.records import Article, TopicScore
from transforms.failures import StageDoFn, apply_stage

STAGE = "topics"


def _keyword_regex(keywords: list[str]) -> re.Pattern[str]:
    """One alternation per topic; `word*` matches any ending, spaces match any whitespace."""
    alternatives = []
    for keyword in sorted({k.strip().casefold() for k in keywords}, key=len, reverse=True):
        stem = r"\s+".join(re.escape(part) for part in keyword.rstrip("*").split())
        alternatives.append(stem + (r"\w*" if keyword.endswith("*") else ""))
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b")


@dataclass(frozen=True)
class TopicLexicon:
    topics: tuple[tuple[str, str, re.Pattern[str]], ...]  # (topic_id, label, keywords)

    @classmethod
    def from_config(cls, lexicon: dict[str, Any]) -> TopicLexicon:
        return cls(tuple((code, entry["label"], _keyword_regex(entry["keywords"]))
                         for code, entry in lexicon.items()))


def lexicon_scores(title: str | None, text: str, lexicon: TopicLexicon, min_score: float,
                   max_topics: int) -> list[tuple[str, str, float]]:
    """Score = the topic's share of all keyword hits x how much evidence there is in total
    (1 - e^(-hits/5)), so a long article with one dominant topic scores near 1, a stray
    keyword near 0. The title counts twice, as editors put the subject there."""
    document = f"{title or ''}\n{title or ''}\n{text}".casefold()
    hits = {code: (label, len(pattern.findall(document)))
            for code, label, pattern in lexicon.topics}
    total = sum(count for _, count in hits.values())
    if total == 0:
        return []
    evidence = 1.0 - math.exp(-total / 5.0)
    scored = sorted(((code, label, count / total * evidence)
                     for code, (label, count) in hits.items() if count),
                    key=lambda item: (-item[2], item[0]))
    return [(code, label, round(score, 4)) for code, label, score in scored[:max_topics]
            if score >= min_score]


class LexiconTopics(StageDoFn):
    """A transparent first labeller: keyword hits per topic from configs/topics.yaml."""

    stage = STAGE

    def __init__(self, lexicon: dict[str, Any], min_score: float, max_topics: int) -> None:
        self.lexicon = TopicLexicon.from_config(lexicon)
        self.min_score = min_score
        self.max_topics = max_topics

    def handle(self, article: Article) -> Iterator[tuple[str, TopicScore]]:
        for code, label, score in lexicon_scores(article.title, article.text, self.lexicon,
                                                 self.min_score, self.max_topics):
            yield article.article_id, TopicScore(article.article_id, code, label, score)


TOPIC_BACKENDS: dict[str, type[StageDoFn]] = {"lexicon_topics": LexiconTopics}


class ExtractTopics(beam.PTransform):
    """Articles -> ((article_id, TopicScore) pairs, ErrorRecords)."""

    def __init__(self, backend: str, lexicon: dict[str, Any], min_score: float,
                 max_topics: int) -> None:
        super().__init__()
        labeller_class = choose(TOPIC_BACKENDS, backend, "topics.backend")
        self.labeller = labeller_class(lexicon, min_score, max_topics)

    def expand(self, articles: beam.PCollection) -> tuple[beam.PCollection, beam.PCollection]:
        return apply_stage(articles, "ScoreTopics", self.labeller)
