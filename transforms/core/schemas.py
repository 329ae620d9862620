"""Explicit pyarrow schemas of every dataset newsbeam writes (never inferred from data)."""

import pyarrow as pa

UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")

ARTICLES = pa.schema([
    pa.field("article_id", pa.string(), nullable=False),
    pa.field("source", pa.string(), nullable=False),
    pa.field("url", pa.string()),
    pa.field("title", pa.string()),
    pa.field("text", pa.string(), nullable=False),
    pa.field("published_at", UTC_TIMESTAMP),
    pa.field("language", pa.string()),
    pa.field("word_count", pa.int64(), nullable=False),
    pa.field("removed", pa.list_(pa.struct([
        pa.field("text", pa.string()),
        pa.field("reason", pa.string()),
    ])), nullable=False),
    pa.field("keyphrases", pa.list_(pa.string()), nullable=False),
    pa.field("ingested_at", UTC_TIMESTAMP, nullable=False),
    pa.field("duplicate_of", pa.string()),  # the first near copy's article_id
    pa.field("authors", pa.list_(pa.string()), nullable=False),  # people, one name each
    pa.field("credit", pa.string()),  # agency or outlet credited ("Associated Press")
    pa.field("modified_at", UTC_TIMESTAMP),
    # which evidence gave published_at: feed, sitemap, json-ld, meta, url or text
    pa.field("published_at_source", pa.string()),
    pa.field("image_url", pa.string()),
    pa.field("description", pa.string()),
    pa.field("site_name", pa.string()),
    pa.field("tags", pa.list_(pa.string()), nullable=False),  # the publisher's own
])

ENTITIES = pa.schema([
    pa.field("article_id", pa.string(), nullable=False),
    pa.field("entity_id", pa.string(), nullable=False),
    pa.field("name", pa.string(), nullable=False),
    pa.field("label", pa.string(), nullable=False),
    pa.field("text", pa.string(), nullable=False),
    pa.field("start", pa.int64(), nullable=False),
    pa.field("end", pa.int64(), nullable=False),
])

TOPICS = pa.schema([
    pa.field("article_id", pa.string(), nullable=False),
    pa.field("topic_id", pa.string(), nullable=False),
    pa.field("topic", pa.string(), nullable=False),
    pa.field("score", pa.float64(), nullable=False),
    pa.field("parent_id", pa.string()),
])

ENTITY_ALIASES = pa.schema([
    pa.field("entity_id", pa.string(), nullable=False),
    pa.field("name", pa.string(), nullable=False),
    pa.field("label", pa.string(), nullable=False),
    pa.field("alias", pa.string(), nullable=False),
    pa.field("mentions", pa.int64(), nullable=False),
])

FEED_STATE = pa.schema([
    pa.field("url", pa.string(), nullable=False),
    pa.field("etag", pa.string()),
    pa.field("last_modified", pa.string()),
    pa.field("content_sha256", pa.string(), nullable=False),
    pa.field("checked_at", UTC_TIMESTAMP, nullable=False),
])

ERRORS = pa.schema([
    pa.field("source", pa.string(), nullable=False),
    pa.field("stage", pa.string(), nullable=False),
    pa.field("error_type", pa.string(), nullable=False),
    pa.field("message", pa.string(), nullable=False),
    pa.field("ingested_at", UTC_TIMESTAMP, nullable=False),
])

STORY_MEMBERS = pa.schema([
    pa.field("article_id", pa.string(), nullable=False),
    pa.field("story_id", pa.string(), nullable=False),
    # the centroid similarity at which the article joined its story (null: it is a story of its
    # own, or it moved with a story merged into another)
    pa.field("similarity", pa.float64()),
    pa.field("assigned_at", UTC_TIMESTAMP, nullable=False),
])

STORIES = pa.schema([
    pa.field("story_id", pa.string(), nullable=False),
    pa.field("first_seen", UTC_TIMESTAMP, nullable=False),  # its first article's time
    pa.field("last_seen", UTC_TIMESTAMP, nullable=False),
    pa.field("article_count", pa.int64(), nullable=False),
    pa.field("outlet_count", pa.int64(), nullable=False),  # URL hosts, else inputs
    pa.field("headline", pa.string()),  # of the article most like the story's centroid
    pa.field("top_entities", pa.list_(pa.string()), nullable=False),
    pa.field("top_topic_id", pa.string()),
    pa.field("top_topic", pa.string()),
    pa.field("merged_into", pa.string()),  # set on a story's last row once merged
    pa.field("run_time", UTC_TIMESTAMP, nullable=False),
])

_COUNT = pa.struct([pa.field("name", pa.string()), pa.field("value", pa.int64())])
RUNS = pa.schema([
    pa.field("run_id", pa.string(), nullable=False),  # the run's time stamp (staging name)
    pa.field("started_at", UTC_TIMESTAMP, nullable=False),
    pa.field("finished_at", UTC_TIMESTAMP, nullable=False),
    pa.field("runner", pa.string(), nullable=False),
    pa.field("mode", pa.string()),  # "run", or "stream" for a stream's batch (null: older runs)
    pa.field("newsbeam_version", pa.string(), nullable=False),
    pa.field("config_hash", pa.string(), nullable=False),  # SHA-256 of the effective config
    pa.field("inputs", pa.list_(pa.string()), nullable=False),
    pa.field("feeds", pa.list_(pa.string()), nullable=False),
    pa.field("inputs_seen", pa.int64(), nullable=False),
    pa.field("records", pa.int64(), nullable=False),
    pa.field("articles_written", pa.int64(), nullable=False),
    pa.field("skipped_existing", pa.int64(), nullable=False),
    pa.field("errors", pa.int64(), nullable=False),
    pa.field("unexpected_failures", pa.int64(), nullable=False),
    pa.field("seconds", pa.float64(), nullable=False),
    # records each stage was given, errors by stage and reason, articles by language ...:
    # every newsbeam counter of the run, by its name in transforms/core/metrics.py
    pa.field("counters", pa.list_(_COUNT), nullable=False),
    pa.field("errors_by_reason", pa.list_(pa.struct([
        pa.field("stage", pa.string()), pa.field("error_type", pa.string()),
        pa.field("count", pa.int64())])), nullable=False),
    # seconds per stage, where the runner reports them (the DirectRunner does not)
    pa.field("stage_seconds", pa.list_(pa.struct([
        pa.field("stage", pa.string()), pa.field("seconds", pa.float64())])), nullable=False),
])

DATASETS = {"articles": ARTICLES, "entities": ENTITIES, "topics": TOPICS,
            "entity_aliases": ENTITY_ALIASES, "feed_state": FEED_STATE, "errors": ERRORS,
            "story_members": STORY_MEMBERS, "stories": STORIES, "runs": RUNS}
