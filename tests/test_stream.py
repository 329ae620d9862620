"""`newsbeam stream`: batches that take what is new (files added or changed, feed entries
published) between them, each once; the lease held for the stream's life; compaction inside
it; failed batches; SIGTERM."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import REPO, SEEDS, read_dataset

from pipeline import cli
from pipeline.lease import Lease, LeaseBusy, LeaseSettings
from pipeline.stream import stream

pytestmark = pytest.mark.slow
SEED_FILES = sorted(SEEDS.glob("*.txt"))
UPDATE = ("Officials said on Tuesday evening that the talks would resume in Geneva next week, "
          "after both delegations had consulted their governments.")


def wait_for(condition: Callable[[], bool], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the stream did not get there in time")
        time.sleep(0.2)


def article_count(output: Path) -> int:
    return len(read_dataset(output, "articles")) if (output / "articles").exists() else 0


def test_a_stream_takes_what_is_new_between_batches_once(tmp_path: Path) -> None:
    """Files added and changed while the stream runs come out in the next batches, each
    article once; the output's lease is the stream's the whole time; the batches' small files
    are compacted inside the stream."""
    inbox, output = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    shutil.copy(SEED_FILES[0], inbox)
    config = tmp_path / "stream.yaml"
    config.write_text("stream: {compact_every_s: 0.5}\nprogress_s: 0\n")
    stop = threading.Event()
    seen: dict[str, object] = {}

    def feed_the_inbox() -> None:
        try:
            wait_for(lambda: article_count(output) == 1)
            try:
                Lease(str(output), LeaseSettings(), "run").acquire()
                seen["lease"] = "taken"
            except LeaseBusy as busy:
                seen["lease"] = str(busy)
            for seed in SEED_FILES[1:3]:
                shutil.copy(seed, inbox)
            wait_for(lambda: article_count(output) == 3)
            changed = inbox / SEED_FILES[0].name
            paragraphs = changed.read_text().split("\n\n")  # an update in the body
            changed.write_text("\n\n".join([*paragraphs[:2], UPDATE, *paragraphs[2:]]))
            wait_for(lambda: article_count(output) == 4)
        finally:
            stop.set()

    helper = threading.Thread(target=feed_the_inbox)
    helper.start()
    closing = stream(["--config", str(config), "--input", f"{inbox}/*.txt", "--output",
                      str(output), "--every", "1", "--for", "240"], stop)
    helper.join()
    assert "another stream" in str(seen["lease"]), seen
    articles = read_dataset(output, "articles")
    assert len(articles) == len({a["article_id"] for a in articles}) == 4
    assert sorted(Path(a["source"]).name for a in articles) == sorted(
        [SEED_FILES[0].name] * 2 + [s.name for s in SEED_FILES[1:3]])
    updated = [a for a in articles if UPDATE in a["text"]]
    assert len(updated) == 1
    runs = read_dataset(output, "runs")
    assert {r["mode"] for r in runs} == {"stream"}
    assert len(runs) >= 3  # the first file, the two added, the changed one
    assert sum(r["articles_written"] for r in runs) == 4
    assert "(3 committed)" in closing or f"({len(runs)} committed)" in closing
    files = list((output / "articles").rglob("*.parquet"))
    assert len(files) < len(runs), files  # merged between batches
    assert not list((output / "_lease").iterdir())


def test_failed_batches_commit_nothing_and_three_in_a_row_stop_the_stream(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import transforms.clean as clean

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug in cleaning")

    monkeypatch.setattr(clean, "clean_article", broken)
    inbox, output = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    shutil.copy(SEED_FILES[0], inbox)
    config = tmp_path / "strict.yaml"
    config.write_text("limits: {max_unexpected_failures: 0}\nprogress_s: 0\n")
    status = cli.main(["stream", "--config", str(config), "--input", f"{inbox}/*.txt",
                       "--output", str(output), "--every", "0.5", "--for", "120"])
    captured = capsys.readouterr()
    assert status == 1
    assert captured.out.count("the run failed, nothing committed") == 3
    [line] = [line for line in captured.err.splitlines() if line.startswith("newsbeam:")]
    assert "the stream stopped: 3 batches in a row failed" in line
    assert not (output / "articles").exists()
    assert not list((output / "_lease").iterdir())


def test_sigterm_finishes_the_batch_in_progress_and_exits_zero(tmp_path: Path) -> None:
    inbox, output = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    for seed in SEED_FILES:
        shutil.copy(seed, inbox)
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "stream", "--input", f"{inbox}/*.txt", "--output",
         str(output), "--every", "60"], cwd=REPO, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: (output / "_staging").exists() and any(
            (output / "_staging").iterdir()), timeout_s=120)  # the first batch is under way
        process.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        out, err = process.communicate(timeout=90)
    finally:
        process.kill()
    assert process.returncode == 0, err[-3000:]
    assert time.monotonic() - sent < 60 + 30
    assert "SIGTERM received; finishing the batch in progress" in out
    assert "stopped after 1 batches" in out
    assert article_count(output) == 5
    assert not list((output / "_lease").iterdir())


def test_stream_flags_are_refused_by_run_and_streaming_runners_are_not_yet_taken(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = str(tmp_path / "out")
    assert cli.main(["run", "--every", "5", "--output", output]) == cli.EXIT_USAGE
    assert cli.main(["stream", "--every", "0", "--output", output]) == cli.EXIT_USAGE
    assert cli.main(["stream", "--streaming", "--output", output]) == cli.EXIT_USAGE
    assert capsys.readouterr().err.splitlines() == [
        "newsbeam: unknown option '--every' for newsbeam run (neither newsbeam nor Apache "
        "Beam knows it); it is a flag of newsbeam stream",
        "newsbeam: --every and --for take a number of seconds above 0",
        "newsbeam: --streaming: the unbounded graph for streaming runners is not built yet; "
        "without --streaming, newsbeam stream runs batches on this runner"]
