"""Builds the Beam graph (and returns it; running is the launcher's job).

sources -> parse -> clean -> dedupe -> key phrases -> (entities -> resolve || topics) -> write

Each branch writes its own datasets, linked by article_id; no join step holds every article
to line its rows up (on the DirectRunner that would keep the whole run in memory).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline import schema
from transforms.clean import BoilerplateRules, CleanBoilerplate
from transforms.dedupe import DropDuplicates
from transforms.entities import ExtractEntities, NameNormalizer
from transforms.fetch import HttpSettings
from transforms.parse import ParseArticles
from transforms.resolve import ResolveEntities
from transforms.sources import ReadSources, is_url
from transforms.topics import ExtractTopics, KeyPhrases
from transforms.write import WriteDatasets, scratch_prefix


def written_rows(pipeline: beam.Pipeline, output: str, dataset: str,
                 columns: list[str]) -> beam.PCollection:
    """Rows an earlier run wrote to OUTPUT/<dataset> (none on a first run)."""
    pattern = f"{output.rstrip('/')}/{dataset}/**.parquet"
    label = "".join(part.capitalize() for part in dataset.split("_"))
    if not FileSystems.match([pattern])[0].metadata_list:
        return pipeline | f"NoWritten{label}" >> beam.Create([])
    return pipeline | f"ReadWritten{label}" >> beam.io.ReadFromParquet(pattern, columns=columns)


def add_stages(pipeline: beam.Pipeline, config: dict[str, Any],
               ingested_at: datetime) -> dict[str, beam.PCollection]:
    """Adds every stage to `pipeline`; returns the named PCollections (for tests to inspect)."""
    limits, entities, output = config["limits"], config["entities"], config["output"]
    feed_urls = [f for f in config["feeds"] if is_url(f["url"])]
    patterns = config["inputs"] + [f["url"] for f in config["feeds"] if not is_url(f["url"])]
    written_ids = (written_rows(pipeline, output, "articles", ["article_id"])
                   | "WrittenIds" >> beam.Map(lambda row: row["article_id"]))
    source_inputs = {"existing_ids": written_ids}
    if feed_urls:  # earlier feed state is only read by runs that fetch feeds
        source_inputs["feed_state"] = written_rows(pipeline, output, "feed_state",
                                                   list(schema.FEED_STATE.names))
    sources = source_inputs | "ReadSources" >> ReadSources(
        patterns, feed_urls, HttpSettings.from_config(config), ingested_at)
    documents, source_errors = sources["documents"], sources["errors"]
    articles, parse_errors = documents | "ParseArticles" >> ParseArticles(
        config["extraction"], limits["extraction_timeout_s"])
    clean_articles, clean_errors = articles | "CleanBoilerplate" >> CleanBoilerplate(
        BoilerplateRules.from_config(config["boilerplate"]), config["min_words"])
    new_articles, dedupe_errors = (
        {"articles": clean_articles, "existing": written_ids}
        | "DropDuplicates" >> DropDuplicates()
    )
    unique_articles, keyphrase_errors = new_articles | "KeyPhrases" >> KeyPhrases(
        config["topics"]["keyphrases"])
    normalizer = NameNormalizer.from_config(entities["name_particles"],
                                            entities["aliases"]["same_entity"])
    article_mentions, entity_errors = unique_articles | "ExtractEntities" >> ExtractEntities(
        entities["backend"], entities["model"], entities["labels"], entities["batch_size"],
        normalizer)
    resolved = {"mentions": article_mentions, "earlier_aliases": written_rows(
        pipeline, output, "entity_aliases", ["entity_id", "label", "alias", "mentions"])
    } | "ResolveEntities" >> ResolveEntities(
        normalizer, scratch_prefix(output, ingested_at, "entities"))
    entity_mentions = resolved["mentions"]
    topic_scores, topic_errors = unique_articles | "ExtractTopics" >> ExtractTopics(
        config["topics"])
    errors = (
        (source_errors, parse_errors, clean_errors, dedupe_errors, keyphrase_errors,
         entity_errors, topic_errors)
        | "AllErrors" >> beam.Flatten()
    )
    datasets = {"articles": unique_articles, "entities": entity_mentions, "topics": topic_scores,
                "entity_aliases": resolved["aliases"], "errors": errors}
    if sources["feed_state"] is not None:
        datasets["feed_state"] = sources["feed_state"]
    rows = datasets | "WriteDatasets" >> WriteDatasets(
        output, ingested_at, config["partition_by_date"])
    return {"clean_articles": unique_articles, "entity_mentions": entity_mentions,
            "entity_aliases": resolved["aliases"], "topic_scores": topic_scores,
            "errors": errors, "rows": rows}


def build_pipeline(options: PipelineOptions, config: dict[str, Any],
                   ingested_at: datetime) -> beam.Pipeline:
    pipeline = beam.Pipeline(options=options)
    add_stages(pipeline, config, ingested_at)
    return pipeline
