"""Write: each branch's records as rows of their Parquet dataset, with its explicit schema,
staged until the whole run has succeeded and then committed."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from transforms.core import metrics
from transforms.core.language import primary_language
from transforms.core.records import Article, ErrorRecord
from transforms.core.schemas import DATASETS
from transforms.core.text import word_count
from transforms.storage.history import ARTICLE_IDS
from transforms.storage.index import WriteIndexes
from transforms.storage.layout import COMMITTING, FAILED, OutputLayout
from transforms.storage.parquet_files import schema_row, write_dataset_file, write_parquet


def article_row(article: Article, ingested_at: datetime,
                duplicate_of: str | None = None) -> dict[str, Any]:
    return {
        "article_id": article.article_id,
        "source": article.source,
        "url": article.url,
        "title": article.title,
        "text": article.text,
        "published_at": article.published_at,
        "language": article.language,
        "word_count": word_count(article.text),
        "removed": [{"text": r.text, "reason": r.reason} for r in article.removed],
        "keyphrases": list(article.keyphrases),
        "ingested_at": ingested_at,
        "duplicate_of": duplicate_of,
    }


def error_row(error: ErrorRecord, ingested_at: datetime) -> dict[str, Any]:
    return {**asdict(error), "ingested_at": ingested_at}


class ArticleRows(beam.DoFn):
    """Articles as rows of the articles dataset, counted as written."""

    def __init__(self, ingested_at: datetime) -> None:
        self.ingested_at = ingested_at
        self.written = metrics.counter(metrics.ARTICLES_WRITTEN)
        self.languages: dict[str, Any] = {}

    def process(self, article: Article, first_copies):  # untyped: Beam reads hints as types
        self.written.inc()
        language = primary_language(article.language)
        if language not in self.languages:
            self.languages[language] = metrics.counter(metrics.language_of_article(language))
        self.languages[language].inc()
        yield article_row(article, self.ingested_at, first_copies.get(article.article_id))


def write_manifest(files: list[str], layout: OutputLayout, prefixes: dict[str, str]) -> None:
    """Lists the run's finished files, relative to its staging folder, for `commit_run`;
    a dataset (given by its files' prefix) that got no rows gets an empty file with its
    schema, so every dataset a run writes can be read."""
    files = list(files)
    for dataset, prefix in prefixes.items():
        if not any(file.startswith(f"{prefix}-") for file in files):
            path = f"{prefix}-empty.parquet"
            write_dataset_file(path, dataset, DATASETS[dataset].empty_table())
            files.append(path)
    with FileSystems.create(layout.manifest) as handle:
        relative = sorted(layout.relative_to_staging(file) for file in files)
        handle.write(json.dumps({"files": relative}, indent=1).encode())


def _commit_order(relative: str) -> int:
    """Rows an article links to move before the article; the indexes last of all: a reader
    who sees an article sees its entity and topic rows, and an id is only ever skipped once
    its article is in."""
    if relative.startswith("_index/"):
        return 2
    return 1 if relative.startswith("articles/") else 0


def commit_run(layout: OutputLayout) -> list[str]:
    """Move a finished run's files (those its manifest lists) from its staging folder into the
    datasets and indexes; returns where they went. Every file is complete before it moves, so
    readers never see a partial one, and a file a failed attempt left behind is never
    committed. A marker written first makes the commit resumable: a commit interrupted at any
    point is finished by the next run (recover_runs)."""
    with FileSystems.create(layout.marker(COMMITTING)) as handle:
        handle.write(b"the manifest's files are moving into the output\n")
    return _finish_commit(layout)


def manifest_files(layout: OutputLayout) -> list[str]:
    """The run's finished files, relative to its staging folder."""
    with FileSystems.open(layout.manifest) as handle:
        return json.loads(handle.read())["files"]


def add_to_manifest(layout: OutputLayout, paths: list[str]) -> None:
    """Lists more staged files (written by the launcher after the pipeline) for the commit."""
    files = manifest_files(layout) + [layout.relative_to_staging(path) for path in paths]
    with FileSystems.create(layout.manifest) as handle:
        handle.write(json.dumps({"files": sorted(files)}, indent=1).encode())


def _finish_commit(layout: OutputLayout) -> list[str]:
    """Moves whatever of the manifest's files is still in the staging folder (safe to repeat
    from any point), then removes the folder."""
    relative = sorted(manifest_files(layout), key=_commit_order)
    for path in relative:
        staged, target = layout.staged(path), layout.committed(path)
        if not FileSystems.exists(staged):
            continue  # moved before an interruption
        if FileSystems.exists(target):  # copied before an interruption (object stores)
            FileSystems.delete([staged])
            continue
        folder = target.rsplit("/", 1)[0]
        if not FileSystems.exists(folder):
            FileSystems.mkdirs(folder)
        FileSystems.rename([staged], [target])
    FileSystems.delete([layout.staging])
    return [layout.committed(path) for path in relative]


def recover_runs(layout: OutputLayout) -> tuple[list[tuple[OutputLayout, list[str]]], int]:
    """Finishes the commits that an interrupted run left half done and removes the staging
    folders of runs that never began their commit (their work is done again by the next run);
    folders of failed runs (marked FAILED) stay for inspection. Call it while holding the
    output's lease. Returns (each finished run's layout and files, how many runs were
    undone)."""
    finished, undone = [], 0
    for staging in layout.staging_folders("run"):
        earlier = OutputLayout.of_staging(staging)
        if FileSystems.exists(earlier.marker(COMMITTING)):
            finished.append((earlier, _finish_commit(earlier)))
        elif not FileSystems.exists(earlier.marker(FAILED)):
            FileSystems.delete([staging])
            undone += 1
    return finished, undone


class WriteDatasets(beam.PTransform):
    """{'articles', 'entities', 'topics', 'entity_aliases', 'errors', and 'feed_state' for runs
    that fetch feeds} -> Parquet datasets under OUTPUT/<dataset>/, one per input, linked by
    article_id; 'index_files': the paths of index files other stages staged, committed with
    the datasets; 'duplicate_of': (article_id, first near copy's article_id) pairs.

    Each branch writes its own rows as they come: no join holds every article's text and
    mentions in memory to line them up (the warehouse joins on article_id).

    Each run writes new files named after its start time, under ingest_date=YYYY-MM-DD/ when
    partitioning is on, first into the run's staging folder (which readers skip). Last, the
    run lists its finished files in that folder's manifest; the launcher moves those into the
    datasets with `commit_run` once the whole run has succeeded, so an interrupted run leaves
    nothing half-written where readers look. The run's article ids also go to their index
    under OUTPUT/_index/, committed with the datasets."""

    def __init__(self, layout: OutputLayout) -> None:
        super().__init__()
        self.layout = layout

    def expand(self, inputs: dict[str, beam.PCollection]) -> dict[str, beam.PCollection]:
        ingested_at = self.layout.run_time
        inputs = dict(inputs)
        index_files = inputs.pop("index_files")
        first_copies = beam.pvalue.AsDict(inputs.pop("duplicate_of"))
        rows = {  # datasets given as records become rows; the others are rows already
            **inputs,
            "articles": inputs["articles"] | "ArticleRows" >> beam.ParDo(
                ArticleRows(ingested_at), first_copies),
            "topics": inputs["topics"] | "TopicRows" >> beam.Map(schema_row, "topics"),
            "errors": inputs["errors"] | "ErrorRows" >> beam.Map(error_row, ingested_at),
        }
        prefixes = {dataset: self.layout.staged_prefix(dataset) for dataset in rows}
        files = [dataset_rows | f"Write{dataset.capitalize()}" >> write_parquet(
                     prefixes[dataset], dataset)
                 for dataset, dataset_rows in rows.items()]
        files.append(index_files)
        # the ids the next runs skip, at the cost of their keys
        files.append({ARTICLE_IDS.name: rows["articles"]
                      | "ArticleIdRows" >> beam.Map(ARTICLE_IDS.index_row)}
                     | "IndexArticleIds" >> WriteIndexes(
                         self.layout, {ARTICLE_IDS.name: ARTICLE_IDS}))
        _ = (files
             | "AllFiles" >> beam.Flatten()
             | "ListFiles" >> beam.combiners.ToList()
             | "WriteManifest" >> beam.Map(write_manifest, self.layout, prefixes))
        return rows
