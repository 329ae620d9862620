"""The whole graph on a TestPipeline: seeds plus bad inputs, checked stage by stage."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from conftest import SEEDS, read_dataset, seed_expectations

from pipeline.build import add_stages
from pipeline.commit import commit_run
from pipeline.config import run_settings

pytestmark = pytest.mark.slow


def test_whole_graph_on_seeds_and_bad_inputs(tmp_path: Path, config: dict[str, Any]) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    for seed in SEEDS.glob("*.txt"):
        shutil.copy(seed, inputs / seed.name)
    shutil.copy(SEEDS / "000_f18e94bea9b18e7b.txt", inputs / "zz_copy_of_000.txt")
    (inputs / "empty.txt").write_bytes(b"")
    (inputs / "furniture.txt").write_text("Headline\n\nShow Comments\n\nRecent Posts\n")
    output = tmp_path / "out"
    settings = run_settings({**config, "inputs": [f"{inputs}/*.txt"], "output": str(output)})
    titles = sorted(expected["title"] for expected in seed_expectations().values())

    layout = settings.layout(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    with TestPipeline() as p:
        stages = add_stages(p, settings, layout)
        assert_that(stages["clean_articles"] | "Titles" >> beam.Map(lambda a: a.title),
                    equal_to(titles), label="CleanTitles")
        assert_that(stages["errors"] | "ErrorKeys" >> beam.Map(
            lambda e: (Path(e.source).name, e.stage, e.error_type)), equal_to([
                ("empty.txt", "sources", "BadInput"),
                ("furniture.txt", "clean", "BadInput"),
                ("zz_copy_of_000.txt", "dedupe", "BadInput"),
            ]), label="Errors")
        assert_that(stages["entity_mentions"] | "MentionArticles" >> beam.Map(
                        lambda row: row["article_id"]) | "EachArticle" >> beam.Distinct()
                    | "ArticlesNamed" >> beam.combiners.Count.Globally(),
                    equal_to([5]), label="EveryArticleHasEntities")
        assert_that(stages["entity_mentions"] | "Hamas" >> beam.Filter(
                        lambda row: row["name"] == "Hamas" and row["label"] == "ORG")
                    | "HamasArticles" >> beam.Map(lambda row: row["article_id"])
                    | "EachHamasArticle" >> beam.Distinct()
                    | "CountHamas" >> beam.combiners.Count.Globally(),
                    equal_to([5]), label="HamasNamedInEach")
        assert_that(stages["topic_scores"] | "TopicArticles" >> beam.Map(lambda t: t.article_id)
                    | beam.Distinct() | beam.combiners.Count.Globally(),
                    equal_to([5]), label="EveryArticleHasTopics")

    assert not (output / "articles").exists()  # nothing visible before the commit
    # mentions waited for their canonical names on disk, in the run's scratch folder
    assert list(output.glob("_staging/run-*/_scratch/entities/*.parquet"))
    # one file per dataset (feed_state empty: the run fetches no feeds), no scratch file, and
    # one index file per bucket the run's article ids and entities fall in
    committed = [path.removeprefix(f"{output}/") for path in commit_run(layout)]
    datasets = sorted(path.split("/")[0] for path in committed if not path.startswith("_"))
    assert datasets == ["articles", "entities", "entity_aliases", "errors", "feed_state",
                        "stories", "story_members", "topics"]
    ids_index = [path for path in committed if path.startswith("_index/article_ids/bucket=")]
    assert len(ids_index) == len({a["article_id"][:2] for a in read_dataset(output, "articles")})
    assert all("_scratch" not in path for path in committed)
    assert read_dataset(output, "feed_state") == []  # there to query, with no rows
    assert list((output / "_staging").iterdir()) == []  # the run folder is gone
    articles = read_dataset(output, "articles")
    assert sorted(a["title"] for a in articles) == titles
    assert {a["ingest_date"] for a in articles} == {"2026-01-02"}
    texts = {a["article_id"]: a["text"] for a in articles}
    entities = read_dataset(output, "entities")
    assert entities and all(texts[e["article_id"]][e["start"]:e["end"]] == e["text"]
                            for e in entities)
    errors = read_dataset(output, "errors")
    assert sorted(Path(e["source"]).name for e in errors) == [
        "empty.txt", "furniture.txt", "zz_copy_of_000.txt"]
    assert all(e["ingested_at"] == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC) for e in errors)
