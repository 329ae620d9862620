"""Dedupe: one article per article_id, and none that the output already holds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam

from transforms import metrics
from transforms.failures import BadInput, StageDoFn, apply_stage
from transforms.history import WrittenIds, written_already
from transforms.layout import OutputLayout

STAGE = "dedupe"


class KeepFirstArticle(StageDoFn):
    """Of the articles sharing an id, keep the one from the first source (by name, so runs
    agree); the others become errors rows naming the one kept. Ids already in the output
    are skipped and counted: re-running a schedule never duplicates a row."""

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


class DropDuplicates(beam.PTransform):
    """Articles -> (Articles, errors): one per article_id, none the output holds already (looked
    up in the output's id index for this run's ids only)."""

    def __init__(self, layout: OutputLayout) -> None:
        super().__init__()
        self.layout = layout

    def expand(self, articles: beam.PCollection) -> tuple[Any, Any]:
        keyed_articles = articles | "KeyById" >> beam.Map(lambda a: (a.article_id, a))
        keyed = {
            "articles": keyed_articles,
            "existing": (keyed_articles
                         | "CandidateIds" >> beam.Keys()
                         | "WrittenIds" >> WrittenIds(self.layout)),
        }
        grouped = keyed | "GroupById" >> beam.CoGroupByKey()
        return apply_stage(grouped, "KeepFirstArticle", KeepFirstArticle())
