"""Dedupe: one article per article_id, and none that the output already holds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam

from transforms.failures import BadInput, StageDoFn, apply_stage

STAGE = "dedupe"


def not_yet_written(items: list[Any], group: dict[str, Any]) -> list[Any]:
    """The items of one article_id group, or none (counted) when the output already holds
    that id: re-running a schedule never duplicates a row."""
    if list(group["existing"]):
        beam.metrics.Metrics.counter("newsbeam", "skipped_existing").inc(len(items))
        return []
    return items


class KeepFirstArticle(StageDoFn):
    """Of the articles sharing an id, keep the one from the first source (by name, so runs
    agree); the others become errors rows naming the one kept. Ids already in the output
    are skipped and counted: re-running a schedule never duplicates a row."""

    stage = STAGE

    def handle(self, grouped: tuple[str, dict[str, Any]]) -> Iterator[Any]:
        _, group = grouped
        articles = not_yet_written(sorted(group["articles"], key=lambda a: (a.source, a.text)),
                                   group)
        if not articles:
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
