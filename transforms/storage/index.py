"""The index engine: indexes of what earlier runs wrote, so that a run reads only what its own
records can match. It knows no stage: each stage declares its own IndexKinds.

Each index lives under OUTPUT/_index/<name>/bucket=<xx>/ (256 buckets by key hash; 16 for
the story indexes). Every file
is sorted by key in small row groups, so a lookup opens only its keys' buckets and, in each
file, reads only the row groups whose key range holds one of its keys. Each run adds one file
per bucket it touches; a bucket holding more than MAX_FILES_PER_BUCKET files is merged into
one. A file is named after the runs it covers (`<first>_<last>-<id>.parquet`); a merged file
covers every run of the files it replaces, so a file whose runs another file covers is
ignored: a merge interrupted before it deleted its inputs changes nothing a reader sees.

Plain files through Beam's filesystems: the same code works on local disk and on gs://."""

from __future__ import annotations

import hashlib
import uuid
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from transforms.storage.layout import STAMP_FORMAT, OutputLayout, OutputPaths
from transforms.storage.parquet_files import read_dataset_files

MAX_FILES_PER_BUCKET = 8
TIER_RATIO = 4
ROW_GROUP_ROWS = 1024
# The first run stamp any file can cover: a file built from datasets covers all runs before.
BEGINNING = "00000000T000000000000Z"


def latest_per_key(table: pa.Table, column: str) -> pa.Table:
    """Each key's newest row (by `column`)."""
    ordered = table.sort_by([("key", "ascending"), (column, "descending")])
    keys = ordered.column("key").to_pylist()
    first = [i for i, key in enumerate(keys) if i == 0 or key != keys[i - 1]]
    return ordered.take(first)


def distinct_rows(table: pa.Table) -> pa.Table:
    return table.group_by(table.column_names).aggregate([])


def first_per_key(table: pa.Table) -> pa.Table:
    """One row a key (rows of a key are all alike; list columns cannot be grouped)."""
    keys = table.column("key").to_pylist()
    seen: set[str] = set()
    first = [i for i, key in enumerate(keys) if not (key in seen or seen.add(key))]
    return table.take(first)


@dataclass(frozen=True)
class IndexKind:
    """One index: its name, its schema (the first column is the key), how rows of one key from
    several files combine, and the dataset its rows come from (index column -> dataset
    column)."""

    name: str
    schema: pa.Schema
    combine: Callable[[pa.Table], pa.Table]
    hashed_keys: bool  # keys are hex digests already: their first characters are the bucket
    dataset: str
    columns: dict[str, str]
    # hex digits of the key hash naming its bucket: 2 (256 buckets), or 1 (16) for indexes
    # whose runs touch many keys of few rows each, so a run writes 16 files, not 256
    bucket_digits: int = 2

    def bucket_of(self, key: str) -> str:
        if self.hashed_keys:
            return key[:self.bucket_digits]
        return hashlib.blake2b(key.encode("utf-8"), digest_size=1).hexdigest()[
            :self.bucket_digits]

    def index_row(self, row: dict[str, Any]) -> dict[str, Any]:
        """A row of the dataset as a row of this index."""
        return {column: row[source] for column, source in self.columns.items()}


def _runs_covered(path: str) -> tuple[str, str]:
    first, last = path.rsplit("/", 1)[1].split("-", 1)[0].split("_")
    return first, last


def live_files(paths: Iterable[str]) -> list[str]:
    """The files a reader reads: those whose runs no other file covers (a merged file covers
    the files it was made from until they are deleted)."""
    ranges = sorted(((*_runs_covered(p), p) for p in paths), key=lambda r: r[1], reverse=True)
    ranges.sort(key=lambda r: r[0])  # by first run, the widest first among equals
    live: list[tuple[str, str, str]] = []
    for first, last, path in ranges:
        if not any(f <= first and last <= la for f, la, _ in live):
            live.append((first, last, path))
    return sorted(path for _, _, path in live)


