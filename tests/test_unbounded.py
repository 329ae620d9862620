"""The unbounded graph of `newsbeam stream` on a streaming runner, fed by Beam's TestStream on
the DirectRunner (which runs windows, triggers, state and timers as a streaming runner does):
documents arriving across three windows are committed window by window, each a run."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_stream import TestStream as Events
from apache_beam.transforms.window import TimestampedValue
from conftest import SEEDS, read_dataset, rows, run_cli

from pipeline.config import load_config, run_settings
from pipeline.run import Launch
from pipeline.stream import build_unbounded_pipeline
from transforms.core.records import RawDocument

pytestmark = pytest.mark.slow
SEED_FILES = sorted(SEEDS.glob("*.txt"))
EVERY = 15
START = 1_780_000_020  # 2026-05-28T20:27:00Z, the start of a window of EVERY seconds


def document(path: Path, source: str | None = None) -> RawDocument:
    return RawDocument(source=source or str(path), kind="text",
                       content=path.read_text(encoding="utf-8"))


def at(seconds: float, item: RawDocument) -> TimestampedValue:
    return TimestampedValue(item, START + seconds)


def stream_source(events: Events) -> Any:
    """A source for build_unbounded_pipeline: the TestStream's documents as files read."""
    def source(pipeline: beam.Pipeline) -> dict[str, Any]:
        documents = pipeline | "TestDocuments" >> events
        errors = pipeline | "NoSourceErrors" >> beam.Create([])
        return {"documents": {"files": documents}, "errors": errors, "feed_state": None,
                "index_rows": {}}
    return source


def launch_for(output: Path, *flags: str) -> Launch:
    options = PipelineOptions(["--streaming", *flags])
    defaults = load_config()
    config = {**defaults, "output": str(output), "progress_s": 0.0,
              "stream": {**defaults["stream"], "every_s": float(EVERY)}}
    return Launch(options, config, run_settings(config))


def test_documents_in_three_windows_are_committed_window_by_window(tmp_path: Path) -> None:
    output = tmp_path / "out"
    copy = tmp_path / "copy_of_000.txt"
    shutil.copy(SEED_FILES[0], copy)
    events = (Events()
              .advance_watermark_to(START)
              .add_elements([at(1, document(SEED_FILES[0])), at(2, document(SEED_FILES[1]))])
              .advance_watermark_to(START + EVERY)
              .add_elements([at(16, document(SEED_FILES[2])), at(17, document(copy))])
              .advance_watermark_to(START + 2 * EVERY)
              .add_elements([at(31, document(SEED_FILES[3])), at(32, document(SEED_FILES[4])),
                             at(33, RawDocument(source="empty.txt", kind="text", content=""))])
              .advance_watermark_to_infinity())
    job = launch_for(output)
    assert job.options.view_as(StandardOptions).streaming
    build_unbounded_pipeline(job, stream_source(events)).run().wait_until_finish()

    runs = sorted(read_dataset(output, "runs"), key=lambda r: r["run_id"])
    assert [(r["mode"], r["articles_written"]) for r in runs] == [
        ("stream", 2), ("stream", 1), ("stream", 2)]
    assert [r["started_at"].timestamp() for r in runs] == [START, START + EVERY,
                                                             START + 2 * EVERY]
    articles = read_dataset(output, "articles")
    assert sorted(Path(a["source"]).name for a in articles) == sorted(s.name for s in SEED_FILES)
    by_window = {Path(a["source"]).name: a["ingested_at"].timestamp() for a in articles}
    assert by_window[SEED_FILES[2].name] == START + EVERY
    errors = read_dataset(output, "errors")
    assert [(e["source"], e["stage"]) for e in errors] == [("empty.txt", "parse")] or [
        (e["source"], e["stage"]) for e in errors] == [("empty.txt", "sources")]
    assert not list((output / "_staging").glob("*"))

    # the same documents through one run: the same rows, ingest times aside
    inputs = tmp_path / "in"
    inputs.mkdir()
    for seed in SEED_FILES:
        shutil.copy(seed, inputs / seed.name)
    one_run = tmp_path / "one_run"
    assert run_cli("--input", f"{inputs}/*.txt", "--output", str(one_run)).returncode == 0
    for dataset in ("entities", "topics"):
        assert rows(output, dataset) == rows(one_run, dataset), dataset
