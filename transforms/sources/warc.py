"""WARC archives (Common Crawl's CC-NEWS, `wget --warc-file`), plain or gzip: every HTTP
response record with an HTML body is a page, read one record at a time (memory stays flat
however large the archive), with warcio."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from transforms.core.failures import BadInput
from transforms.core.records import RawDocument, utc_datetime
from transforms.sources.decode import charset_of, decode_text

_HTML_TYPES = ("text/html", "application/xhtml+xml")
# counter: WARC records that hold no page (requests, metadata, other media, errors, redirects)
WARC_RECORDS_SKIPPED = "sources.warc_records_skipped"


class DamagedArchive(BadInput):
    """The archive cannot be read past a record (cut off, or not WARC): what came before it
    is kept."""


def _html_page(record: Any, source: str, max_bytes: int) -> RawDocument | str:
    """The page a response record holds, or why it is skipped (a short reason)."""
    if record.rec_type != "response" or record.http_headers is None:
        return record.rec_type
    status = record.http_headers.get_statuscode() or ""
    content_type = record.http_headers.get_header("Content-Type") or ""
    if not status.startswith("2"):
        return f"status {status}"
    if not content_type.lower().startswith(_HTML_TYPES):
        return content_type.split(";")[0].strip() or "no content type"
    body = record.content_stream().read(max_bytes + 1)
    if record.raw_stream.limit:  # fewer bytes than the record's Content-Length promised
        raise DamagedArchive(f"record {record.rec_headers.get_header('WARC-Record-ID')} is "
                             "cut off")
    if len(body) > max_bytes:
        return "larger than limits.max_input_bytes"
    if not body.strip():
        return "empty body"
    return RawDocument(
        source=source,
        kind="html",
        content=decode_text(body, charset_of(content_type)),
        url=record.rec_headers.get_header("WARC-Target-URI"),
        fetched_at=utc_datetime(record.rec_headers.get_header("WARC-Date")),
    )


def warc_documents(source: str, stream: BinaryIO, max_bytes: int,
                   skipped: Callable[[str], None]) -> Iterator[RawDocument | BadInput]:
    """Each HTML response record of the archive as a RawDocument (a page that cannot be
    decoded as BadInput); every other record is passed to `skipped` with its reason. A
    damaged archive raises DamagedArchive after the records before the damage."""
    from warcio.archiveiterator import ArchiveIterator  # heavy import, only where it is used
    from warcio.exceptions import ArchiveLoadFailed

    records = 0
    try:
        for record in ArchiveIterator(stream, check_digests=False):
            records += 1
            try:
                page = _html_page(record, source, max_bytes)
            except DamagedArchive:
                raise
            except BadInput as exc:
                uri = record.rec_headers.get_header("WARC-Target-URI")
                yield BadInput(f"record {records} ({uri}): {exc}")
                continue
            if isinstance(page, RawDocument):
                yield page
            else:
                skipped(page)
    except DamagedArchive:
        raise
    except (ArchiveLoadFailed, BadInput, zlib.error, EOFError) as exc:
        raise DamagedArchive(f"WARC archive damaged after {records} records: "
                             f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                             ) from None
