"""The model: a text's top-level topics and subtopics with scores in [0, 1], from its keyword
evidence, its nearness to each topic's centroid among word vectors and, for a short unclear
text, its headline's and lead's nearness to each topic's prototype among sentence encodings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from transforms.core.text import PARAGRAPH_BREAK
from transforms.core.text import tokens as _tokens
from transforms.resources.text_encoder import encode
from transforms.resources.word_vectors import WordVectors
from transforms.topics.features import (
    TIME_OF_DAY,
    best_two,
    evidence_shares,
    keyword_evidence,
    lead_text,
    softmax_shares,
    topic_names,
    weighted_mean,
)
from transforms.topics.lexicon import Topic, TopicLexicon
from transforms.topics.settings import EncoderSettings, ScoringSettings, VectorSettings


@dataclass(frozen=True)
class TopicCentroids:
    """Each top-level topic's place among word vectors: the average of the vectors of its
    keywords, its subtopics' and its IPTC names (a name of several words: their average). A
    text is near the topics whose vocabulary its words are used with, even when it holds no
    keyword: "midfielder" is no keyword, but sits among sport's."""

    codes: tuple[str, ...]
    matrix: np.ndarray  # (topics, dimensions), unit rows
    vectors: WordVectors
    settings: VectorSettings

    @classmethod
    def from_lexicon(cls, lexicon: dict[str, Any], vectors: WordVectors,
                     settings: VectorSettings) -> TopicCentroids:
        codes, rows = [], []
        for code, entry in lexicon.items():
            found = []
            for name in topic_names(entry):
                words = [w.casefold() for w in _tokens(name)]
                if words and all(w in vectors.rows for w in words):
                    found.append(vectors.vectors[[vectors.rows[w] for w in words]].mean(axis=0))
            if found:
                centroid = np.mean(found, axis=0)
                codes.append(code)
                rows.append(centroid / np.linalg.norm(centroid))
        return cls(tuple(codes), np.array(rows, dtype=np.float32), vectors, settings)

    def nearness(self, parts: list[tuple[list[str], float]]) -> dict[str, float]:
        """{topic: its softmax share of the cosines between the text (its parts' tokens, each
        part counting so many times) and each centroid}; empty when the text is near no
        centroid (not even `min_cosine`: its words name no subject the lexicon knows, or none
        has a vector)."""
        cosines = self.matrix @ self.vectors.of_parts(parts)
        if cosines.max() < self.settings.min_cosine:
            return {}
        return softmax_shares(self.codes, cosines, self.settings.temperature)


_NAMES_PER_TEXT = 8


@cache
def _prototype_matrix(names: tuple[tuple[str, ...], ...], package: str, threads: int
                      ) -> np.ndarray:
    """Each topic's average encoding of its names, listed `_NAMES_PER_TEXT` to a text
    ("football, goal, goalkeeper, ..."): as near its subject as one name a text, at a fifth of
    the cost. Encoded once per worker process, whatever number of DoFns ask."""
    rows = []
    for names_of_topic in names:
        lists = [", ".join(names_of_topic[i:i + _NAMES_PER_TEXT])
                 for i in range(0, len(names_of_topic), _NAMES_PER_TEXT)]
        rows.append(encode(package, lists, threads).mean(axis=0))
    return np.array([row / np.linalg.norm(row) for row in rows], dtype=np.float32)


@dataclass(frozen=True)
class TopicPrototypes:
    """Each top-level topic's place among sentence encodings: the average encoding of its
    names (keywords, IPTC names, label parts). A headline and its first sentence are encoded as
    a whole and compared with them: "Striker joins rivals in record deal" is near sport though
    its keywords tie sport with arts. The names (about 1,600: 5 s) are encoded when a text
    is first consulted, so a run of long articles never pays for them."""

    codes: tuple[str, ...]
    names: tuple[tuple[str, ...], ...]  # per topic
    settings: EncoderSettings

    @classmethod
    def from_lexicon(cls, lexicon: dict[str, Any], settings: EncoderSettings
                     ) -> TopicPrototypes:
        named = [(code, tuple(topic_names(entry))) for code, entry in lexicon.items()]
        return cls(tuple(code for code, names in named if names),
                   tuple(names for _, names in named if names), settings)

    @property
    def matrix(self) -> np.ndarray:
        """(topics, dimensions), unit rows."""
        return _prototype_matrix(self.names, self.settings.package, self.settings.threads)

    def nearness(self, title: str, lead: str) -> dict[str, float]:
        """{topic: its softmax share of the cosines between the headline with the lead (cut
        to `lead_words` words) and each prototype}."""
        cosines = self.matrix @ encode(self.settings.package, [
            lead_text(title, lead, self.settings.lead_words)], self.settings.threads)[0]
        return softmax_shares(self.codes, cosines, self.settings.temperature)

    def consulted(self, scores: dict[str, float], words: int) -> bool:
        """Whether a text of so many words with these scores is encoded: only a short one (a
        feed summary, a headline and lead: a long article gives its keywords and vectors
        evidence enough, and encoding it would cost more than its entities), and only when its
        best two scores are closer than `consult_below` (no score counts 0): otherwise the
        encoder's say does not change the top topic in practice. It arbitrates between the
        topics its keywords or vectors name: a text that names none ("Lorem ipsum", "Doors
        open at 5 p.m.") gets no topic rather than the encoder's guess."""
        first, second = best_two(scores)
        return (first > 0 and words <= self.settings.max_words
                and first - second < self.settings.consult_below)


