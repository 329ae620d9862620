"""Failures are data: every stage routes a record that fails to the `errors` output."""

from __future__ import annotations

import traceback
from collections.abc import Iterable
from typing import Any

import apache_beam as beam
from apache_beam import pvalue

from pipeline.records import ErrorRecord

ERRORS = "errors"
MAIN = "main"


class BadInput(ValueError):
    """An expected rejection (empty file, undecodable bytes, feed without entries)."""


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
    if isinstance(exc, BadInput) or exc.__traceback__ is None:
        return message
    frame = traceback.extract_tb(exc.__traceback__)[-1]
    return f"{message} (at {frame.filename.rsplit('/', 1)[-1]}:{frame.lineno})"


class StageDoFn(beam.DoFn):
    """A DoFn whose per-element failures become ErrorRecords on the ERRORS output.

    Subclasses implement `handle` and set `stage`; the run goes on past any bad record.
    """

    stage = "unknown"

    def handle(self, element: Any, *side_inputs: Any) -> Iterable[Any]:
        raise NotImplementedError

    def error(self, element: Any, exc: BaseException) -> pvalue.TaggedOutput:
        beam.metrics.Metrics.counter("newsbeam", f"errors.{self.stage}").inc()
        record = ErrorRecord(source_of(element), self.stage, type(exc).__name__, describe(exc))
        return pvalue.TaggedOutput(ERRORS, record)

    def process(self, element, *side_inputs):  # untyped: Beam would read the hints as types
        """Runs `handle` (with any side inputs); a failure becomes an errors row."""
        try:
            yield from self.handle(element, *side_inputs)
        except Exception as exc:  # noqa: BLE001 - routed to errors/, with its reason
            yield self.error(element, exc)


def apply_stage(
    pcoll: beam.PCollection, label: str, dofn: StageDoFn
) -> tuple[beam.PCollection, beam.PCollection]:
    """Run a StageDoFn; return (good records, ErrorRecords)."""
    outputs = pcoll | label >> beam.ParDo(dofn).with_outputs(ERRORS, main=MAIN)
    return outputs[MAIN], outputs[ERRORS]
