"""Files by glob through Beam's filesystems (local, gs://, ...): text, HTML and feed files,
gzip or not. A file read by an earlier run (the same path, size and modification time in the
input_files index) is not read again: a folder that grows is read at the cost of its new
files, and a file that changed is read again (its article id decides whether it is new)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import apache_beam as beam
import pyarrow as pa
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes, FileMetadata
from apache_beam.io.filesystems import FileSystems

from transforms.core import metrics
from transforms.core.failures import BadInput, StageDoFn
from transforms.core.records import RawDocument
from transforms.sources.decode import Gunzip, decode_text, read_capped
from transforms.sources.feeds import feed_documents
from transforms.sources.warc import WARC_RECORDS_SKIPPED, warc_documents
from transforms.storage.index import IndexKind, LookupIndex, latest_per_key, read_bucket
from transforms.storage.layout import STAMP_FORMAT, OutputPaths

STAGE = "sources"
KIND_BY_SUFFIX = {
    ".txt": "text",
    ".html": "html",
    ".htm": "html",
    ".xml": "feed",
    ".rss": "feed",
    ".atom": "feed",
    ".json": "feed",
    ".warc": "warc",
}


# Every input file read, by path: its size and modification time when it was read. No dataset
# holds these: an output written before this index reads each of its files once more.
INPUT_FILES = IndexKind(
    "input_files",
    pa.schema([pa.field("key", pa.string(), nullable=False), ("size", pa.int64()),
               ("modified", pa.float64()), ("read_at", pa.string())]),
    lambda table: latest_per_key(table, "read_at"), False, "", {})


def file_signature(metadata: FileMetadata) -> str:
    """What tells one state of a file from another: its size and modification time."""
    return f"{metadata.size_in_bytes}:{metadata.last_updated_in_seconds!r}"


def read_before(metadata: FileMetadata, row: dict[str, Any] | None) -> bool:
    """Whether the index row of a matched file's path says it was read as it is now."""
    return (row is not None and row["size"] == metadata.size_in_bytes
            and row["modified"] == metadata.last_updated_in_seconds)


def input_file_row(metadata: FileMetadata, run_time: datetime) -> dict[str, Any]:
    return {"key": metadata.path, "size": metadata.size_in_bytes,
            "modified": metadata.last_updated_in_seconds,
            "read_at": run_time.strftime(STAMP_FORMAT)}


def unread_files(matched: Iterable[FileMetadata], output: OutputPaths
                 ) -> Iterator[FileMetadata]:
    """The matched files that no run has read as they are now, an index bucket at a time: what
    a run checks before it builds a graph (the graph's UnreadFiles step decides the same, file
    by file), so that check can stop at the first bucket that holds a new file."""
    by_bucket: dict[str, dict[str, FileMetadata]] = {}
    for metadata in matched:
        by_bucket.setdefault(INPUT_FILES.bucket_of(metadata.path), {})[metadata.path] = metadata
    for bucket, files in by_bucket.items():
        rows = {row["key"]: row for row in read_bucket(
            output.index_bucket(INPUT_FILES.name, bucket), INPUT_FILES, files).to_pylist()}
        yield from (m for path, m in files.items() if not read_before(m, rows.get(path)))


class SkipReadBefore(beam.DoFn):
    """(path, {"files": [metadata], "rows": [index row]}) -> the file, unless it was read as
    it is now (counted)."""

    def __init__(self) -> None:
        self.unchanged = metrics.counter(metrics.FILES_UNCHANGED)

    def process(self, grouped: tuple[str, dict[str, Any]]) -> Iterator[FileMetadata]:
        _, group = grouped
        rows = list(group["rows"])
        for metadata in list(group["files"])[:1]:  # two globs matching one file read it once
            if read_before(metadata, rows[0] if rows else None):
                self.unchanged.inc()
            else:
                yield metadata


class UnreadFiles(beam.PTransform):
    """Matched files (FileMetadata) -> those no run has read as they are now."""

    def __init__(self, output: OutputPaths) -> None:
        super().__init__()
        self.output = output

    def expand(self, matches: beam.PCollection) -> beam.PCollection:
        by_path = matches | "ByPath" >> beam.Map(lambda m: (m.path, m))
        rows = (by_path
                | "Paths" >> beam.Keys()
                | "LookUpInputFiles" >> LookupIndex(self.output, INPUT_FILES)
                | "RowByPath" >> beam.Map(lambda row: (row["key"], row)))
        return ({"files": by_path, "rows": rows}
                | "GroupByPath" >> beam.CoGroupByKey()
                | "SkipReadBefore" >> beam.ParDo(SkipReadBefore()))


def input_kind(path: str) -> str:
    """The kind of a file from its name: text, html or feed; `.gz` is looked through."""
    name = path.lower().removesuffix(".gz")
    for suffix, kind in KIND_BY_SUFFIX.items():
        if name.endswith(suffix):
            return kind
    expected = ", ".join(KIND_BY_SUFFIX)
    raise BadInput(f"unsupported file type; expected one of {expected} (optionally .gz)")


class MatchInputs(StageDoFn):
    """Expand each glob with Beam's filesystems (local, gs://, ...); a glob matching nothing is
    an error row, not a silent no-op (unless `empty_is_error` is off: a stream's folder that
    is empty now may not be on the next poll)."""

    stage = STAGE

    def __init__(self, empty_is_error: bool = True) -> None:
        self.empty_is_error = empty_is_error

    def handle(self, pattern: str) -> Iterator[Any]:
        matched = FileSystems.match([pattern])[0].metadata_list
        if not matched and self.empty_is_error:
            raise BadInput(f"no file matches {pattern!r}")
        yield from sorted(matched, key=lambda m: m.path)


class ReadInputFile(StageDoFn):
    """One matched file to RawDocuments: a text or HTML document, one per feed entry, or one
    per HTML response of a WARC archive."""

    stage = STAGE

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.inputs = metrics.counter(metrics.INPUTS)
        self.warc_skipped = metrics.counter(WARC_RECORDS_SKIPPED)

    def handle(self, readable: fileio.ReadableFile) -> Iterator[Any]:
        self.inputs.inc()
        path = readable.metadata.path
        kind = input_kind(path)
        gzipped = path.lower().endswith(".gz")
        with readable.open(compression_type=CompressionTypes.UNCOMPRESSED if gzipped
                           else CompressionTypes.AUTO) as stream:
            if kind == "warc":  # read a record at a time: an archive may hold gigabytes
                for item in warc_documents(path, Gunzip(stream) if gzipped else stream,
                                           self.max_bytes, lambda _: self.warc_skipped.inc()):
                    yield self.error(path, item) if isinstance(item, BadInput) else item
                return
            data = read_capped(stream, self.max_bytes, gzipped)
        if kind == "feed":
            yield from self._entries(path, data)
        else:
            yield RawDocument(source=path, kind=kind, content=decode_text(data))

    def _entries(self, source: str, data: bytes, pages_follow: bool = False) -> Iterator[Any]:
        for item in feed_documents(source, data, pages_follow):
            yield self.error(source, item) if isinstance(item, BadInput) else item
