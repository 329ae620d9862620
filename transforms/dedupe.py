"""Dedupe: one article per article_id, and none that the output already holds; the entities
recognised in the articles it keeps (they are recognised beside extraction, before dedupe)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam import pvalue

from transforms.core import metrics
from transforms.core.failures import ERRORS, MAIN, BadInput, StageDoFn
from transforms.core.records import ArticleEntities, text_digest
from transforms.storage.history import GroupWithWrittenIds, written_already
from transforms.storage.layout import OutputPaths

STAGE = "dedupe"
MENTIONS = "mentions"


class KeepFirstArticle(StageDoFn):
    """Of the articles sharing an id, keep the one from the first source (by name, so runs
    agree); the others become errors rows naming the one kept. Ids already in the output
    are skipped and counted: re-running a schedule never duplicates a row. The kept
    article's mentions go to the MENTIONS output (an article in a language without an NER
    model is counted)."""

    stage = STAGE

    def __init__(self) -> None:
        self.skipped = metrics.counter(metrics.SKIPPED_EXISTING)

    def records_in(self, grouped: tuple[str, dict[str, Any]]) -> int:
        return len(list(grouped[1]["articles"]))

    def handle(self, grouped: tuple[str, dict[str, Any]]) -> Iterator[Any]:
        _, group = grouped
        articles = sorted(group["articles"], key=lambda a: (a.source, a.text))
        if not articles:
            return
        if written_already(group):
            self.skipped.inc(len(articles))
            return
        kept, *duplicates = articles
        for duplicate in duplicates:
            yield self.error(duplicate, BadInput(
                f"same article_id {kept.article_id} as {kept.source}; kept that one"))
        yield kept
        digest = text_digest(kept.text)
        recognised: ArticleEntities | None = next(
            (found for found in group["entities"] if found.text_digest == digest), None)
        if recognised and recognised.no_model_for:
            self._counter(metrics.no_entities_for(recognised.no_model_for)).inc()
        for mention in recognised.mentions if recognised else ():
            yield pvalue.TaggedOutput(MENTIONS, mention)


class DropDuplicates(beam.PTransform):
    """{'articles': Articles, 'entities': ArticleEntities} -> (Articles, EntityMentions of
    those articles, errors): one article per article_id, none the output holds already
    (looked up in the output's id index for this run's ids only)."""

    def __init__(self, output: OutputPaths) -> None:
        super().__init__()
        self.output = output

    def expand(self, inputs: dict[str, beam.PCollection]) -> tuple[Any, Any, Any]:
        keyed = {
            "articles": inputs["articles"] | "KeyById" >> beam.Map(lambda a: (a.article_id, a)),
            "entities": inputs["entities"] | "KeyEntitiesById" >> beam.Map(
                lambda found: (found.article_id, found)),
        }
        kept = (keyed
                | "WithWrittenIds" >> GroupWithWrittenIds(self.output)
                | "KeepFirstArticle" >> beam.ParDo(KeepFirstArticle()).with_outputs(
                    ERRORS, MENTIONS, main=MAIN))
        return kept[MAIN], kept[MENTIONS], kept[ERRORS]
