"""What stories keep of earlier runs, in the output's indexes: the articles under each blocking
key (a term in a time period), each article's profile, its current story, each story's
articles, and its state. Their rows come from the run, not from a dataset's columns."""

from __future__ import annotations

from functools import partial

import pyarrow as pa

from transforms.core.schemas import UTC_TIMESTAMP
from transforms.storage.index import IndexKind, distinct_rows, first_per_key, latest_per_key

STORY_TERMS = IndexKind("story_terms", pa.schema([
    pa.field("key", pa.string(), nullable=False),  # hash of term and period
    pa.field("term", pa.string(), nullable=False),
    pa.field("article_id", pa.string(), nullable=False),
]), distinct_rows, True, "", {}, bucket_digits=1)
STORY_PROFILES = IndexKind("story_profiles", pa.schema([
    pa.field("key", pa.string(), nullable=False),  # article_id
    pa.field("time", UTC_TIMESTAMP, nullable=False),
    pa.field("terms", pa.list_(pa.string()), nullable=False),
    pa.field("weights", pa.list_(pa.float64()), nullable=False),
    pa.field("best", pa.float64(), nullable=False),  # its most similar article's, in its run
]), first_per_key, True, "", {}, bucket_digits=1)
ARTICLE_STORIES = IndexKind("article_stories", pa.schema([
    pa.field("key", pa.string(), nullable=False),  # article_id
    pa.field("story_id", pa.string(), nullable=False),
    pa.field("assigned_at", UTC_TIMESTAMP, nullable=False),
]), partial(latest_per_key, column="assigned_at"), True, "", {}, bucket_digits=1)
STORY_ARTICLES = IndexKind("story_articles", pa.schema([
    pa.field("key", pa.string(), nullable=False),  # story_id
    pa.field("article_id", pa.string(), nullable=False),
]), distinct_rows, True, "", {}, bucket_digits=1)
_TALLY = pa.struct([pa.field("name", pa.string()), pa.field("count", pa.int64())])
STORY_STATE = IndexKind("story_state", pa.schema([
    pa.field("key", pa.string(), nullable=False),  # story_id
    pa.field("first_seen", UTC_TIMESTAMP, nullable=False),
    pa.field("last_seen", UTC_TIMESTAMP, nullable=False),
    pa.field("articles", pa.int64(), nullable=False),
    pa.field("outlets", pa.list_(pa.string()), nullable=False),
    pa.field("headline", pa.string()),
    pa.field("centrality", pa.float64(), nullable=False),
    pa.field("terms", pa.list_(pa.string()), nullable=False),  # the centroid's
    pa.field("weights", pa.list_(pa.float64()), nullable=False),
    pa.field("entities", pa.list_(_TALLY), nullable=False),
    pa.field("topics", pa.list_(pa.struct([
        pa.field("topic_id", pa.string()), pa.field("topic", pa.string()),
        pa.field("score", pa.float64())])), nullable=False),
    pa.field("updated_at", UTC_TIMESTAMP, nullable=False),
]), partial(latest_per_key, column="updated_at"), True, "", {}, bucket_digits=1)
INDEX_KINDS = (STORY_TERMS, STORY_PROFILES, ARTICLE_STORIES, STORY_ARTICLES, STORY_STATE)