def bucket_files(folder: str) -> list[str]:
    matched = FileSystems.match([f"{folder}/*.parquet"])[0].metadata_list
    return [m.path for m in matched]


def _read_file(path: str, keys: list[str] | None) -> Iterator[pa.Table]:
    """The rows of one index file, or only those of `keys` (sorted): a row group is read only
    when its key range holds one of them."""
    with FileSystems.open(path) as handle:
        parquet = pq.ParquetFile(handle)
        for group in range(parquet.num_row_groups):
            stats = parquet.metadata.row_group(group).column(0).statistics
            if keys is not None and stats is not None and stats.has_min_max:
                at = bisect_left(keys, stats.min)
                if at == len(keys) or keys[at] > stats.max:
                    continue
            table = parquet.read_row_group(group)
            if keys is not None:
                table = table.filter(pc.is_in(table.column("key"), value_set=pa.array(keys)))
            if table.num_rows:
                yield table


def read_bucket(folder: str, kind: IndexKind, keys: Iterable[str] | None = None) -> pa.Table:
    """The combined rows of one bucket (only those of `keys` when given)."""
    return _read_files(live_files(bucket_files(folder)), kind, keys)


def _read_files(paths: list[str], kind: IndexKind, keys: Iterable[str] | None = None
                ) -> pa.Table:
    wanted = sorted(set(keys)) if keys is not None else None
    tables = [table for path in paths for table in _read_file(path, wanted)]
    if not tables:
        return kind.schema.empty_table()
    return kind.combine(pa.concat_tables(tables).cast(kind.schema))


def write_index_file(folder: str, kind: IndexKind, table: pa.Table, first: str,
                     last: str) -> str:
    """Writes `table` sorted by key as a file covering runs first..last; returns its path."""
    path = f"{folder}/{first}_{last}-{uuid.uuid4().hex[:12]}.parquet"
    ordered = table.cast(kind.schema).sort_by("key")
    with FileSystems.create(path) as handle:
        pq.write_table(ordered, handle, row_group_size=ROW_GROUP_ROWS, compression="snappy")
    return path


def merge_bucket(folder: str, kind: IndexKind, max_files: int = MAX_FILES_PER_BUCKET) -> bool:
    """Merges a bucket's files when it holds more than `max_files`; the new file covers all
    their runs, so readers ignore the old ones even before they are gone. Size-tiered: only
    the newest files are merged, back to the first older file that is more than TIER_RATIO
    times all the newer ones together, so older files grow geometrically, a large history is
    not rewritten every few runs, and each row is rewritten about log(history) times in all.
    The files merged are always the newest ones, so the merged file's runs never enclose a
    file that stays. `max_files=1` merges everything (compaction)."""
    sizes = {m.path: m.size_in_bytes
             for m in FileSystems.match([f"{folder}/*.parquet"])[0].metadata_list}
    live = sorted(live_files(sizes), key=_runs_covered)  # oldest first
    dead = [path for path in sizes if path not in live]
    if len(live) <= max_files and not dead:
        return False
    chosen: list[str] = []
    for path in reversed(live):  # newest first
        if max_files > 1 and chosen and sizes[path] > TIER_RATIO * sum(
                sizes[newer] for newer in chosen):
            break
        chosen.append(path)
    if len(chosen) < 2:
        chosen = live
    if len(live) > max_files and len(chosen) > 1:
        ranges = [_runs_covered(path) for path in chosen]
        write_index_file(folder, kind, _read_files(chosen, kind),
                         min(r[0] for r in ranges), max(r[1] for r in ranges))
        dead += chosen
    if dead:
        FileSystems.delete(dead)
    return True