@dataclass(frozen=True)
class TextEvidence:
    """What the lexicon (and the vectors and prototypes beside it) says of a text: each
    top-level topic's score, and what its subtopics are told apart by."""

    scores: dict[str, float]  # top-level topics
    keyword_scores: dict[str, float]
    evidence: dict[str, float]  # keyword evidence per topic, subtopics too
    scale: float


def lexicon_evidence(title: str | None, text: str, lexicon: TopicLexicon,
                     settings: ScoringSettings, centroids: TopicCentroids | None = None,
                     prototypes: TopicPrototypes | None = None) -> TextEvidence | None:
    """Keyword score = the topic's share of all keyword evidence x (1 - e^(-evidence /
    scale)): a long article about one thing scores near 1, a stray keyword in it near 0. The
    scale follows the text's length (evidence_scale per evidence_scale_words words): the two
    keywords of a headline and its first sentence are as clear as twenty in a long article, so
    a feed summary gets a topic as reliably as a whole article. With centroids, a top-level
    score is the weighted mean of the keyword score and the text's nearness to the topic's
    centroid: the words no keyword names (a short text has few keywords) have their say too.
    With prototypes, a short text whose best two scores are close gets in turn the weighted
    mean of that and the encoder's nearness of its headline and lead to the topic. None for
    an empty text."""
    if not text.strip():
        return None
    title, text = TIME_OF_DAY.sub(" ", title or ""), TIME_OF_DAY.sub(" ", text)
    paragraphs = text.split(PARAGRAPH_BREAK)
    title_words = _tokens(title)
    lead_words = _tokens("\n".join(paragraphs[:settings.lead_paragraphs]))
    rest_words = _tokens("\n".join(paragraphs[settings.lead_paragraphs:]))
    evidence = keyword_evidence(lexicon, [(title_words, settings.title_weight),
                                          (lead_words, settings.lead_weight), (rest_words, 1.0)],
                                settings)
    text_words = lead_words + rest_words
    words = len(title_words) + len(text_words)
    scale = settings.evidence_scale * min(1.0, words / settings.evidence_scale_words)
    top = [t for t in lexicon.topics if t.parent_id is None]
    keyword_scores = evidence_shares({t.topic_id: evidence.get(t.topic_id, 0.0) for t in top},
                                     scale)
    scores = keyword_scores
    if centroids is not None:
        near = centroids.nearness([(title_words, settings.title_weight), (text_words, 1.0)])
        scores = weighted_mean(keyword_scores, near, centroids.settings.weight)
    if prototypes is not None and prototypes.consulted(scores, words):
        near = prototypes.nearness(title, paragraphs[0])
        scores = weighted_mean(scores, near, prototypes.settings.weight)
    return TextEvidence(scores, keyword_scores, evidence, scale)


def chosen_topics(scores: dict[str, float], lexicon: TopicLexicon, settings: ScoringSettings,
                  found: TextEvidence | None = None) -> list[tuple[Topic, float]]:
    """Top-level topics over min_score (at most max_topics, best first), each followed by its
    subtopics that clear min_score within it, where the lexicon's evidence (`found`) tells
    them apart."""
    top = [t for t in lexicon.topics if t.parent_id is None]
    chosen = sorted((t for t in top if scores.get(t.topic_id, 0) >= settings.min_score),
                    key=lambda t: (-scores[t.topic_id], t.topic_id))[:settings.max_topics]
    result = []
    for parent in chosen:
        parent_score = scores[parent.topic_id]
        result.append((parent, round(parent_score, 4)))
        if found is None:
            continue
        # Subtopics are told apart by keywords only (the vectors place a text among top-level
        # topics): a subtopic scores its share of its parent's keyword score, at most its
        # parent's score.
        children = [t for t in lexicon.topics if t.parent_id == parent.topic_id]
        child_scores = {code: min(parent_score,
                                  found.keyword_scores.get(parent.topic_id, 0.0) * share)
                        for code, share in evidence_shares(
                            {t.topic_id: found.evidence.get(t.topic_id, 0.0) for t in children},
                            found.scale).items()}
        ranked = sorted((t for t in children
                         if child_scores.get(t.topic_id, 0) >= settings.min_score),
                        key=lambda t: (-child_scores[t.topic_id], t.topic_id))
        result += [(t, round(child_scores[t.topic_id], 4))
                   for t in ranked[:settings.max_subtopics]]
    return result


def score_topics(title: str | None, text: str, lexicon: TopicLexicon,
                 settings: ScoringSettings,
                 centroids: TopicCentroids | None = None,
                 prototypes: TopicPrototypes | None = None) -> list[tuple[Topic, float]]:
    """The lexicon's topics of a text (see lexicon_evidence and chosen_topics)."""
    found = lexicon_evidence(title, text, lexicon, settings, centroids, prototypes)
    return chosen_topics(found.scores, lexicon, settings, found) if found else []
