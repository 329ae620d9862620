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
from httpserver import page, page_of, serve

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
    """Articles written so far; -1 while a compaction swaps the files just listed (a reader
    beside a stream retries then, see docs/stream.md)."""
    try:
        return len(read_dataset(output, "articles")) if (output / "articles").exists() else 0
    except FileNotFoundError:
        return -1


def test_a_stream_takes_what_is_new_between_batches_once(tmp_path: Path) -> None:
    """Files added and changed and feed entries published while the stream runs come out in
    the next batches, each article once; the output's lease is the stream's the whole time;
    the batches' small files are compacted inside it; a restarted stream reads nothing."""
    inbox, output = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    shutil.copy(SEED_FILES[0], inbox)
    config = tmp_path / "stream.yaml"
    config.write_text("stream: {compact_every_s: 0.5}\nprogress_s: 0\n"
                      "http: {politeness_delay_s: 0.0, retries: 0}\n")
    published = {"entries": 1}

    def rss(_headers: dict, _hit: int) -> tuple:
        items = "".join(f"<item><title>Entry {n}</title><link>{server.base}/news/{n}</link>"
                        f"</item>" for n in range(3, 3 + published["entries"]))
        return 200, {"Content-Type": "application/rss+xml"}, (
            f"<rss version='2.0'><channel><title>T</title>{items}</channel></rss>").encode()

    stop = threading.Event()
    seen: dict[str, object] = {}

    def publish() -> None:
        try:
            wait_for(lambda: article_count(output) == 2)
            try:
                Lease(str(output), LeaseSettings(), "run").acquire()
                seen["lease"] = "taken"
            except LeaseBusy as busy:
                seen["lease"] = str(busy)
            for seed in SEED_FILES[1:3]:
                shutil.copy(seed, inbox)
            published["entries"] = 2
            wait_for(lambda: article_count(output) == 5)
            changed = inbox / SEED_FILES[0].name
            paragraphs = changed.read_text().split("\n\n")  # an update in the body
            changed.write_text("\n\n".join([*paragraphs[:2], UPDATE, *paragraphs[2:]]))
            wait_for(lambda: article_count(output) == 6)
        finally:
            stop.set()

    routes = {"/feed.xml": rss} | {f"/news/{n}": page(page_of(SEED_FILES[n])) for n in (3, 4)}
    with serve(routes) as server:
        args = ["--config", str(config), "--input", f"{inbox}/*.txt", "--feed",
                f"{server.base}/feed.xml", "--allow-private-hosts", "--output", str(output),
                "--every", "1"]
        helper = threading.Thread(target=publish)
        helper.start()
        closing = stream([*args, "--for", "240"], stop)
        helper.join()
        restarted = stream([*args, "--for", "1"])
    assert "another stream" in str(seen["lease"]), seen
    articles = read_dataset(output, "articles")
    assert len(articles) == len({a["article_id"] for a in articles}) == 6
    assert sorted(Path(a["source"]).name for a in articles) == sorted(
        [SEED_FILES[0].name] * 2 + [s.name for s in SEED_FILES[1:3]] + ["feed.xml"] * 2)
    assert sorted(a["url"] for a in articles if a["url"]) == [
        f"{server.base}/news/3", f"{server.base}/news/4"]
    assert server.hits["/news/3"] == server.hits["/news/4"] == 1  # each page fetched once
    updated = [a for a in articles if UPDATE in a["text"]]
    assert len(updated) == 1
    runs = read_dataset(output, "runs")
    assert {r["mode"] for r in runs} == {"stream"}
    assert len(runs) >= 3  # the first file and entry, those added, the changed file
    assert sum(r["articles_written"] for r in runs) == 6
    assert f"({len(runs)} committed)" in closing
    assert "(0 committed); articles written 0, already in output 0, files unchanged 3" in (
        restarted)  # one batch: the feed unchanged, the three files read before
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


def test_stream_flags_are_refused_by_run_and_checked_by_stream(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = str(tmp_path / "out")
    assert cli.main(["run", "--every", "5", "--output", output]) == cli.EXIT_USAGE
    assert cli.main(["stream", "--every", "0", "--output", output]) == cli.EXIT_USAGE
    assert capsys.readouterr().err.splitlines() == [
        "newsbeam: unknown option '--every' for newsbeam run (neither newsbeam nor Apache "
        "Beam knows it); it is a flag of newsbeam stream",
        "newsbeam: --every and --for take a number of seconds above 0"]
