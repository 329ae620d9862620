"""Entities: spaCy NER over clean text, mentions with exact character offsets and an entity id."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator
from typing import Any

import apache_beam as beam

from pipeline.config import choose
from pipeline.records import Article, EntityMention
from transforms.failures import BadInput, StageDoFn, apply_stage

STAGE = "entities"
_EDGE_JUNK = "\"'“”‘’«»()[]{},.;:!?-–— \n\t"
_POSSESSIVE = re.compile(r"(?:['’]s|['’])$")
_LEADING_THE = re.compile(r"^the\s+", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s\-‐‑–—_.'’`]+")


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink a span off surrounding quotes, punctuation and a possessive ending."""
    while start < end and text[start] in _EDGE_JUNK:
        start += 1
    while end > start and text[end - 1] in _EDGE_JUNK:
        end -= 1
    possessive = _POSSESSIVE.search(text[start:end])
    if possessive and end - start > len(possessive.group()):
        end -= len(possessive.group())
    return start, end


def canonical_name(surface: str) -> str:
    return " ".join(_LEADING_THE.sub("", surface).split())


def entity_key(name: str) -> str:
    """A spelling-insensitive key: no case, no diacritics, hyphens and apostrophes as spaces."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_SEPARATORS.sub(" ", plain.casefold()).split())


def entity_id_for(name: str, label: str) -> str:
    return hashlib.sha256(f"{label}\0{entity_key(name)}".encode()).hexdigest()[:16]


def mentions_in(article: Article, spans: list[tuple[int, int, str]],
                labels: frozenset[str]) -> Iterator[EntityMention]:
    """EntityMentions from (start, end, label) spans over article.text."""
    for raw_start, raw_end, label in spans:
        if label not in labels:
            continue
        start, end = trim_span(article.text, raw_start, raw_end)
        surface = article.text[start:end]
        name = canonical_name(surface)
        if not entity_key(name):
            continue
        yield EntityMention(article.article_id, entity_id_for(name, label), name, label,
                            surface, start, end)


class SpacyEntities(StageDoFn):
    """spaCy NER: the model loads once per worker in setup(); batches go through nlp.pipe with
    every component NER does not need disabled."""

    stage = STAGE

    def __init__(self, model: str, labels: list[str], batch_size: int) -> None:
        self.model = model
        self.labels = frozenset(labels)
        self.batch_size = batch_size
        self.nlp: Any = None

    def setup(self) -> None:
        import spacy  # heavy import, only on workers

        nlp = spacy.load(self.model)
        needed = {"ner"} | {name for name, pipe in nlp.pipeline
                            if "ner" in getattr(pipe, "listening_components", [])}
        nlp.select_pipes(enable=[name for name in nlp.pipe_names if name in needed])
        self.nlp = nlp

    def _spans(self, doc: Any) -> list[tuple[int, int, str]]:
        return [(ent.start_char, ent.end_char, ent.label_) for ent in doc.ents]

    def handle(self, batch: list[Article]) -> Iterator[Any]:
        fits = []
        for article in batch:
            if len(article.text) > self.nlp.max_length:
                yield self.error(article, BadInput(
                    f"text of {len(article.text)} characters exceeds the NER limit of "
                    f"{self.nlp.max_length}"))
            else:
                fits.append(article)
        try:
            docs = list(self.nlp.pipe([a.text for a in fits], batch_size=self.batch_size))
        except Exception:  # noqa: BLE001 - retried one by one so only the bad record fails
            yield from self._one_by_one(fits)
            return
        for article, doc in zip(fits, docs, strict=True):
            for mention in mentions_in(article, self._spans(doc), self.labels):
                yield article.article_id, mention

    def _one_by_one(self, articles: list[Article]) -> Iterator[Any]:
        for article in articles:
            try:
                spans = self._spans(self.nlp(article.text))
            except Exception as exc:  # noqa: BLE001 - routed to errors/
                yield self.error(article, exc)
                continue
            for mention in mentions_in(article, spans, self.labels):
                yield article.article_id, mention


ENTITY_BACKENDS: dict[str, type[StageDoFn]] = {"spacy_ner": SpacyEntities}


class ExtractEntities(beam.PTransform):
    """Articles -> ((article_id, EntityMention) pairs, ErrorRecords)."""

    def __init__(self, backend: str, model: str, labels: list[str], batch_size: int) -> None:
        super().__init__()
        tagger_class = choose(ENTITY_BACKENDS, backend, "entities.backend")
        self.tagger = tagger_class(model, labels, batch_size)
        self.batch_size = batch_size

    def expand(self, articles: beam.PCollection) -> tuple[beam.PCollection, beam.PCollection]:
        batches = articles | "BatchForNer" >> beam.BatchElements(
            min_batch_size=1, max_batch_size=self.batch_size)
        return apply_stage(batches, "RecognizeEntities", self.tagger)
