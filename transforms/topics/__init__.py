"""Topics: IPTC Media Topics per article (top level, and one level down where confident), each
with a score in [0, 1].

Its phases: lexicon (the keyword index), features (evidence from keywords, shares, softmax),
model (word-vector centroids, encoder prototypes, the scores), beside the settings of each."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import apache_beam as beam
import numpy as np
from apache_beam.utils.windowed_value import WindowedValue

from transforms.core import metrics
from transforms.core.failures import StageDoFn, apply_stage
from transforms.core.language import primary_language
from transforms.core.records import Article, TopicScore
from transforms.core.settings import ConfigError, choose
from transforms.resources.text_encoder import check_encoder, encode
from transforms.resources.topic_model import TopicHead
from transforms.resources.word_vectors import WordVectors, vector_files
from transforms.topics.features import best_two, lead_text, weighted_mean
from transforms.topics.lexicon import TopicLexicon
from transforms.topics.model import (
    TextEvidence,
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

__all__ = ["TOPIC_BACKENDS", "EncodeLeads", "EncoderSettings", "ExtractTopics", "LexiconTopics",
           "ModelSettings", "ScoringSettings", "TopicSettings", "VectorSettings"]


STAGE = "topics"
BATCH_SIZE = 32  # articles whose headlines and leads the encoder reads at once
ENCODE_AHEAD = 16  # articles waiting for the encoder thread: more than one NER batch (8)


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

    def lead_vectors(self, articles: list[Article]) -> np.ndarray:
        """(articles, dimensions): each article's lead_vector, encoding those without one."""
        vectors = [None if a.lead_vector is None else np.frombuffer(a.lead_vector, np.float32)
                   for a in articles]
        missing = [i for i, vector in enumerate(vectors) if vector is None]
        if missing:
            encoder = self.encoder
            texts = [lead_text(articles[i].title, articles[i].text, encoder.lead_words)
                     for i in missing]
            for i, row in zip(missing, encode(encoder.package, texts, encoder.threads),
                              strict=True):
                vectors[i] = row
        return np.stack(vectors)


class LeadEncoder(beam.DoFn):
    """Encodes each article's headline and lead for the topic head in a thread of its own,
    while the worker goes on with the steps fused after this one (entities): the encoder's C
    engine runs without holding the GIL, so on two cores the encoding costs little wall time
    beside NER. Up to ENCODE_AHEAD articles wait for their encodings; each is passed on, in its
    own window, with its lead_vector set. An article the head does not read passes at once."""

    def __init__(self, settings: TopicSettings, ahead: int = ENCODE_AHEAD) -> None:
        self.settings = settings
        self.ahead = ahead
        self.labeller = LexiconTopics(settings)  # which articles the head will read
        self.pool: ThreadPoolExecutor | None = None  # started on first use
        self.waiting: deque[tuple[Article, Future[np.ndarray], Any, Any]] = deque()

    def setup(self) -> None:
        if self.settings.head is not None:
            self.labeller.setup()

    def start_bundle(self) -> None:
        self.waiting.clear()  # a failed bundle's articles are retried with the bundle

    def process(self, article: Article, timestamp=beam.DoFn.TimestampParam,  # noqa: ANN001
                window=beam.DoFn.WindowParam) -> Iterator[Any]:  # noqa: ANN001
        if self.settings.head is None or not self.labeller.head_reads(
                article, self.labeller.evidence(article)):
            yield article
            return
        if self.pool is None:
            self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsbeam-encoder")
        self.waiting.append((article, self.pool.submit(self.settings.lead_vectors, [article]),
                             timestamp, window))
        while len(self.waiting) > self.ahead:
            yield self._encoded()

    def finish_bundle(self) -> Iterator[Any]:
        while self.waiting:
            yield self._encoded()

    def _encoded(self) -> WindowedValue:
        article, future, timestamp, window = self.waiting.popleft()
        vector = future.result()[0]  # an encoder failure is a bug: it fails the bundle
        return WindowedValue(replace(article, lead_vector=vector.tobytes()), timestamp, [window])

    def teardown(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


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
        found = [self.evidence(article) for article in batch]
        predicted = self._predicted([a for a, f in zip(batch, found, strict=True)
                                     if self.head_reads(a, f)])
        for article, evidence in zip(batch, found, strict=True):
            yield from self._scores(article, evidence, predicted.get(article.article_id))

    def evidence(self, article: Article) -> TextEvidence | None:
        """The lexicon's (and vectors') evidence, in the lexicon's languages; else None."""
        if primary_language(article.language) not in self.settings.languages:
            return None
        return lexicon_evidence(article.title, article.text, self.lexicon,
                                self.settings.scoring, self.centroids, self.prototypes)

    def head_reads(self, article: Article, found: TextEvidence | None) -> bool:
        """Whether the trained head labels this article: its language is one the head labels,
        it has text, and the lexicon, where it reads the language, leaves the best two topics
        closer than model.consult_below (where it is clear, the head would not change the top
        topic, and encoding costs more than extraction and NER together)."""
        settings = self.settings
        if settings.head is None or not article.text.strip() or not settings.model.labels(
                primary_language(article.language)):
            return False
        if found is None:
            return True
        first, second = best_two(found.scores)
        return first - second < settings.model.consult_below

    def _predicted(self, chosen: list[Article]) -> dict[str, dict[str, float]]:
        """{article_id: {topic: the head's probability}} for these articles (their lead
        vectors, or their headlines and leads encoded together)."""
        if not chosen:
            return {}
        head = self.settings.head
        probabilities = head.probabilities(self.settings.lead_vectors(chosen))
        return {a.article_id: dict(zip(head.codes, row.tolist(), strict=True))
                for a, row in zip(chosen, probabilities, strict=True)}

    def _scores(self, article: Article, found: TextEvidence | None,
                predicted: dict[str, float] | None) -> Iterator[TopicScore]:
        if predicted is None and found is None:
            language = primary_language(article.language)
            if language not in self.settings.languages:
                self._counter(metrics.no_topics_for(language)).inc()
            return
        scores = predicted if found is None else found.scores if predicted is None else (
            weighted_mean(predicted, found.scores, self.settings.model.lexicon_share(
                len(f"{article.title or ''} {article.text}".split()))))
        for topic, score in chosen_topics(scores, self.lexicon, self.settings.scoring, found):
            yield TopicScore(article.article_id, topic.topic_id, topic.label, score,
                             topic.parent_id)


TOPIC_BACKENDS: dict[str, Any] = {"lexicon_topics": LexiconTopics}


class EncodeLeads(beam.PTransform):
    """Articles -> the same articles, each one the topic head reads with its lead_vector.
    Applied where NER runs (before dedupe), so the encoding overlaps it."""

    def __init__(self, settings: TopicSettings) -> None:
        super().__init__()
        self.settings = settings

    def expand(self, articles: beam.PCollection) -> beam.PCollection:
        return articles | "EncodeBesideEntities" >> beam.ParDo(LeadEncoder(self.settings))


class ExtractTopics(beam.PTransform):
    """Articles -> (TopicScores, ErrorRecords)."""

    def __init__(self, settings: TopicSettings) -> None:
        super().__init__()
        self.labeller = choose(TOPIC_BACKENDS, settings.backend, "topics.backend")(settings)

    def expand(self, articles: beam.PCollection) -> tuple[beam.PCollection, beam.PCollection]:
        batches = articles | "BatchForTopics" >> beam.BatchElements(
            min_batch_size=1, max_batch_size=BATCH_SIZE)
        return apply_stage(batches, "ScoreTopics", self.labeller)
