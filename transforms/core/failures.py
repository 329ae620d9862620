"""Failures are data, bugs are not: every stage routes a record that fails to the `errors`
output. Expected rejections (BadInput and its kind) are bad input and the run goes on; any
other exception is a bug: it is recorded and counted by stage, type and place, and past the
configured limit the run fails and commits nothing."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam import pvalue

from transforms.core import metrics
from transforms.core.bad_input import BadInput, raised_at
from transforms.core.beam_memo import remember
from transforms.core.records import ErrorRecord
from transforms.core.settings import check_at_least, check_between

remember()  # in every process that builds or runs newsbeam's DoFns (see beam_memo)

ERRORS = "errors"
MAIN = "main"
_LOG = logging.getLogger(__name__)


def source_of(element: Any) -> str:
    """Best description of where a failing element came from, for the errors row."""
    if hasattr(element, "source"):
        return element.source
    metadata = getattr(element, "metadata", None)  # fileio.ReadableFile
    if metadata is not None:
        return metadata.path
    if isinstance(element, tuple) and element:
        return source_of(element[-1])
    if isinstance(element, list):
        return ", ".join(source_of(item) for item in element)
    return str(element)[:500]


def describe(exc: BaseException) -> str:
    """The message of an exception; unexpected ones also name the line that raised."""
    message = str(exc) or repr(exc)
    if isinstance(exc, BadInput):
        return message
    return f"{message} (at {raised_at(exc)})"


@dataclass(frozen=True)
class FailureLimits:
    """How many unexpected failures a stage may have before the run fails (config
    `limits.max_unexpected_failures` and `limits.max_unexpected_failure_share`): a run fails
    when a stage's unexpected failures are more than the count, or more than the share of the
    records it was given."""

    max_count: int = 10
    max_share: float = 0.01

    def __post_init__(self) -> None:
        check_at_least("limits.max_unexpected_failures", self.max_count, 0)
        check_between("limits.max_unexpected_failure_share", self.max_share, 0.0, 1.0)

    def breach(self, counts: Counter[str]) -> str | None:
        """A one-line account of the first stage over the limit, or None when none is."""
        for stage, places in metrics.unexpected_by_stage(counts).items():
            failed, seen = sum(places.values()), counts[metrics.seen_by(stage)]
            if failed > self.max_count or failed > self.max_share * max(seen, failed):
                what, times = places.most_common(1)[0]
                return (f"stage {stage}: {failed} of {seen} records failed with an unexpected "
                        f"exception (limit: more than {self.max_count}, or more than "
                        f"{self.max_share:.0%}); most often {what} ({times}x)")
        return None


class StageDoFn(beam.DoFn):
    """A DoFn whose per-element failures become ErrorRecords on the ERRORS output.

    Subclasses implement `handle` and set `stage`; the run goes on past any bad record, and
    unexpected exceptions are counted so the launcher can stop a run that only fails."""

    stage = "unknown"

    def handle(self, element: Any, *side_inputs: Any) -> Iterable[Any]:
        raise NotImplementedError

    def records_in(self, element: Any) -> int:
        """How many records an element holds (a batch or a group holds several)."""
        return 1

    def _counter(self, name: str) -> Any:
        counters = self.__dict__.setdefault("_counters", {})
        if name not in counters:
            counters[name] = metrics.counter(name)
        return counters[name]

    def error(self, element: Any, exc: BaseException) -> pvalue.TaggedOutput:
        """The errors row for `element`; an unexpected exception is also counted and logged."""
        self._counter(metrics.errors_of(self.stage)).inc()
        if not isinstance(exc, BadInput):
            where = raised_at(exc)
            self._counter(metrics.unexpected_in(self.stage, type(exc).__name__, where)).inc()
            _LOG.error("unexpected %s in stage %s at %s for %s", type(exc).__name__, self.stage,
                       where, source_of(element), exc_info=exc)
        record = ErrorRecord(source_of(element), self.stage, type(exc).__name__, describe(exc))
        return pvalue.TaggedOutput(ERRORS, record)

    def process(self, element, *side_inputs):  # untyped: Beam would read the hints as types
        """Runs `handle` (with any side inputs); a failure becomes an errors row."""
        self.count_seen(element)
        yield from self.guarded(element, lambda: self.handle(element, *side_inputs))

    def count_seen(self, element: Any) -> None:
        """Counts the records an element holds as seen by the stage (the failure limit's base)."""
        self._counter(metrics.seen_by(self.stage)).inc(self.records_in(element))

    def guarded(self, element: Any, outputs: Callable[[], Iterable[Any]]) -> Iterator[Any]:
        """What `outputs()` yields; if it fails, `element`'s errors row after what it yielded."""
        try:
            yield from outputs()
        except Exception as exc:  # noqa: BLE001 - routed to errors/ and counted by kind
            yield self.error(element, exc)


def apply_stage(
    pcoll: beam.PCollection, label: str, dofn: StageDoFn, *side_inputs: Any
) -> tuple[beam.PCollection, beam.PCollection]:
    """Run a StageDoFn (with any side inputs); return (good records, ErrorRecords)."""
    outputs = pcoll | label >> beam.ParDo(dofn, *side_inputs).with_outputs(ERRORS, main=MAIN)
    return outputs[MAIN], outputs[ERRORS]