def merge_touched_buckets(committed: Iterable[str], kinds: dict[str, IndexKind]) -> int:
    """After a commit: merge the buckets the run added files to, where they hold too many
    (`kinds`: every index, by name)."""
    touched = {path.rsplit("/", 1)[0] for path in committed if "/_index/" in path}
    merged = 0
    for folder in sorted(touched):
        name = folder.rsplit("/_index/", 1)[1].split("/", 1)[0]
        merged += merge_bucket(folder, kinds[name])
    return merged


def next_run_time(output: OutputPaths, now: datetime) -> datetime:
    """The time of a run starting now: later than every committed run's, even when this
    machine's clock is behind the one that ran before (index files are ordered by run time,
    and a merged file covers every run time in its range)."""
    path = output.last_run
    if not FileSystems.exists(path):
        return now
    with FileSystems.open(path) as handle:
        last = datetime.strptime(handle.read().decode().strip(), STAMP_FORMAT).replace(tzinfo=UTC)
    return max(now, last + timedelta(microseconds=1))


def note_committed_run(layout: OutputLayout) -> None:
    """Records a committed run's time for next_run_time (the latest one wins)."""
    path = layout.output.last_run
    if FileSystems.exists(path):
        with FileSystems.open(path) as handle:
            if handle.read().decode().strip() >= layout.stamp:
                return
    with FileSystems.create(path) as handle:
        handle.write(layout.stamp.encode())


def _complete_marker(output: OutputPaths, kind: IndexKind) -> str:
    return f"{output.index_root(kind.name)}/_complete"


Deriver = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


def ensure_indexes(layout: OutputLayout, kinds: Iterable[IndexKind],
                   derivers: dict[str, Deriver]) -> dict[str, int]:
    """Builds, once, each index an output does not have yet from the dataset it indexes (an
    output written before indexes existed); returns {index: rows read} for those built. An
    index is complete once its marker file exists: until then, runs build it again.
    `derivers`: for kinds whose rows are not plain dataset columns, the function that makes
    them from the dataset's columns."""
    built, output = {}, layout.output
    for kind in kinds:
        marker = _complete_marker(output, kind)
        if FileSystems.exists(marker):
            continue
        files = [m.path for m in FileSystems.match(
            [output.dataset_files(kind.dataset)])[0].metadata_list] if kind.dataset else []
        stale = bucket_files_under(output.index_root(kind.name))
        if stale:  # an earlier build that did not finish
            FileSystems.delete(stale)
        rows = 0
        if files:
            table = _read_dataset_columns(files, kind)
            rows = table.num_rows
            if kind.name in derivers:
                table = pa.Table.from_pylist(derivers[kind.name](table.to_pylist()),
                                             schema=kind.schema)
            for bucket, part in _split_by_bucket(table, kind):
                write_index_file(output.index_bucket(kind.name, bucket), kind,
                                 kind.combine(part), BEGINNING, layout.stamp)
            built[kind.name] = rows
        with FileSystems.create(marker) as handle:
            handle.write(f"{rows} rows indexed\n".encode())
    return built


def bucket_files_under(root: str) -> list[str]:
    return [m.path for m in FileSystems.match([f"{root}/bucket=*/*.parquet"])[0].metadata_list]


def _read_dataset_columns(files: list[str], kind: IndexKind) -> pa.Table:
    """The dataset columns an index is made of, named as the index names them."""
    table = read_dataset_files(files, kind.dataset, list(kind.columns.values()))
    named = pa.table({column: table.column(source) for column, source in kind.columns.items()})
    return named.cast(kind.schema) if kind.schema.names == named.column_names else named


def _split_by_bucket(table: pa.Table, kind: IndexKind) -> Iterator[tuple[str, pa.Table]]:
    keys = table.column("key")
    if kind.hashed_keys:
        buckets = pc.utf8_slice_codeunits(keys, 0, kind.bucket_digits)
    else:
        buckets = pa.array([kind.bucket_of(key) for key in keys.to_pylist()])
    table = table.append_column("bucket", buckets).sort_by("bucket")
    offset = 0
    for counted in pc.value_counts(table.column("bucket")).to_pylist():  # in sorted order
        yield counted["values"], table.slice(offset, counted["counts"]).drop_columns(["bucket"])
        offset += counted["counts"]


