"""Write: each branch's records as rows of their Parquet dataset, with its explicit schema."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from pipeline import schema
from pipeline.records import Article, ErrorRecord
from transforms.clean import word_count


def article_row(article: Article, ingested_at: datetime) -> dict[str, Any]:
    beam.metrics.Metrics.counter("newsbeam", "articles_written").inc()
    return {
        "article_id": article.article_id,
        "source": article.source,
        "url": article.url,
        "title": article.title,
        "text": article.text,
        "published_at": article.published_at,
        "language": article.language,
        "word_count": word_count(article.text),
        "removed": [{"text": r.text, "reason": r.reason} for r in article.removed],
        "keyphrases": list(article.keyphrases),
        "ingested_at": ingested_at,
    }


def error_row(error: ErrorRecord, ingested_at: datetime) -> dict[str, Any]:
    return {**asdict(error), "ingested_at": ingested_at}


def schema_row(record: Any, dataset: str) -> dict[str, Any]:
    """A record's fields that the dataset's schema has (internal fields stay behind)."""
    return {name: getattr(record, name) for name in schema.DATASETS[dataset].names}


def staging_folder(output: str, ingested_at: datetime) -> str:
    """Where a run writes before it commits; readers skip folders starting with "_"."""
    return f"{output.rstrip('/')}/_staging/run-{ingested_at:%Y%m%dT%H%M%S%fZ}"


def scratch_prefix(output: str, ingested_at: datetime, name: str) -> str:
    """Files a run writes for itself to read back later (never committed, deleted with the
    staging folder)."""
    return f"{staging_folder(output, ingested_at)}/_scratch/{name}/part"


# Rows a Parquet writer holds before it writes a row group: bounds each writer's memory
# (Beam's default, 64 MB, would keep a whole dataset of a mid-size run in memory).
ROW_GROUP_BYTES = 8 * 1024 * 1024


def write_parquet(path_prefix: str, dataset: str) -> beam.io.WriteToParquet:
    """A Parquet writer with the dataset's schema, snappy-compressed row groups of at most
    ROW_GROUP_BYTES; its output is the names of the files written."""
    return beam.io.WriteToParquet(path_prefix, schema.DATASETS[dataset],
                                  row_group_buffer_size=ROW_GROUP_BYTES, codec="snappy",
                                  file_name_suffix=".parquet")


def commit_run(output: str, ingested_at: datetime) -> int:
    """Move a finished run's files from its staging folder into the datasets; returns how many.
    Every file is complete before it moves, so readers never see a partial one."""
    staging = staging_folder(output, ingested_at)
    relative = [m.path[len(staging) + 1:]
                for m in FileSystems.match([f"{staging}/**"])[0].metadata_list]
    relative = [path for path in relative  # datasets only: no temp or scratch file
                if path.endswith(".parquet") and "beam-temp-" not in path
                and not path.startswith("_")]
    files = [f"{staging}/{path}" for path in relative]
    targets = [f"{output.rstrip('/')}/{path}" for path in relative]
    for target in targets:
        folder = target.rsplit("/", 1)[0]
        if not FileSystems.exists(folder):
            FileSystems.mkdirs(folder)
    FileSystems.rename(files, targets)
    FileSystems.delete([staging])
    return len(files)


class WriteDatasets(beam.PTransform):
    """{'articles', 'entities', 'topics', 'entity_aliases', 'errors', and 'feed_state' for runs
    that fetch feeds} -> Parquet datasets under OUTPUT/<dataset>/, one per input, linked by
    article_id.

    Each branch writes its own rows as they come: no join holds every article's text and
    mentions in memory to line them up (the warehouse joins on article_id).

    Each run writes new files named after its start time, under ingest_date=YYYY-MM-DD/ when
    partitioning is on, first into OUTPUT/_staging/run-<time>/ (a folder readers skip); the
    launcher moves them into the datasets with `commit_run` once the whole run has succeeded,
    so an interrupted run leaves nothing half-written where readers look."""

    def __init__(self, output: str, ingested_at: datetime, partition_by_date: bool) -> None:
        super().__init__()
        self.output = output.rstrip("/")
        self.ingested_at = ingested_at
        self.partition_by_date = partition_by_date

    def path_prefix(self, dataset: str) -> str:
        folder = f"{staging_folder(self.output, self.ingested_at)}/{dataset}"
        if self.partition_by_date:
            folder += f"/ingest_date={self.ingested_at:%Y-%m-%d}"
        return f"{folder}/part-{self.ingested_at:%Y%m%dT%H%M%S%fZ}"

    def expand(self, inputs: dict[str, beam.PCollection]) -> dict[str, beam.PCollection]:
        rows = {  # datasets given as records become rows; the others are rows already
            **inputs,
            "articles": inputs["articles"] | "ArticleRows" >> beam.Map(article_row,
                                                                       self.ingested_at),
            "topics": inputs["topics"] | "TopicRows" >> beam.Map(schema_row, "topics"),
            "errors": inputs["errors"] | "ErrorRows" >> beam.Map(error_row, self.ingested_at),
        }
        for dataset, dataset_rows in rows.items():
            label = dataset.capitalize()
            _ = dataset_rows | f"Write{label}" >> write_parquet(self.path_prefix(dataset),
                                                                dataset)
        return rows
