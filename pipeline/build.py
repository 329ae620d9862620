"""Builds the Beam graph (and returns it; running is the launcher's job).

sources -> parse -> clean -> key phrases -> entities -> dedupe -> (resolve || topics ||
near copies) -> stories (which also reads the resolved entities and topics for its rows) ->
write

Key phrases and entities are found before duplicates are dropped: those steps run beside the
page extraction process (see ParseDocument), which extracts pages ahead while they work, so
the two models' time overlaps; dedupe keeps the mentions of the articles it keeps.

Each branch writes its own datasets, linked by article_id; no join step holds every article
to line its rows up (on the DirectRunner that would keep the whole run in memory).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.transforms.core import WindowInto
from apache_beam.transforms.window import FixedWindows

from pipeline.config import RunSettings
from transforms import near_copies, resolve, sources, stories
from transforms.clean import CleanBoilerplate
from transforms.dedupe import DropDuplicates
from transforms.entities import ExtractEntities
from transforms.keyphrases import KeyPhrases
from transforms.near_copies import NearCopies
from transforms.parse.stage import ParseArticles
from transforms.resolve import ResolveEntities
from transforms.sources import ReadSources
from transforms.storage.history import ARTICLE_IDS, FirstSight
from transforms.storage.index import IndexKind, WriteIndexes
from transforms.storage.layout import OutputLayout
from transforms.stories import BuildStories
from transforms.topics import EncodeLeads, ExtractTopics
from transforms.write import WriteDatasets

# Every index under OUTPUT/_index/, by name: each stage declares its own.
INDEX_KINDS: dict[str, IndexKind] = {kind.name: kind for kind in (
    ARTICLE_IDS, *sources.INDEX_KINDS, *resolve.INDEX_KINDS, *near_copies.INDEX_KINDS,
    *stories.INDEX_KINDS)}


# What reads a stream's documents: a function of the pipeline that gives what ReadSources
# gives ({'documents': {origin: RawDocuments}, 'errors', 'feed_state', 'index_rows'}), every
# element stamped with the time it was read (PollSources; TestStream in tests).
Source = Callable[[beam.Pipeline], dict[str, Any]]


def add_stages(pipeline: beam.Pipeline, settings: RunSettings, layout: OutputLayout,
               source: Source | None = None) -> dict[str, beam.PCollection]:
    """Adds every stage to `pipeline`; returns the named PCollections (for tests to inspect).

    `source` None: a run's graph, ReadSources over the config's inputs and feeds, everything
    in one global window committed by the launcher. Given: a stream's unbounded graph over
    what `source` reads. The stages are the same; an article whose id the stream has seen is
    dropped in per-key state before the windows (FirstSight), and from there on every
    PCollection is in fixed windows of stream.every_s, each window a run of its own (its
    history lookups, names, near copies, stories, files and manifest), committed by
    CommitWindows."""
    if source is None:
        read = pipeline | "ReadSources" >> ReadSources(settings.sources, layout.output,
                                                            layout.run_time)
    else:
        read = source(pipeline)
    articles, parse_errors = read["documents"] | "ParseArticles" >> ParseArticles(
        settings.parse)
    clean_articles, clean_errors = articles | "CleanBoilerplate" >> CleanBoilerplate(
        settings.clean)
    if source is not None:
        windows = WindowInto(FixedWindows(settings.stream.every_s))
        clean_articles = (clean_articles
                          | "Windows" >> windows
                          | "FirstSight" >> FirstSight(settings.stream.remember_ids_s,
                                                       lambda article: article.article_id))
        parse_errors, clean_errors = (
            parse_errors | "ParseErrorWindows" >> windows,
            clean_errors | "CleanErrorWindows" >> windows)
        read = {**read, "errors": read["errors"] | "SourceErrorWindows" >> windows,
                "index_rows": {name: rows | f"IndexRowWindows[{name}]" >> windows
                               for name, rows in read["index_rows"].items()},
                "feed_state": None if read["feed_state"] is None else (
                    read["feed_state"] | "FeedStateWindows" >> windows)}
    phrased_articles, keyphrase_errors = clean_articles | "KeyPhrases" >> KeyPhrases(
        settings.keyphrases)
    recognised, entity_errors = phrased_articles | "ExtractEntities" >> ExtractEntities(
        settings.entities)
    encoded_articles = phrased_articles | "EncodeLeads" >> EncodeLeads(settings.topics)
    unique_articles, article_mentions, dedupe_errors = (
        {"articles": encoded_articles, "entities": recognised}
        | "DropDuplicates" >> DropDuplicates(layout.output))
    near = unique_articles | "NearCopies" >> NearCopies(settings.near_copies, layout.output)
    resolved = article_mentions | "ResolveEntities" >> ResolveEntities(
        settings.entities.normalizer, layout)
    entity_mentions = resolved["mentions"]
    topic_scores, topic_errors = unique_articles | "ExtractTopics" >> ExtractTopics(
        settings.topics)
    story_rows = {"articles": unique_articles, "entities": entity_mentions,
                  "topics": topic_scores} | "BuildStories" >> BuildStories(
                      settings.stories, layout.output, layout.run_time)
    index_files = ({**read["index_rows"], **resolved["index_rows"], **near["index_rows"],
                    **story_rows["index_rows"]}
                   | "WriteIndexes" >> WriteIndexes(layout, INDEX_KINDS))
    errors = (
        (read["errors"], parse_errors, clean_errors, dedupe_errors, keyphrase_errors,
         entity_errors, topic_errors)
        | "AllErrors" >> beam.Flatten()
    )
    datasets = {"articles": unique_articles, "entities": entity_mentions, "topics": topic_scores,
                "entity_aliases": resolved["aliases"], "errors": errors,
                "story_members": story_rows["story_members"], "stories": story_rows["stories"],
                "index_files": index_files,
                "duplicate_of": near["duplicate_of"]}
    if read["feed_state"] is not None:
        datasets["feed_state"] = read["feed_state"]
    rows = datasets | "WriteDatasets" >> WriteDatasets(layout)
    return {"clean_articles": unique_articles, "entity_mentions": entity_mentions,
            "entity_aliases": resolved["aliases"], "topic_scores": topic_scores,
            "errors": errors, "rows": rows}


def build_pipeline(options: PipelineOptions, settings: RunSettings,
                   layout: OutputLayout) -> beam.Pipeline:
    pipeline = beam.Pipeline(options=options)
    add_stages(pipeline, settings, layout)
    return pipeline
