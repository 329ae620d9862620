"""The unbounded graph of `newsbeam stream` on a streaming runner, fed by Beam's TestStream on
the DirectRunner (which runs windows, triggers, state and timers as a streaming runner does):
documents arriving across three windows are committed window by window, each a run."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_stream import TestStream as Events
from apache_beam.transforms.window import TimestampedValue
from conftest import SEEDS, read_dataset, rows, run_cli
from httpserver import page, page_of, serve

from pipeline import cli
from pipeline.config import load_config, run_settings
from pipeline.run import Launch
from pipeline.stream import build_unbounded_pipeline
from transforms.core.records import RawDocument
from transforms.sources import PollSources
from transforms.storage.layout import OutputPaths

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


ARTICLE_COLUMNS = ("article_id", "url", "title", "text", "published_at", "language",
                   "word_count", "removed", "keyphrases", "duplicate_of")
BLANK_PAGE = "<html><body><div> </div></body></html>"


def three_windows(copy: Path) -> Events:
    """The seeds over three windows: 000 and 001, then 002 and a copy of 000 (another file,
    the same article), then 003, 004 (which the output holds already), a page with no article
    and, late (its window closed), 001 again under another name."""
    return (Events()
            .advance_watermark_to(START)
            .add_elements([at(1, document(SEED_FILES[0])), at(2, document(SEED_FILES[1]))])
            .advance_watermark_to(START + EVERY)
            .add_elements([at(16, document(SEED_FILES[2])), at(17, document(copy))])
            .advance_watermark_to(START + 2 * EVERY)
            .add_elements([at(31, document(SEED_FILES[3])), at(32, document(SEED_FILES[4])),
                           at(33, RawDocument(source="blank.html", kind="html",
                                              content=BLANK_PAGE))])
            .add_elements([at(3, document(SEED_FILES[1], "late.txt"))])
            .advance_watermark_to_infinity())


@pytest.fixture(scope="module")
def one_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The history the streams below start from (seed 004 written by a run), then the five
    seeds through one `newsbeam run`."""
    history, inputs = tmp_path_factory.mktemp("history"), tmp_path_factory.mktemp("seeds")
    shutil.copy(SEED_FILES[4], history)
    for seed in SEED_FILES:
        shutil.copy(seed, inputs / seed.name)
    output = tmp_path_factory.mktemp("one_run") / "out"
    for folder in (history, inputs):
        assert run_cli("--input", f"{folder}/*.txt", "--output", str(output)).returncode == 0
    return output


def stream_into(output: Path, tmp_path: Path) -> None:
    """Seed 004 written by an earlier run, then the three windows streamed into `output`."""
    history = tmp_path / "history"
    history.mkdir()
    shutil.copy(SEED_FILES[4], history)
    assert run_cli("--input", f"{history}/*.txt", "--output", str(output)).returncode == 0
    copy = tmp_path / "copy_of_000.txt"
    shutil.copy(SEED_FILES[0], copy)
    build_unbounded_pipeline(launch_for(output), stream_source(three_windows(copy))).run(
        ).wait_until_finish()


def test_documents_in_three_windows_are_committed_window_by_window(
        tmp_path: Path, one_run: Path) -> None:
    output = tmp_path / "out"
    stream_into(output, tmp_path)

    runs = sorted(read_dataset(output, "runs"), key=lambda r: (r["mode"], r["run_id"]))
    assert [(r["mode"], r["articles_written"]) for r in runs] == [
        ("run", 1), ("stream", 2), ("stream", 1), ("stream", 1)]  # history, then a window each
    assert [r["started_at"].timestamp() for r in runs[1:]] == [
        START, START + EVERY, START + 2 * EVERY]
    articles = read_dataset(output, "articles")
    windows = {Path(a["source"]).name: a["ingested_at"].timestamp() for a in articles}
    # each once (the copy of 000 and 004 from history are not written again); the late
    # document is dropped by its closed window (allowed lateness 0)
    assert len(articles) == 5 and len(windows) == 5 and "late.txt" not in windows
    assert [windows[seed.name] for seed in SEED_FILES[:4]] == [
        START, START, START + EVERY, START + 2 * EVERY]
    errors = read_dataset(output, "errors")
    assert [(e["source"], e["stage"], e["ingested_at"].timestamp()) for e in errors] == [
        ("blank.html", "parse", START + 2 * EVERY)]
    assert not list((output / "_staging").glob("*"))
    # the same rows as one run over the same documents on the same history, ingest times and
    # sources aside
    for dataset in ("entities", "topics"):
        assert rows(output, dataset) == rows(one_run, dataset), dataset

    def article_rows(out: Path) -> list[tuple]:
        return sorted(tuple(repr(a[c]) for c in ARTICLE_COLUMNS)
                      for a in read_dataset(out, "articles"))
    assert article_rows(output) == article_rows(one_run)


