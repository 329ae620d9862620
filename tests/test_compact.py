"""`newsbeam compact`: the same rows in fewer files; a compaction stopped at any point leaves
every row in place, and the next one finishes it; dedupe keeps working."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import read_dataset, run_cli, seeds_in_three_runs

from pipeline import cli, compact
from transforms.storage.index import bucket_files_under
from transforms.storage.layout import OutputPaths

pytestmark = pytest.mark.slow
DATASETS = ("articles", "entities", "topics", "entity_aliases", "errors")


def rows(output: Path) -> dict[str, Counter]:
    """Each dataset's rows as a multiset."""
    return {name: Counter(repr(sorted(row.items())) for row in read_dataset(output, name))
            for name in DATASETS}


def data_files(output: Path, dataset: str) -> list[Path]:
    return sorted((output / dataset).rglob("*.parquet"))


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An output written by three runs (seeds 000-001, 002-003, 004): three files a dataset."""
    work = tmp_path_factory.mktemp("three-runs")
    output = work / "out"
    for folder in seeds_in_three_runs(work):
        result = run_cli("--input", f"{folder}/*.txt", "--output", str(output))
        assert result.returncode == 0, result.stderr[-3000:]
    return output


@pytest.fixture
def output(three_runs: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "out"
    shutil.copytree(three_runs, copy)
    return copy


def test_compaction_keeps_every_row_in_fewer_files(output: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    before = rows(output)
    assert all(len(data_files(output, name)) == 3 for name in DATASETS)
    index_files = len(bucket_files_under(f"{output}/_index/entity_forms"))
    assert cli.main(["compact", str(output)]) == 0
    assert capsys.readouterr().out.startswith(
        "newsbeam compact: articles 3 -> 1 files, entities 3 -> 1 files, entity_aliases 3 -> 1 "
        "files, errors 3 -> 1 files, feed_state 3 -> 1 files, runs 3 -> 1 files, stories 3 -> "
        "1 files, story_members 3 -> 1 files, topics 3 -> 1 files; index buckets merged ")
    assert rows(output) == before
    assert all(len(data_files(output, name)) == 1 for name in DATASETS)
    assert len(bucket_files_under(f"{output}/_index/entity_forms")) < index_files
    assert not list((output / "_staging").iterdir())
    again = run_cli("--output", str(output))  # every seed again: all already written
    assert "articles written 0, already in output 5" in again.stdout
    assert rows(output) == before


@pytest.mark.parametrize("stop_after", [1, 4, 9])
def test_an_interrupted_compaction_loses_nothing_and_the_next_finishes_it(
        output: Path, monkeypatch: pytest.MonkeyPatch, stop_after: int) -> None:
    """Stopped after the journal, 1, 4 or 9 file moves and deletions into applying it (the
    merged files of some datasets moved in, their replaced files not all deleted yet): no row
    is missing, and the next compaction finishes the job."""
    before = rows(output)
    operations = {"count": 0}
    real_rename, real_delete = compact.FileSystems.rename, compact.FileSystems.delete

    def counted(real: Any) -> Any:
        def operation(*args: Any) -> Any:
            operations["count"] += 1
            if operations["count"] > stop_after:
                raise KeyboardInterrupt("killed")
            return real(*args)
        return operation

    monkeypatch.setattr(compact.FileSystems, "rename", counted(real_rename))
    monkeypatch.setattr(compact.FileSystems, "delete", counted(real_delete))
    with pytest.raises(KeyboardInterrupt):
        compact.compact(str(output))
    monkeypatch.undo()
    now = rows(output)
    for name in DATASETS:  # nothing missing; a merged file may stand beside what it replaces
        assert not before[name] - now[name], name
    assert compact.recover(OutputPaths(str(output))) == 1  # as the launcher does first
    compact.compact(str(output))
    assert rows(output) == before
    assert all(len(data_files(output, name)) == 1 for name in DATASETS)


@pytest.mark.parametrize(("step", "recovered"), [("_write_merged", 0), ("_apply", 1)])
def test_a_compaction_stopped_before_moving_anything_changes_nothing_visible(
        output: Path, monkeypatch: pytest.MonkeyPatch, step: str, recovered: int) -> None:
    """Stopped while writing its merged files (no journal: the next compaction drops them and
    starts again) or right after its journal (the next one applies it)."""
    before = {name: data_files(output, name) for name in DATASETS}
    real = getattr(compact, step)
    calls = {"count": 0}

    def killed_on_second_call(*args: Any) -> None:
        calls["count"] += 1
        if calls["count"] == 2 or step == "_apply":
            raise KeyboardInterrupt("killed")
        return real(*args)

    monkeypatch.setattr(compact, step, killed_on_second_call)
    with pytest.raises(KeyboardInterrupt):
        compact.compact(str(output))
    monkeypatch.undo()
    assert {name: data_files(output, name) for name in DATASETS} == before
    assert list((output / "_staging").glob("compact-*"))  # the staged work is still there
    assert compact.recover(OutputPaths(str(output))) == recovered
    compact.compact(str(output))
    assert not list((output / "_staging").glob("compact-*"))
    assert all(len(data_files(output, name)) == 1 for name in DATASETS)


def test_a_file_from_before_new_columns_is_rewritten_with_them(
        output: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An output written before articles had authors and tags, in one file (nothing to merge):
    compaction gives it the columns (empty lists, nulls), so every reader sees one schema."""
    import pyarrow.parquet as pq

    from transforms.core.schemas import ARTICLES

    assert cli.main(["compact", str(output), "--dataset", "articles"]) == 0
    [path] = data_files(output, "articles")
    pq.write_table(pq.read_table(path).drop_columns(["authors", "credit", "tags"]), path)
    before = {row["article_id"]: row["title"] for row in read_dataset(output, "articles")}
    capsys.readouterr()
    assert cli.main(["compact", str(output), "--dataset", "articles"]) == 0
    assert capsys.readouterr().out.startswith(
        "newsbeam compact: articles 1 -> 1 files; index buckets merged 0; 1 files given the "
        "current columns")
    [path] = data_files(output, "articles")
    assert pq.read_schema(path).names == ARTICLES.names
    articles = read_dataset(output, "articles")
    assert {row["article_id"]: row["title"] for row in articles} == before
    assert all(row["authors"] == [] and row["tags"] == [] and row["credit"] is None
               for row in articles)
