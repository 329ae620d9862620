"""Topics: IPTC Media Topics per article (top level, and one level down where confident), each
with a score in [0, 1].

Its phases: lexicon (the keyword index), features (evidence from keywords, shares, softmax),
model (word-vector centroids, encoder prototypes, the scores), beside the settings of each."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import apache_beam as beam

from transforms.core import metrics
from transforms.core.failures import StageDoFn, apply_stage
from transforms.core.language import primary_language
from transforms.core.records import Article, TopicScore
from transforms.core.settings import choose
from transforms.resources.text_encoder import check_encoder
from transforms.resources.word_vectors import WordVectors, vector_files
from transforms.topics.lexicon import TopicLexicon
from transforms.topics.model import TopicCentroids, TopicPrototypes, score_topics
from transforms.topics.settings import EncoderSettings, ScoringSettings, VectorSettings

__all__ = ["TOPIC_BACKENDS", "EncoderSettings", "ExtractTopics", "LexiconTopics",
           "ScoringSettings", "TopicSettings", "VectorSettings"]


STAGE = "topics"


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
