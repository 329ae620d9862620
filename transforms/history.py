"""What earlier runs wrote, as the stages that skip or build on it read it back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from transforms import metrics
from transforms.layout import OutputLayout


def written_rows(pipeline: beam.Pipeline, layout: OutputLayout, dataset: str,
                 columns: list[str]) -> beam.PCollection:
    """Rows an earlier run wrote to OUTPUT/<dataset> (none on a first run)."""
    pattern = layout.dataset_files(dataset)
    label = "".join(part.capitalize() for part in dataset.split("_"))
    if not FileSystems.match([pattern])[0].metadata_list:
        return pipeline | f"NoWritten{label}" >> beam.Create([])
    return pipeline | f"ReadWritten{label}" >> beam.io.ReadFromParquet(pattern, columns=columns)


def written_already(group: dict[str, Any]) -> bool:
    """Whether an article_id group (CoGroupByKey'd with the written ids under "existing") is
    in the output already: re-running a schedule never duplicates a row."""
    return any(True for _ in group["existing"])


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
