"""newsbeam's stages, one module each: sources (with fetch, its HTTP client), parse, clean,
dedupe, keyphrases, nearcopies, entities, resolve, topics, write.

Beside them, the shared modules every stage may import (and no stage imports another stage):
records (the record types and article ids), schemas (the datasets' Parquet schemas), failures
(errors routing and the unexpected-failure limit), metrics (every counter's name), settings
(config errors, range checks, backend choice), text (paragraphs, sentence ends, words),
language (detection and primary codes), names (entity name keys and ids), layout (every path
under the output), parquet_io (Parquet files in and out), index (the indexes of what earlier
runs wrote), history (ids written already) and deadline (calls that cannot outlive their
deadline)."""
