"""newsbeam's Beam transforms: one module, or one subpackage named by its phases, per stage.

Stages, in the order data flows: sources (files, feeds, fetching, http, decode), parse, clean,
keyphrases, entities, dedupe, then resolve, topics (lexicon, features, model), near_copies and
stories (profiles, candidates, links, clusters, rows), and write.

Beside them, the three subpackages every stage may import (and no stage imports another
stage): core (records, schemas, failures, metrics, settings, text, language, names, deadline),
storage (what lies under OUTPUT: layout, parquet_files, index, history, manifest) and
resources (packaged language data: rarity, word_vectors, text_encoder).
tests/test_architecture.py checks the rule."""
