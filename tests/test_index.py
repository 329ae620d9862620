"""Indexes under OUTPUT/_index: lookups read only their keys' row groups, merges keep every row
once (even when interrupted), and an output written before indexes gets them built once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.build import INDEX_KINDS
from transforms.core.schemas import ARTICLES
from transforms.resolve import ENTITY_FORMS
from transforms.sources.fetching import FEED_STATE
from transforms.storage import index
from transforms.storage.history import ARTICLE_IDS
from transforms.storage.index import (
    BEGINNING,
    bucket_files,
    ensure_indexes,
    live_files,
    merge_bucket,
    read_bucket,
    write_index_file,
)
from transforms.storage.layout import OutputLayout

RUN = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def ids(count: int, prefix: str = "ab") -> list[str]:
    return [f"{prefix}{n:030d}" for n in range(count)]


def stamp(n: int) -> str:
    return f"202601{n:02d}T000000000000Z"


def test_lookup_reads_only_the_row_groups_of_its_keys(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = f"{tmp_path}/bucket=ab"
    write_index_file(folder, ARTICLE_IDS, pa.table({"key": ids(5000)}), stamp(1), stamp(1))
    reads = []
    real = pq.ParquetFile.read_row_group
    monkeypatch.setattr(pq.ParquetFile, "read_row_group",
                        lambda self, i, *a, **k: reads.append(i) or real(self, i, *a, **k))
    wanted = [ids(5000)[10], ids(5000)[4999], "ab-never-written"]
    found = read_bucket(folder, ARTICLE_IDS, wanted).column("key").to_pylist()
    assert sorted(found) == sorted(wanted[:2])
    assert reads == [0, 4]  # 5 row groups of 1024 keys: only the two holding a wanted key


def test_merge_keeps_each_row_once_even_when_interrupted(tmp_path: Path) -> None:
    folder = f"{tmp_path}/bucket=cd"
    form = {"key": "cd00000000000000", "label": "PERSON", "alias": "Ann Lee", "mentions": 2}
    for run in range(1, 10):  # nine runs each counted the same spelling twice
        write_index_file(folder, ENTITY_FORMS, pa.Table.from_pylist([form]), stamp(run),
                         stamp(run))
    before = bucket_files(folder)
    assert read_bucket(folder, ENTITY_FORMS).column("mentions").to_pylist() == [18]
    # a merge stopped after writing its file, before deleting the nine: nothing counts twice
    merged = write_index_file(folder, ENTITY_FORMS, read_bucket(folder, ENTITY_FORMS),
                              stamp(1), stamp(9))
    assert live_files(bucket_files(folder)) == [merged]
    assert read_bucket(folder, ENTITY_FORMS).column("mentions").to_pylist() == [18]
    # nine more runs: the next merge finishes the job, one file left, every count once
    for run in range(10, 19):
        write_index_file(folder, ENTITY_FORMS, pa.Table.from_pylist([form]), stamp(run),
                         stamp(run))
    assert merge_bucket(folder, ENTITY_FORMS)
    assert len(bucket_files(folder)) == 1 and not set(before) & set(bucket_files(folder))
    assert read_bucket(folder, ENTITY_FORMS).column("mentions").to_pylist() == [18 + 9 * 2]


def test_feed_state_keeps_the_latest_row_per_feed(tmp_path: Path) -> None:
    folder = f"{tmp_path}/bucket=00"
    rows = [{"key": "https://a.example/feed", "etag": f'"v{n}"', "last_modified": None,
             "content_sha256": "0" * 64, "checked_at": datetime(2026, 1, n, tzinfo=UTC)}
            for n in (1, 3, 2)]
    for n, row in enumerate(rows, start=1):
        write_index_file(folder, FEED_STATE, pa.Table.from_pylist([row]), stamp(n), stamp(n))
    [latest] = read_bucket(folder, FEED_STATE, ["https://a.example/feed"]).to_pylist()
    assert latest["etag"] == '"v3"'


def test_an_output_from_before_indexes_gets_them_once(tmp_path: Path) -> None:
    layout = OutputLayout(str(tmp_path / "out"), RUN)
    articles = tmp_path / "out" / "articles" / "ingest_date=2026-01-01"
    articles.mkdir(parents=True)
    written = ids(300, "1f") + ids(200, "e0")
    table = pa.Table.from_pylist([{
        "article_id": article_id, "source": "s.txt", "url": None, "title": "t", "text": "x",
        "published_at": None, "language": None, "word_count": 1, "removed": [],
        "keyphrases": [], "ingested_at": RUN} for article_id in written], schema=ARTICLES)
    pq.write_table(table, articles / "part-old.parquet")
    no_surnames = {"surnames": lambda rows: []}
    assert ensure_indexes(layout, INDEX_KINDS.values(), no_surnames) == {"article_ids": 500}
    assert ensure_indexes(layout, INDEX_KINDS.values(), no_surnames) == {}  # complete: not again
    folders = sorted(Path(layout.output.index_root("article_ids")).glob("bucket=*"))
    assert [f.name for f in folders] == ["bucket=1f", "bucket=e0"]
    found = read_bucket(layout.output.index_bucket("article_ids", "1f"), ARTICLE_IDS,
                        [written[0], written[-1], ids(1, "1f")[0] + "x"])
    assert found.column("key").to_pylist() == [written[0]]
    [path] = bucket_files(layout.output.index_bucket("article_ids", "e0"))
    assert Path(path).name.startswith(f"{BEGINNING}_{layout.stamp}-")


def test_bucket_of_spreads_keys() -> None:
    assert ARTICLE_IDS.bucket_of("9fab") == "9f"
    assert len({FEED_STATE.bucket_of(f"https://a.example/{n}") for n in range(200)}) > 100
    assert index.MAX_FILES_PER_BUCKET == 8


@pytest.mark.parametrize("small_first", [False, True])
def test_merges_leave_a_large_older_file_alone_and_lose_nothing(
        tmp_path: Path, small_first: bool) -> None:
    """Size-tiered: the newest small files are merged, a large older file stays as it is; with
    a small file older still, nothing is hidden behind a merged file's runs."""
    folder = f"{tmp_path}/bucket=ab"
    keys = ids(5000)
    run = 1
    if small_first:
        write_index_file(folder, ARTICLE_IDS, pa.table({"key": ["ab-oldest"]}), stamp(1),
                         stamp(1))
        run = 2
    big = write_index_file(folder, ARTICLE_IDS, pa.table({"key": keys}), stamp(run),
                           stamp(run))
    for later in range(run + 1, run + 10):
        write_index_file(folder, ARTICLE_IDS, pa.table({"key": [f"ab-new-{later}"]}),
                         stamp(later), stamp(later))
    assert merge_bucket(folder, ARTICLE_IDS)
    assert Path(big).exists()  # not rewritten
    assert len(live_files(bucket_files(folder))) == 2 + small_first
    found = read_bucket(folder, ARTICLE_IDS).column("key").to_pylist()
    assert len(found) == 5000 + 9 + small_first
