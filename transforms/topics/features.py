"""Features: what a text gives as evidence of a topic. Keyword evidence from the lexicon's hits,
weighted by where in the text they are; each topic's share of it; softmax shares of the
cosines to each topic's place among vectors or encodings; the names that place a topic."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from typing import Any

import numpy as np

from transforms.topics.lexicon import TopicLexicon
from transforms.topics.settings import ScoringSettings

# A topic label's names: "crime, law and justice" -> crime | law | justice.
LABEL_PARTS = re.compile(r",\s*(?:and\s+)?|\s+and\s+")


# A time of day ("5pm", "12:19 PM", "9 a.m."): datelines carry them, and "PM" is also the
# abbreviation of Prime Minister, so they are taken out before a text is scored.
TIME_OF_DAY = re.compile(r"\b\d{1,2}(?:\s*[:.]\s*\d{2})?\s*[ap]\.?\s?m\b\.?", re.I)


def lead_text(title: str | None, text: str, words: int) -> str:
    """What the encoder reads of an article: its headline and the start of its text, cut to
    `words` words (the encoder's cost grows with its input; the lead says what it is about)."""
    return " ".join(f"{title or ''}\n{text}".split()[:words])


def best_two(scores: dict[str, float]) -> tuple[float, float]:
    """The two highest scores (0 for each missing): how clearly a text names one topic."""
    first, second = (sorted(scores.values(), reverse=True)[:2] + [0.0, 0.0])[:2]
    return first, second


def topic_names(entry: dict[str, Any]) -> list[str]:
    """What places a top-level topic among vectors: its keywords, its IPTC names, its
    subtopics' keywords and its label's parts (a `word*` keyword as its stem), sorted."""
    names = {*entry["keywords"], *(entry.get("iptc_keywords") or []),
             *LABEL_PARTS.split(entry["label"])}
    for sub in (entry.get("subtopics") or {}).values():
        names.update(sub["keywords"])
    return sorted({name.strip().rstrip("*") for name in names} - {""})


def keyword_evidence(lexicon: TopicLexicon, parts: list[tuple[list[str], float]],
              settings: ScoringSettings) -> dict[str, float]:
    """Weighted keyword evidence per topic from the text's parts (tokens, weight): a hit
    counts its part's weight (the headline `title_weight`, the first paragraphs `lead_weight`,
    the rest 1) times its keyword's weight; one keyword's repeats count at most
    `repeats_counted` times (breadth over repetition).

    A subtopic's hit is evidence for its parent too (the taxonomy's broader relation: an
    article on diplomacy is about politics); a place in the text counts once per topic."""
    weights: dict[tuple[str, str], dict[tuple[int, int], float]] = defaultdict(dict)
    for part_index, (part, part_weight) in enumerate(parts):
        for topic_id, keyword, keyword_weight, position in lexicon.hits(part):
            weight = part_weight * keyword_weight
            for target in (topic_id, lexicon.parent_of[topic_id]):
                if target is not None:
                    at = weights[(target, keyword)]
                    at[(part_index, position)] = max(weight, at.get((part_index, position), 0))
    evidence: dict[str, float] = defaultdict(float)
    for (topic_id, _), found in weights.items():
        evidence[topic_id] += sum(sorted(found.values(), reverse=True)[:settings.repeats_counted])
    return evidence


def evidence_shares(evidence: dict[str, float], scale: float) -> dict[str, float]:
    """Each topic's share of the evidence, times the confidence that there is enough of it."""
    total = sum(evidence.values())
    if total <= 0:
        return {}
    confidence = 1.0 - math.exp(-total / scale)
    return {code: hits / total * confidence for code, hits in evidence.items() if hits > 0}


def weighted_mean(keyword_scores: dict[str, float], nearness: dict[str, float],
              weight: float) -> dict[str, float]:
    """Each topic's weighted mean of its keyword score and its nearness."""
    return {code: (keyword_scores.get(code, 0.0) + weight * nearness.get(code, 0.0)) / (1 + weight)
            for code in keyword_scores.keys() | nearness.keys()}


def softmax_shares(codes: tuple[str, ...], cosines: np.ndarray, temperature: float
                   ) -> dict[str, float]:
    """{topic: its softmax share of the cosines between a text and each topic's place}."""
    shares = np.exp((cosines - cosines.max()) / temperature)
    return dict(zip(codes, (shares / shares.sum()).tolist(), strict=True))
