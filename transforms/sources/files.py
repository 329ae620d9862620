"""Files by glob through Beam's filesystems (local, gs://, ...): text, HTML and feed files,
gzip or not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from transforms.core import metrics
from transforms.core.failures import BadInput, StageDoFn
from transforms.core.records import RawDocument
from transforms.sources.decode import decode_text, read_capped
from transforms.sources.feeds import feed_documents

STAGE = "sources"
KIND_BY_SUFFIX = {
    ".txt": "text",
    ".html": "html",
    ".htm": "html",
    ".xml": "feed",
    ".rss": "feed",
    ".atom": "feed",
    ".json": "feed",
}


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
    an error row, not a silent no-op."""

    stage = STAGE

    def handle(self, pattern: str) -> Iterator[Any]:
        matched = FileSystems.match([pattern])[0].metadata_list
        if not matched:
            raise BadInput(f"no file matches {pattern!r}")
        yield from sorted(matched, key=lambda m: m.path)


class ReadInputFile(StageDoFn):
    """One matched file to RawDocuments: a text or HTML document, or one per feed entry."""

    stage = STAGE

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.inputs = metrics.counter(metrics.INPUTS)

    def handle(self, readable: fileio.ReadableFile) -> Iterator[Any]:
        self.inputs.inc()
        path = readable.metadata.path
        kind = input_kind(path)
        gzipped = path.lower().endswith(".gz")
        with readable.open(compression_type=CompressionTypes.UNCOMPRESSED if gzipped
                           else CompressionTypes.AUTO) as stream:
            data = read_capped(stream, self.max_bytes, gzipped)
        if kind == "feed":
            yield from self._entries(path, data)
        else:
            yield RawDocument(source=path, kind=kind, content=decode_text(data))

    def _entries(self, source: str, data: bytes, pages_follow: bool = False) -> Iterator[Any]:
        for item in feed_documents(source, data, pages_follow):
            yield self.error(source, item) if isinstance(item, BadInput) else item
