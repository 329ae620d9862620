"""Parquet writing: one file per bundle in bounded row groups, and a commit that moves only the
files a run listed as finished."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from apache_beam.transforms.window import GlobalWindow

from pipeline.commit import commit_run
from transforms.core import schemas as schema
from transforms.storage import parquet_files
from transforms.storage.layout import OutputLayout
from transforms.storage.manifest import write_manifest
from transforms.storage.parquet_files import ParquetFileWriter, read_parquet_rows

INGESTED_AT = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def topic_rows(count: int) -> list[dict]:
    return [{"article_id": f"a{n:04d}", "topic_id": "medtop:11000000", "topic": "politics",
             "score": n / count, "parent_id": None} for n in range(count)]


def write_bundle(prefix: str, dataset: str, rows: list[dict]) -> list[str]:
    """Runs the writer over one bundle, as a runner would; returns the names it outputs."""
    writer = ParquetFileWriter(prefix, dataset)
    writer.start_bundle()
    for row in rows:
        writer.process(row, GlobalWindow())
    return [windowed.value for windowed in writer.finish_bundle()]


def test_writer_bounds_row_groups_and_rows_round_trip(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parquet_files, "ROWS_PER_BATCH", 100)
    monkeypatch.setattr(parquet_files, "ROW_GROUP_BYTES", 1)  # each batch a row group of its own
    rows = topic_rows(250)

    [path] = write_bundle(f"{tmp_path}/topics/part", "topics", rows)

    assert Path(path).parent == tmp_path / "topics" and path.endswith(".parquet")
    parquet = pq.ParquetFile(path)
    assert parquet.schema_arrow == schema.DATASETS["topics"]
    assert [parquet.metadata.row_group(i).num_rows
            for i in range(parquet.num_row_groups)] == [100, 100, 50]
    assert list(read_parquet_rows(path)) == rows


def test_an_empty_bundle_writes_no_file(tmp_path: Path) -> None:
    assert write_bundle(f"{tmp_path}/topics/part", "topics", []) == []
    assert not (tmp_path / "topics").exists()


def test_commit_moves_only_listed_files_and_fills_empty_datasets(tmp_path: Path) -> None:
    output = tmp_path / "out"
    layout = OutputLayout(str(output), INGESTED_AT)
    staging = layout.staging
    prefixes = {dataset: layout.staged_prefix(dataset) for dataset in ("topics", "errors")}
    finished = write_bundle(prefixes["topics"], "topics", topic_rows(3))
    # what a failed attempt of a retried bundle leaves behind: never listed, never committed
    left_behind = write_bundle(prefixes["topics"], "topics", topic_rows(2))

    write_manifest(finished, layout, list(prefixes))

    assert len(commit_run(layout)) == 2  # the topics file, an empty errors file
    assert not Path(staging).exists()
    topics = ds.dataset(output / "topics", format="parquet")
    assert topics.count_rows() == 3
    assert [Path(f).name for f in topics.files] == [Path(finished[0]).name]
    assert Path(left_behind[0]).name not in [Path(f).name for f in topics.files]
    errors = ds.dataset(output / "errors", format="parquet")
    assert errors.count_rows() == 0 and errors.schema == schema.DATASETS["errors"]
