"""What earlier runs wrote, as the stages that skip or build on it ask for it: through the
indexes (transforms/storage/index.py), at a cost that follows the run's own records."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import apache_beam as beam
import pyarrow as pa
from apache_beam.coders import StrUtf8Coder
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec, TimerSpec, on_timer
from apache_beam.transforms.window import GlobalWindows

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


# What a stream saw of a key (its signature: a file's size and time, "" for an id), and when
# to forget it (event time).
_SEEN_SPEC = ReadModifyWriteStateSpec("seen", StrUtf8Coder())
_EXPIRY_SPEC = TimerSpec("expiry", TimeDomain.WATERMARK)
_SEEN, _EXPIRY = beam.DoFn.StateParam(_SEEN_SPEC), beam.DoFn.TimerParam(_EXPIRY_SPEC)


class FirstSightOf(beam.DoFn):
    """(key, (signature, item)) -> the item, unless the stream saw its key with the same
    signature before (counted under `counter`). State is kept per key for `keep_s` seconds of
    event time after it was written: by then the item's window is committed and the output's
    indexes hold it."""

    def __init__(self, keep_s: float, counter: str) -> None:
        self.keep_s = keep_s
        self.seen_before = metrics.counter(counter)

    def process(self, keyed: tuple[str, tuple[str, Any]], seen=_SEEN,  # noqa: ANN001
                expiry=_EXPIRY, timestamp=beam.DoFn.TimestampParam) -> Iterator[Any]:  # noqa: ANN001
        _, (signature, item) = keyed
        if seen.read() == signature:
            self.seen_before.inc()
            return
        seen.write(signature)
        expiry.set(timestamp + self.keep_s)
        yield item

    @on_timer(_EXPIRY_SPEC)
    def forget(self, seen=_SEEN) -> None:  # noqa: ANN001 - Beam's params
        seen.clear()


class FirstSight(beam.PTransform):
    """Items -> those a stream's unbounded graph sees for the first time (by `key_of`), or
    with another `signature_of` than last time (a file that changed). The state lives in the
    global window, so an item seen in an earlier window is caught though that window may not
    be committed yet; the items go back to their windows after."""

    def __init__(self, keep_s: float, key_of: Callable[[Any], str],
                 signature_of: Callable[[Any], str] = lambda _: "",
                 counter: str = metrics.SKIPPED_EXISTING) -> None:
        super().__init__()
        self.keep_s = keep_s
        self.key_of = key_of
        self.signature_of = signature_of
        self.counter = counter

    def expand(self, items: beam.PCollection) -> beam.PCollection:
        key_of, signature_of = self.key_of, self.signature_of
        windowfn = items.windowing.windowfn
        return (items
                | "OneWindow" >> beam.WindowInto(GlobalWindows())
                | "Keyed" >> beam.Map(lambda item: (key_of(item), (signature_of(item), item)))
                .with_output_types(tuple[str, tuple[str, Any]])
                | "FirstSightOf" >> beam.ParDo(FirstSightOf(self.keep_s, self.counter))
                | "BackToWindows" >> beam.WindowInto(windowfn))