def lookup_rows(output: OutputPaths, kind: IndexKind, keys: Iterable[str]
                ) -> list[dict[str, Any]]:
    """The index rows of `keys`, read here (on the launcher: a report, a check before a run),
    each bucket opened once; LookupIndex does the same inside a graph."""
    by_bucket: dict[str, list[str]] = {}
    for key in keys:
        by_bucket.setdefault(kind.bucket_of(key), []).append(key)
    return [row for bucket, wanted in by_bucket.items()
            for row in read_bucket(output.index_bucket(kind.name, bucket), kind,
                                   wanted).to_pylist()]


class ReadBucket(beam.DoFn):
    """(bucket, keys) -> the index rows of those keys, as dicts."""

    def __init__(self, output: OutputPaths, kind: IndexKind) -> None:
        self.output = output
        self.kind = kind

    def process(self, grouped: tuple[str, Iterable[str]]) -> Iterator[dict[str, Any]]:
        bucket, keys = grouped
        folder = self.output.index_bucket(self.kind.name, bucket)
        yield from read_bucket(folder, self.kind, keys).to_pylist()


class WriteBuckets(beam.DoFn):
    """((index name, bucket), rows) -> the path of the one file these rows make in the run's
    staging folder (covering this run only; in a stream's unbounded graph, the window's)."""

    def __init__(self, layout: OutputLayout, kinds: dict[str, IndexKind]) -> None:
        self.layout = layout
        self.kinds = kinds

    def process(self, grouped: tuple[tuple[str, str], Iterable[dict[str, Any]]],
                window=beam.DoFn.WindowParam) -> Iterator[str]:  # noqa: ANN001
        (name, bucket), rows = grouped
        kind = self.kinds[name]
        table = kind.combine(pa.Table.from_pylist(list(rows), schema=kind.schema))
        layout = self.layout.in_window(window)
        folder = layout.staged_index_bucket(name, bucket)
        yield write_index_file(folder, kind, table, layout.stamp, layout.stamp)


class WriteIndexes(beam.PTransform):
    """{index name: index rows (dicts with its kind's columns)} -> paths of the staged index
    files: one file per (index, bucket) the run touches, all indexes through one shuffle.
    `kinds`: the indexes the rows are for, by name (each stage declares its own)."""

    def __init__(self, layout: OutputLayout, kinds: dict[str, IndexKind]) -> None:
        super().__init__()
        self.layout = layout
        self.kinds = kinds

    def expand(self, rows_by_index: dict[str, beam.PCollection]) -> beam.PCollection:
        tagged = [rows | f"Tag[{name}]" >> beam.Map(
                      lambda row, kind: ((kind.name, kind.bucket_of(row["key"])), row),
                      self.kinds[name])
                  for name, rows in rows_by_index.items()]
        return (tagged
                | "AllIndexRows" >> beam.Flatten()
                | "GroupByBucket" >> beam.GroupByKey()
                | "EachBucket" >> beam.ParDo(WriteBuckets(self.layout, self.kinds)))


class LookupIndex(beam.PTransform):
    """Keys -> the rows an index holds for them (none for a key never written): keys grouped
    by bucket, so a bucket is opened once per run."""

    def __init__(self, output: OutputPaths, kind: IndexKind) -> None:
        super().__init__()
        self.output = output
        self.kind = kind

    def expand(self, keys: beam.PCollection) -> beam.PCollection:
        bucket_of = self.kind.bucket_of
        return (keys
                | "ByBucket" >> beam.Map(lambda key: (bucket_of(key), key))
                | "GroupByBucket" >> beam.GroupByKey()
                | "EachBucket" >> beam.ParDo(ReadBucket(self.output, self.kind)))
