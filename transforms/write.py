"""Write: each branch's records as rows of their Parquet dataset, with its explicit schema,
staged until the whole run has succeeded and then committed."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

import apache_beam as beam

from transforms.core import metrics
from transforms.core.language import primary_language
from transforms.core.records import Article, ErrorRecord
from transforms.core.text import word_count
from transforms.storage.history import ARTICLE_IDS
from transforms.storage.index import WriteIndexes
from transforms.storage.layout import CombinePerRun, OutputLayout, run_time_in
from transforms.storage.manifest import write_manifest
from transforms.storage.parquet_files import schema_row, write_parquet


def article_row(article: Article, ingested_at: datetime,
                duplicate_of: str | None = None) -> dict[str, Any]:
    metadata = article.metadata
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
        "authors": list(metadata.authors),
        "credit": metadata.credit,
        "modified_at": metadata.modified_at,
        "published_at_source": metadata.published_at_source,
        "image_url": metadata.image_url,
        "description": metadata.description,
        "site_name": metadata.site_name,
        "tags": list(metadata.tags),
    }


def error_row(error: ErrorRecord, ingested_at: datetime) -> dict[str, Any]:
    return {**asdict(error), "ingested_at": ingested_at}


class ArticleRows(beam.DoFn):
    """Articles as rows of the articles dataset, counted as written."""

    def __init__(self, ingested_at: datetime) -> None:
        self.ingested_at = ingested_at
        self.written = metrics.counter(metrics.ARTICLES_WRITTEN)
        self.languages: dict[str, Any] = {}

    def process(self, article: Article, first_copies,  # untyped: Beam reads hints as types
                window=beam.DoFn.WindowParam):
        self.written.inc()
        language = primary_language(article.language)
        if language not in self.languages:
            self.languages[language] = metrics.counter(metrics.language_of_article(language))
        self.languages[language].inc()
        yield article_row(article, run_time_in(window, self.ingested_at),
                          first_copies.get(article.article_id))


# WriteDatasets' output besides the rows: the layout of each run (window) whose manifest is
# written, ready to commit.
MANIFESTS = "manifests"


class WriteDatasets(beam.PTransform):
    """{'articles', 'entities', 'topics', 'entity_aliases', 'errors', and 'feed_state' for runs
    that fetch feeds (others write it empty)} -> Parquet datasets under OUTPUT/<dataset>/, one
    per input, linked by article_id; 'index_files': the paths of index files other stages
    staged, committed with the datasets; 'duplicate_of': (article_id, first near copy's
    article_id) pairs.

    Each branch writes its own rows as they come: no join holds every article's text and
    mentions in memory to line them up (the warehouse joins on article_id).

    Each run writes new files named after its start time, under ingest_date=YYYY-MM-DD/ when
    partitioning is on, first into the run's staging folder (which readers skip). Last, the
    run lists its finished files in that folder's manifest; the launcher moves those into the
    datasets (pipeline/commit.py) once the whole run has succeeded, so an interrupted run leaves
    nothing half-written where readers look. The run's article ids also go to their index
    under OUTPUT/_index/, committed with the datasets.

    In a stream's unbounded graph each fixed window is a run of its own: its rows carry the
    window's start as their run time, its files go to the window's staging folder, and its
    manifest is written once the window's files are."""

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
            "errors": inputs["errors"] | "ErrorRows" >> beam.Map(
                lambda error, window=beam.DoFn.WindowParam: error_row(
                    error, run_time_in(window, ingested_at))),
        }
        layout = self.layout
        # feed_state too when no feed is read: every dataset can be queried after a first run
        datasets = list(dict.fromkeys([*rows, "feed_state"]))
        files = [dataset_rows | f"Write{dataset.capitalize()}" >> write_parquet(
                     lambda window, dataset=dataset: layout.in_window(window).staged_prefix(
                         dataset), dataset)
                 for dataset, dataset_rows in rows.items()]
        files.append(index_files)
        # the ids the next runs skip, at the cost of their keys
        files.append({ARTICLE_IDS.name: rows["articles"]
                      | "ArticleIdRows" >> beam.Map(ARTICLE_IDS.index_row)}
                     | "IndexArticleIds" >> WriteIndexes(
                         self.layout, {ARTICLE_IDS.name: ARTICLE_IDS}))
        every_file = files | "AllFiles" >> beam.Flatten()
        manifests = (every_file
                     | "ListFiles" >> CombinePerRun(beam.combiners.ToListCombineFn())
                     | "WriteManifest" >> beam.Map(
                         lambda paths, window=beam.DoFn.WindowParam: write_manifest(
                             paths, layout.in_window(window), datasets)))
        return {**rows, MANIFESTS: manifests}
