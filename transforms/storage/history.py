"""What earlier runs wrote, as the stages that skip or build on it ask for it: through the
indexes (transforms/storage/index.py), at a cost that follows the run's own records."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam
import pyarrow as pa

from transforms.core import metrics
from transforms.core.records import article_id_for
from transforms.storage.index import IndexKind, LookupIndex, distinct_rows
from transforms.storage.layout import OutputPaths

# Every article_id written: what a run skips (its rows are taken from the articles written).
ARTICLE_IDS = IndexKind("article_ids", pa.schema([pa.field("key", pa.string(), nullable=False)]),
                        distinct_rows, True, "articles", {"key": "article_id"})


class WrittenIds(beam.PTransform):
    """article ids -> (id, None) for those the output holds already, ready to CoGroupByKey
    with the records keyed by id."""

    def __init__(self, output: OutputPaths) -> None:
        super().__init__()
        self.output = output

    def expand(self, ids: beam.PCollection) -> beam.PCollection:
        return (ids
                | "LookUpIds" >> LookupIndex(self.output, ARTICLE_IDS)
                | "FoundIds" >> beam.Map(lambda row: (row["key"], None)))


def written_already(group: dict[str, Any]) -> bool:
    """Whether an article_id group (CoGroupByKey'd with the written ids under "existing") is
    in the output already: re-running a schedule never duplicates a row."""
    return any(True for _ in group["existing"])


class GroupWithWrittenIds(beam.PTransform):
    """{name: (article_id, record) PCollections} -> (article_id, {name: records, "existing":
    the id if the output holds it already}); the ids are looked up from the first input's."""

    def __init__(self, output: OutputPaths) -> None:
        super().__init__()
        self.output = output

    def expand(self, keyed: dict[str, beam.PCollection]) -> beam.PCollection:
        first = next(iter(keyed.values()))
        existing = first | "Ids" >> beam.Keys() | "WrittenIds" >> WrittenIds(self.output)
        return {**keyed, "existing": existing} | "GroupById" >> beam.CoGroupByKey()


class NotWritten(beam.PTransform):
    """RawDocuments -> those whose article the output does not hold yet (by the id the
    document will have; counted as skipped otherwise), so a feed read every few minutes
    parses, recognises and fetches only its new entries."""

    def __init__(self, output: OutputPaths) -> None:
        super().__init__()
        self.output = output

    def expand(self, documents: beam.PCollection) -> beam.PCollection:
        keyed = documents | "KeyById" >> beam.Map(lambda d: (article_id_for(d, d.url), d))
        return ({"documents": keyed}
                | "WithWrittenIds" >> GroupWithWrittenIds(self.output)
                | "SkipWritten" >> beam.ParDo(SkipWritten("documents")))


class SkipWritten(beam.DoFn):
    """(article_id, {items_key: items, "existing": written ids}) -> the items, unless the output
    holds that id already (counted as skipped)."""

    def __init__(self, items_key: str) -> None:
        self.items_key = items_key
        self.skipped = metrics.counter(metrics.SKIPPED_EXISTING)

    def process(self, grouped: tuple[str, dict[str, Any]]) -> Iterator[Any]:
        _, group = grouped
        items = list(group[self.items_key])
        if written_already(group):
            self.skipped.inc(len(items))
            return
        yield from items
