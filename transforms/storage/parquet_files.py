"""Parquet files in and out, with the datasets' explicit schemas: the writer DoFn the write stage
and resolve's scratch files use, and reading a file back a batch at a time."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindow, GlobalWindows
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
    is now: columns added since the file was written come as nulls (lists that are never
    null as empty lists)."""
    columns = {field.name: table.column(field.name) if field.name in table.column_names
               else _missing(field, table.num_rows) for field in schema}
    return pa.table(columns).cast(schema)


def _missing(field: pa.Field, rows: int) -> pa.Array:
    if not field.nullable and pa.types.is_list(field.type):
        return pa.array([[]] * rows, field.type)
    return pa.nulls(rows, field.type)


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


@dataclass
class _OpenFile:
    """One window's rows in a bundle: rows not yet batched, batches not yet written, and the
    file once a row group is written."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    batches: list[pa.RecordBatch] = field(default_factory=list)
    file: tuple[str, BinaryIO, pq.ParquetWriter] | None = None


def _windowed(path: str, window: Any) -> WindowedValue:
    if isinstance(window, GlobalWindow):
        return GlobalWindows.windowed_value(path)
    return WindowedValue(path, window.max_timestamp(), [window])


class ParquetFileWriter(beam.DoFn):
    """Writes each bundle's rows of each window to a Parquet file of its own,
    `<prefix>-<random>.parquet` (snappy, row groups of at most ROW_GROUP_BYTES), and outputs
    the file's name, in that window, once the file is complete. `prefix`: a path prefix, or a
    function of the window giving it (each window of a stream's unbounded graph is a run of
    its own, with its own staging folder).

    A bundle that fails and is retried leaves its partial file behind under another name; only
    names this step outputs (bundles that succeeded) are read back or committed. One plain
    ParDo, where Beam's WriteToParquet adds a dozen steps and four runner stages per dataset
    (and, on unbounded input, puts rows under the wrong window)."""

    def __init__(self, prefix: str | Callable[[Any], str], dataset: str) -> None:
        self.prefix = prefix
        self.dataset = dataset

    def start_bundle(self) -> None:
        self._open: dict[Any, _OpenFile] = {}

    def process(self, row: dict[str, Any], window=beam.DoFn.WindowParam) -> None:  # noqa: ANN001
        found = self._open.setdefault(window, _OpenFile())
        found.rows.append(row)
        if len(found.rows) >= ROWS_PER_BATCH:
            self._batch_rows(found)
            if sum(batch.nbytes for batch in found.batches) >= ROW_GROUP_BYTES:
                self._write_row_group(found, window)

    def finish_bundle(self) -> Iterator[WindowedValue]:
        for window, found in self._open.items():
            self._batch_rows(found)
            self._write_row_group(found, window)
            if found.file is not None:
                path, handle, writer = found.file
                writer.close()
                handle.close()
                yield _windowed(path, window)
        self._open = {}

    def _batch_rows(self, found: _OpenFile) -> None:
        if found.rows:
            found.batches.append(pa.RecordBatch.from_pylist(found.rows,
                                                            schema=DATASETS[self.dataset]))
            found.rows = []

    def _write_row_group(self, found: _OpenFile, window: Any) -> None:
        if not found.batches:
            return
        if found.file is None:
            prefix = self.prefix if isinstance(self.prefix, str) else self.prefix(window)
            path = f"{prefix}-{uuid.uuid4().hex[:16]}.parquet"
            handle = FileSystems.create(path)
            found.file = path, handle, new_parquet_writer(handle, self.dataset)
        found.file[2].write_table(pa.Table.from_batches(found.batches))
        found.batches = []


def write_parquet(prefix: str | Callable[[Any], str], dataset: str) -> beam.ParDo:
    """rows -> names of the Parquet files written (see ParquetFileWriter)."""
    return beam.ParDo(ParquetFileWriter(prefix, dataset))


def read_parquet_rows(path: str) -> Iterator[dict[str, Any]]:
    """The rows of one Parquet file, a record batch at a time."""
    with FileSystems.open(path) as handle:
        for batch in pq.ParquetFile(handle).iter_batches():
            yield from batch.to_pylist()
