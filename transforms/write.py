"""Write: each branch's records as rows of their Parquet dataset, with its explicit schema."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime
from typing import Any, BinaryIO

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindows
from apache_beam.utils.windowed_value import WindowedValue

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


# Bytes of rows a Parquet writer holds before it writes a row group: bounds each writer's memory.
ROW_GROUP_BYTES = 8 * 1024 * 1024
# Rows turned into one Arrow record batch at a time (the unit the byte count is taken on).
ROWS_PER_BATCH = 1000


class ParquetFileWriter(beam.DoFn):
    """Writes each bundle's rows to a Parquet file of its own, `<prefix>-<random>.parquet`
    (snappy, row groups of at most ROW_GROUP_BYTES), and outputs the file's name once the file
    is complete.

    A bundle that fails and is retried leaves its partial file behind under another name; only
    names this step outputs (bundles that succeeded) are read back or committed. One plain
    ParDo, where Beam's WriteToParquet adds a dozen steps and four runner stages per dataset."""

    def __init__(self, path_prefix: str, dataset: str) -> None:
        self.path_prefix = path_prefix
        self.dataset = dataset

    def start_bundle(self) -> None:
        self._rows: list[dict[str, Any]] = []
        self._batches: list[pa.RecordBatch] = []
        self._file: tuple[str, BinaryIO, pq.ParquetWriter] | None = None

    def process(self, row: dict[str, Any]) -> None:
        self._rows.append(row)
        if len(self._rows) >= ROWS_PER_BATCH:
            self._batch_rows()
            if sum(batch.nbytes for batch in self._batches) >= ROW_GROUP_BYTES:
                self._write_row_group()

    def finish_bundle(self) -> Iterator[WindowedValue]:
        self._batch_rows()
        self._write_row_group()
        if self._file is not None:
            path, handle, writer = self._file
            writer.close()
            handle.close()
            self._file = None
            yield GlobalWindows.windowed_value(path)

    def _batch_rows(self) -> None:
        if self._rows:
            table_schema = schema.DATASETS[self.dataset]
            self._batches.append(pa.RecordBatch.from_pylist(self._rows, schema=table_schema))
            self._rows = []

    def _write_row_group(self) -> None:
        if not self._batches:
            return
        if self._file is None:
            path = f"{self.path_prefix}-{uuid.uuid4().hex[:16]}.parquet"
            handle = FileSystems.create(path)
            self._file = path, handle, new_parquet_writer(handle, self.dataset)
        self._file[2].write_table(pa.Table.from_batches(self._batches))
        self._batches = []


def new_parquet_writer(handle: BinaryIO, dataset: str) -> pq.ParquetWriter:
    return pq.ParquetWriter(handle, schema.DATASETS[dataset], compression="snappy")


def write_parquet(path_prefix: str, dataset: str) -> beam.ParDo:
    """rows -> names of the Parquet files written (see ParquetFileWriter)."""
    return beam.ParDo(ParquetFileWriter(path_prefix, dataset))


def read_parquet_rows(path: str) -> Iterator[dict[str, Any]]:
    """The rows of one Parquet file, a record batch at a time."""
    with FileSystems.open(path) as handle:
        for batch in pq.ParquetFile(handle).iter_batches():
            yield from batch.to_pylist()


MANIFEST = "_manifest.json"


def write_manifest(files: list[str], staging: str, prefixes: dict[str, str]) -> None:
    """Lists the run's finished files, relative to its staging folder, for `commit_run`;
    a dataset (given by its files' prefix) that got no rows gets an empty file with its
    schema, so every dataset a run writes can be read."""
    files = list(files)
    for dataset, prefix in prefixes.items():
        if not any(file.startswith(f"{prefix}-") for file in files):
            path = f"{prefix}-empty.parquet"
            with FileSystems.create(path) as handle:
                new_parquet_writer(handle, dataset).close()
            files.append(path)
    with FileSystems.create(f"{staging}/{MANIFEST}") as handle:
        relative = sorted(file[len(staging) + 1:] for file in files)
        handle.write(json.dumps({"files": relative}, indent=1).encode())


def commit_run(output: str, ingested_at: datetime) -> int:
    """Move a finished run's files (those its manifest lists) from its staging folder into the
    datasets; returns how many. Every file is complete before it moves, so readers never see a
    partial one, and a file a failed attempt left behind is never committed."""
    staging = staging_folder(output, ingested_at)
    with FileSystems.open(f"{staging}/{MANIFEST}") as handle:
        relative = json.loads(handle.read())["files"]
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
    partitioning is on, first into OUTPUT/_staging/run-<time>/ (a folder readers skip). Last,
    the run lists its finished files in that folder's manifest; the launcher moves those into
    the datasets with `commit_run` once the whole run has succeeded, so an interrupted run
    leaves nothing half-written where readers look."""

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
        prefixes = {dataset: self.path_prefix(dataset) for dataset in rows}
        files = [dataset_rows | f"Write{dataset.capitalize()}" >> write_parquet(
                     prefixes[dataset], dataset)
                 for dataset, dataset_rows in rows.items()]
        _ = (files
             | "AllFiles" >> beam.Flatten()
             | "ListFiles" >> beam.combiners.ToList()
             | "WriteManifest" >> beam.Map(
                 write_manifest, staging_folder(self.output, self.ingested_at), prefixes))
        return rows
