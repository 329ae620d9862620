"""Topics: IPTC Media Topics per article (top level, and one level down where confident), each
with a score in [0, 1].

Its phases: lexicon (the keyword index), features (evidence from keywords, shares, softmax),
model (word-vector centroids, encoder prototypes, the scores), beside the settings of each."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import apache_beam as beam

from transforms.core import metrics
from transforms.core.failures import StageDoFn, apply_stage
from transforms.core.language import primary_language
from transforms.core.records import Article, TopicScore
from transforms.core.settings import ConfigError, choose
from transforms.resources.text_encoder import check_encoder, encode
from transforms.resources.topic_model import TopicHead
from transforms.resources.word_vectors import WordVectors, vector_files
from transforms.topics.features import weighted_mean
from transforms.topics.lexicon import TopicLexicon
from transforms.topics.model import (
    TopicCentroids,
    TopicPrototypes,
    chosen_topics,
    lexicon_evidence,
)
from transforms.topics.settings import (
    EncoderSettings,
    ModelSettings,
    ScoringSettings,
    VectorSettings,
)

__all__ = ["TOPIC_BACKENDS", "EncoderSettings", "ExtractTopics", "LexiconTopics",
           "ModelSettings", "ScoringSettings", "TopicSettings", "VectorSettings"]


STAGE = "topics"
BATCH_SIZE = 32  # articles whose headlines and leads the encoder reads at once


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
    model: ModelSettings = ModelSettings()
    head: TopicHead | None = field(default=None, compare=False)  # model.path, read

    def __post_init__(self) -> None:
        choose(TOPIC_BACKENDS, self.backend, "topics.backend")
        if self.vectors.enabled:
            vector_files(self.vectors.package, self.vector_language)
        if self.head is not None and self.encoder.package is None:
            raise ConfigError("config key 'topics.encoder.package' is null, but the trained "
                              "topic head (topics.model.path) reads the encoder's output; "
                              "name the encoder's package or set topics.model.path to null")
        if self.encoder.enabled or self.head is not None:
            check_encoder(self.encoder.package)

    @property
    def vector_language(self) -> str:
        """The vectors are read as words of the lexicon's first language."""
        return (self.languages or ("en",))[0]


class LexiconTopics(StageDoFn):
    """Top-level topics from a trained head over the sentence encoder (every language it
    reads) with a transparent labeller beside it where vocabulary exists: weighted keyword
    evidence per IPTC Media Topic (configs/topics.yaml) and the text's nearness to each
    topic's keywords among general-language word vectors, which also tell subtopics apart.

    Takes articles in batches: the encoder reads a batch's headlines and leads at once."""

    stage = STAGE

    def __init__(self, settings: TopicSettings) -> None:
        self.settings = settings
        self.lexicon = TopicLexicon.from_config(settings.lexicon, settings.scoring.name_weight)
        self.centroids: TopicCentroids | None = None
        self.prototypes: TopicPrototypes | None = None

    def setup(self) -> None:
        """Loads the word vectors (written for the lexicon's first language) and, without a
        trained head, the encoder's topic prototypes, once per worker."""
        settings, vectors = self.settings, self.settings.vectors
        if vectors.enabled:
            words = WordVectors.from_package(vectors.package, vectors.vocabulary,
                                             settings.vector_language, vectors.smoothing)
            self.centroids = TopicCentroids.from_lexicon(settings.lexicon, words, vectors)
        if settings.encoder.enabled and settings.head is None:
            self.prototypes = TopicPrototypes.from_lexicon(settings.lexicon, settings.encoder)

    def records_in(self, batch: list[Article]) -> int:
        return len(batch)

    def handle(self, batch: list[Article]) -> Iterator[TopicScore]:
        """Each article's TopicScores, best top-level topic first, each followed by its
        subtopics; none for a language neither the head nor the lexicon reads (counted)."""
        predicted = self._predicted(batch)
        for article in batch:
            yield from self._scores(article, predicted.get(article.article_id))

    def _predicted(self, batch: list[Article]) -> dict[str, dict[str, float]]:
        """{article_id: {topic: the head's probability}} for the batch's articles in the
        languages it labels, their headlines and leads encoded together."""
        head, encoder = self.settings.head, self.settings.encoder
        if head is None:
            return {}
        chosen = [a for a in batch if a.text.strip() and self.settings.model.labels(
            primary_language(a.language))]
        if not chosen:
            return {}
        texts = [" ".join(f"{a.title or ''}\n{a.text}".split()[:encoder.lead_words])
                 for a in chosen]
        probabilities = head.probabilities(encode(encoder.package, texts, encoder.threads))
        return {a.article_id: dict(zip(head.codes, row.tolist(), strict=True))
                for a, row in zip(chosen, probabilities, strict=True)}

    def _scores(self, article: Article, predicted: dict[str, float] | None
                ) -> Iterator[TopicScore]:
        language = primary_language(article.language)
        found = None
        if language in self.settings.languages:
            found = lexicon_evidence(article.title, article.text, self.lexicon,
                                     self.settings.scoring, self.centroids, self.prototypes)
        if predicted is None and found is None:
            if language not in self.settings.languages:
                self._counter(metrics.no_topics_for(language)).inc()
            return
        scores = predicted if found is None else found.scores if predicted is None else (
            weighted_mean(predicted, found.scores, self.settings.model.lexicon_weight))
        for topic, score in chosen_topics(scores, self.lexicon, self.settings.scoring, found):
            yield TopicScore(article.article_id, topic.topic_id, topic.label, score,
                             topic.parent_id)


TOPIC_BACKENDS: dict[str, Any] = {"lexicon_topics": LexiconTopics}


class ExtractTopics(beam.PTransform):
    """Articles -> (TopicScores, ErrorRecords)."""

    def __init__(self, settings: TopicSettings) -> None:
        super().__init__()
        self.labeller = choose(TOPIC_BACKENDS, settings.backend, "topics.backend")(settings)

    def expand(self, articles: beam.PCollection) -> tuple[beam.PCollection, beam.PCollection]:
        batches = articles | "BatchForTopics" >> beam.BatchElements(
            min_batch_size=1, max_batch_size=BATCH_SIZE)
        return apply_stage(batches, "ScoreTopics", self.labeller)
