"""Parquet files in and out, with the datasets' explicit schemas: the writer DoFn the write stage
and resolve's scratch files use, and reading a file back a batch at a time."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any, BinaryIO

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindows
from apache_beam.utils.windowed_value import WindowedValue

from transforms.core.schemas import DATASETS

# Bytes of rows a Parquet writer holds before it writes a row group: bounds each writer's memory.
ROW_GROUP_BYTES = 8 * 1024 * 1024
# Rows turned into one Arrow record batch at a time (the unit the byte count is taken on).
ROWS_PER_BATCH = 1000


def schema_row(record: Any, dataset: str) -> dict[str, Any]:
    """A record's fields that the dataset's schema has (internal fields stay behind)."""
    return {name: getattr(record, name) for name in DATASETS[dataset].names}


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """A table read from a file of a dataset as the dataset's schema (or some of its columns)
    is now: columns added since the file was written come as nulls."""
    columns = {field.name: table.column(field.name) if field.name in table.column_names
               else pa.nulls(table.num_rows, field.type) for field in schema}
    return pa.table(columns).cast(schema)


def new_parquet_writer(handle: BinaryIO, dataset: str) -> pq.ParquetWriter:
    return pq.ParquetWriter(handle, DATASETS[dataset], compression="snappy")


def read_dataset_files(paths: list[str], dataset: str, columns: list[str] | None = None
                       ) -> pa.Table:
    """The rows of some files of a dataset, as its schema is now (empty: no rows); only
    `columns` when given (only they are read from disk)."""
    schema = DATASETS[dataset]
    if columns is not None:
        schema = pa.schema([schema.field(name) for name in columns])
    tables = []
    for path in paths:
        with FileSystems.open(path) as handle:
            parquet = pq.ParquetFile(handle)
            present = [name for name in schema.names if name in parquet.schema_arrow.names]
            tables.append(conform(parquet.read(columns=present), schema))
    return pa.concat_tables(tables) if tables else schema.empty_table()


def write_dataset_file(path: str, dataset: str, table: pa.Table) -> None:
    """`table` as one file of the dataset (an empty table still makes a readable file), in
    row groups of about ROW_GROUP_BYTES."""
    rows_per_group = max(1, int(ROW_GROUP_BYTES * table.num_rows / max(table.nbytes, 1)))
    with FileSystems.create(path) as handle:
        writer = new_parquet_writer(handle, dataset)
        if table.num_rows:
            writer.write_table(table.cast(DATASETS[dataset]), row_group_size=rows_per_group)
        writer.close()


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
            self._batches.append(pa.RecordBatch.from_pylist(self._rows,
                                                            schema=DATASETS[self.dataset]))
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


def write_parquet(path_prefix: str, dataset: str) -> beam.ParDo:
    """rows -> names of the Parquet files written (see ParquetFileWriter)."""
    return beam.ParDo(ParquetFileWriter(path_prefix, dataset))


def read_parquet_rows(path: str) -> Iterator[dict[str, Any]]:
    """The rows of one Parquet file, a record batch at a time."""
    with FileSystems.open(path) as handle:
        for batch in pq.ParquetFile(handle).iter_batches():
            yield from batch.to_pylist()
