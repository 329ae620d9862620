"""Dedupe: one article per article_id, and none that the output already holds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam

from transforms import metrics
from transforms.failures import BadInput, StageDoFn, apply_stage
from transforms.history import written_already

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
    """{'articles': Articles, 'existing': article ids already written} -> (Articles, errors)."""

    def expand(self, inputs: dict[str, beam.PCollection]) -> tuple[Any, Any]:
        keyed = {
            "articles": inputs["articles"] | "KeyById" >> beam.Map(lambda a: (a.article_id, a)),
            "existing": inputs["existing"] | "KeyExisting" >> beam.Map(lambda i: (i, None)),
        }
        grouped = keyed | "GroupById" >> beam.CoGroupByKey()
        return apply_stage(grouped, "KeepFirstArticle", KeepFirstArticle())