def test_a_window_commit_interrupted_half_way_is_finished_with_nothing_lost_or_doubled(
        tmp_path: Path, one_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A commit that fails after moving some files: the runner retries it, and the retry
    finishes it; one that keeps failing stops the job, and the next start's recovery
    finishes it (as a run's)."""
    import pipeline.commit as commit

    real_rename, calls = commit.FileSystems.rename, {"n": 0}

    def failing_rename(sources: list[str], targets: list[str]) -> None:
        calls["n"] += 1
        if calls["n"] in (3, 20):  # in the first window's commit and in a later one
            raise OSError("the store went away")
        real_rename(sources, targets)

    monkeypatch.setattr(commit.FileSystems, "rename", staticmethod(failing_rename))
    output = tmp_path / "out"
    stream_into(output, tmp_path)
    assert calls["n"] > 20
    for dataset in ("articles", "entities", "topics"):
        assert len(read_dataset(output, dataset)) == len(read_dataset(one_run, dataset))
    assert len(read_dataset(output, "runs")) == 4
    assert not list((output / "_staging").glob("*"))

    monkeypatch.setattr(commit.FileSystems, "rename", staticmethod(
        lambda sources, targets: (_ for _ in ()).throw(OSError("the store is gone"))
        if "/_index/" in targets[0] else real_rename(sources, targets)))
    stopped, again = tmp_path / "stopped", tmp_path / "again"
    again.mkdir()
    with pytest.raises(Exception, match="the store is gone"):
        stream_into(stopped, again)
    monkeypatch.setattr(commit.FileSystems, "rename", staticmethod(real_rename))
    assert "interrupted commit(s) finished" in commit.recover_output(str(stopped))
    articles = read_dataset(stopped, "articles")
    runs = read_dataset(stopped, "runs")
    assert len(runs) >= 2  # the earlier run and at least the first window
    assert len(articles) == len({a["article_id"] for a in articles}) == sum(
        r["articles_written"] for r in runs)
    assert not list((stopped / "_staging").glob("*"))


def test_the_unbounded_graph_polls_a_folder_and_a_feed(tmp_path: Path) -> None:
    """`newsbeam stream --streaming` with a bounded PeriodicImpulse (--for) on the DirectRunner
    in streaming mode, against a feed served on 127.0.0.1 and a folder. On this runner the
    windows fire when the source ends (not as time passes), so every window is committed at
    the end: what this checks is that every row is committed once, whatever the ticks."""
    inbox, output = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    for seed in SEED_FILES[:2]:
        shutil.copy(seed, inbox)
    rss = "".join(f"<item><title>Entry {n}</title><link>{{base}}/news/{n}</link></item>"
                  for n in (2, 3))
    routes = {f"/news/{n}": page(page_of(SEED_FILES[n])) for n in (2, 3)}
    config = tmp_path / "fast.yaml"
    config.write_text("http: {politeness_delay_s: 0.0, retries: 0}\nprogress_s: 0\n")
    with serve(routes) as server:
        routes["/feed.xml"] = page(f"<rss version='2.0'><channel><title>T</title>"
                                   f"{rss.format(base=server.base)}</channel></rss>",
                                   "application/rss+xml")
        status = cli.main(["stream", "--streaming", "--every", "2", "--for", "6",
                           "--config", str(config), "--input", f"{inbox}/*.txt",
                           "--feed", f"{server.base}/feed.xml", "--allow-private-hosts",
                           "--output", str(output)])
    assert status == 0
    articles = read_dataset(output, "articles")
    assert len(articles) == len({a["article_id"] for a in articles}) == 4
    assert sorted(a["url"] for a in articles if a["url"]) == [
        f"{server.base}/news/2", f"{server.base}/news/3"]
    assert server.hits["/news/2"] == server.hits["/news/3"] == 1  # polled 3 times, fetched once
    assert server.hits["/feed.xml"] >= 3
    runs = read_dataset(output, "runs")
    assert runs and {r["mode"] for r in runs} == {"stream"}
    assert sum(r["articles_written"] for r in runs) == 4
    assert len(read_dataset(output, "entities")) > 50
    assert not list((output / "_staging").glob("*"))


def test_the_unbounded_graph_translates_for_dataflow() -> None:
    """Dataflow's runner translates and validates the unbounded graph without submitting it
    (--dry_run, offline): a step Dataflow cannot run would fail here."""
    config = {**load_config(), "output": "gs://bucket/newsbeam",
              "inputs": ["gs://bucket/inbox/*.html"],
              "feeds": [{"url": "https://example.org/rss", "name": "", "fetch_pages": True,
                         "max_items": 0}]}
    settings = run_settings(config)
    options = PipelineOptions([
        "--streaming", "--runner=DataflowRunner", "--dry_run=True", "--project=newsbeam-test",
        "--region=europe-west1", "--temp_location=gs://bucket/tmp"])
    pipeline = build_unbounded_pipeline(Launch(options, config, settings), lambda p: p | (
        "PollSources" >> PollSources(settings.sources, OutputPaths(settings.output), EVERY,
                                     settings.stream.remember_ids_s, START)))
    assert pipeline.run().state == "DONE"
