"""newsbeam's counters: the run's own (named here, read back by the summary line and the runs
row), the names every stage counts under (records seen, errors, unexpected failures, by stage
name), and reading them back; a counter only one stage keeps is named in that stage. A
runner's UI (Dataflow's too) shows the same names."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter

NAMESPACE = "newsbeam"
INPUTS = "inputs"  # files and feed URLs read
RECORDS = "records"  # documents that reached parsing (a feed holds many)
FEEDS_UNCHANGED = "feeds_unchanged"  # feeds answering 304, or with the same body as last run
FILES_UNCHANGED = "files_unchanged"  # matched files an earlier run read as they are now
SKIPPED_EXISTING = "skipped_existing"  # articles the output already holds
ARTICLES_WRITTEN = "articles_written"
_ERRORS = "errors."  # + stage: records a stage sent to errors/
_SEEN = "seen."  # + stage: records a stage was given
_UNEXPECTED = "unexpected."  # + stage.ExceptionType at file:line: bugs, not bad input
_LANGUAGE = "language."  # + code: articles written in that language
_NO_ENTITIES = "no_entities."  # + code: articles without an NER model for their language
_NO_TOPICS = "no_topics."  # + code: articles without topic vocabulary for their language


def errors_of(stage: str) -> str:
    return f"{_ERRORS}{stage}"


def seen_by(stage: str) -> str:
    return f"{_SEEN}{stage}"


def unexpected_in(stage: str, error_type: str, raised_at: str) -> str:
    """One counter per stage, exception type and place: the name says where to look."""
    return f"{_UNEXPECTED}{stage}.{error_type} at {raised_at}"


def language_of_article(code: str) -> str:
    return f"{_LANGUAGE}{code}"


def no_entities_for(code: str) -> str:
    return f"{_NO_ENTITIES}{code}"


def no_topics_for(code: str) -> str:
    return f"{_NO_TOPICS}{code}"


def by_language(counts: Counter[str]) -> dict[str, dict[str, int]]:
    """{"written" | "no_entities" | "no_topics": {language: articles}}."""
    found: dict[str, dict[str, int]] = {"written": {}, "no_entities": {}, "no_topics": {}}
    for prefix, key in ((_LANGUAGE, "written"), (_NO_ENTITIES, "no_entities"),
                        (_NO_TOPICS, "no_topics")):
        found[key] = {name.removeprefix(prefix): n for name, n in sorted(counts.items())
                      if name.startswith(prefix) and n}
    return found


_TALLY: Counter[str] = Counter()  # this process's increments, for progress lines
_TALLY_LOCK = threading.Lock()


class NewsbeamCounter:
    """A Beam counter (what runners aggregate and show, Dataflow's UI included) that also
    tallies in this process, so a run on an in-process runner can show progress while it
    works (those runners report metrics only once the run has finished)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.beam_counter = beam.metrics.Metrics.counter(NAMESPACE, name)

    def inc(self, n: int = 1) -> None:
        self.beam_counter.inc(n)
        with _TALLY_LOCK:
            _TALLY[self.name] += n


def counter(name: str) -> NewsbeamCounter:
    """A counter to create once per DoFn (in __init__ or setup), not per element."""
    return NewsbeamCounter(name)


def local_tally() -> Counter[str]:
    """What this process's counters have counted so far."""
    with _TALLY_LOCK:
        return Counter(_TALLY)


def totals(result: Any) -> Counter[str]:
    """Every newsbeam counter of a finished run, summed over steps (committed values where the
    runner has them)."""
    summed: Counter[str] = Counter()
    query = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))
    for found in query["counters"]:
        value = found.committed if found.committed is not None else found.attempted
        summed[found.key.metric.name] += value or 0
    return summed


# What runners that report execution time (the DirectRunner does) call a step's time.
_EXECUTION_TIME = "metric:ptransform_execution_time:total_msecs:v1"


def seconds_by_stage(result: Any) -> dict[str, float]:
    """Execution seconds per top-level step of the graph (ReadSources, ParseArticles, ...),
    summed over its steps and workers; empty where the runner reports none."""
    try:
        found = result.monitoring_metrics().query(MetricsFilter())["counters"]
    except (AttributeError, NotImplementedError, KeyError):
        return {}
    seconds: Counter[str] = Counter()
    for metric in found:
        if metric.key.metric.name == _EXECUTION_TIME and metric.key.step:
            value = metric.committed if metric.committed is not None else metric.attempted
            seconds[metric.key.step.split("/", 1)[0]] += (value or 0) / 1000
    return {stage: round(s, 3) for stage, s in seconds.items() if s > 0}


def errors_by_stage(counts: Counter[str]) -> dict[str, int]:
    return {name.removeprefix(_ERRORS): n for name, n in sorted(counts.items())
            if name.startswith(_ERRORS) and n}


def unexpected_by_stage(counts: Counter[str]) -> dict[str, Counter[str]]:
    """stage -> {"ExceptionType at file:line": count} of the unexpected failures."""
    found: dict[str, Counter[str]] = {}
    for name, n in sorted(counts.items()):
        if name.startswith(_UNEXPECTED) and n:
            stage, what = name.removeprefix(_UNEXPECTED).split(".", 1)
            found.setdefault(stage, Counter())[what] += n
    return found
