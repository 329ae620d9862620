"""Entities on the seeds: each canonical entity with its aliases and counts, from a real run of
the pipeline; then NER throughput (words per second) of the entity stage on BBC articles.

    make bench-entities      (or: python benchmarks/entities.py [--articles N])
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pyarrow.dataset as ds

from benchmarks.corpora import BBC_ARCHIVE
from pipeline.config import load_config, run_settings
from transforms.core.language import detect_language
from transforms.core.records import Article
from transforms.core.text import word_count
from transforms.entities import SpacyEntities

ROOT = Path(__file__).resolve().parent.parent


def seed_entities() -> None:
    with tempfile.TemporaryDirectory() as output:
        subprocess.run([sys.executable, "-m", "pipeline", "run", "--output", output],
                       cwd=ROOT, check=True, capture_output=True)
        aliases = ds.dataset(f"{output}/entity_aliases", partitioning="hive").to_table()
        entities = ds.dataset(f"{output}/entities", partitioning="hive").to_table()
    articles = defaultdict(set)
    for entity_id, article_id in zip(entities["entity_id"].to_pylist(),
                                     entities["article_id"].to_pylist(), strict=True):
        articles[entity_id].add(article_id)
    table = defaultdict(list)
    for row in aliases.to_pylist():
        table[(row["entity_id"], row["name"], row["label"])].append((row["alias"],
                                                                     row["mentions"]))
    print(f"canonical entities on the seeds ({len(table)} entities, "
          f"{entities.num_rows} mentions in {len({a for s in articles.values() for a in s})} "
          "articles)")
    print(f"{'entity_id':<16}  {'label':<7} {'mentions':>8} {'articles':>8}  name  <- aliases")
    ranked = sorted(table.items(), key=lambda kv: (-sum(n for _, n in kv[1]), kv[0][1]))
    for (entity_id, name, label), forms in ranked:
        mentions = sum(n for _, n in forms)
        shown = ", ".join(f"{alias} ({n})" for alias, n in sorted(forms, key=lambda f: -f[1]))
        print(f"{entity_id:<16}  {label:<7} {mentions:>8} {len(articles[entity_id]):>8}  "
              f"{name}  <- {shown}")


def bbc_articles(limit: int) -> list[Article]:
    found = []
    with tarfile.open(BBC_ARCHIVE) as archive:
        for member in archive:
            if not member.isfile() or not member.name.endswith(".txt") or "README" in member.name:
                continue
            raw = archive.extractfile(member).read().decode("utf-8", "replace")
            title, _, body = raw.partition("\n")
            found.append(Article(member.name, member.name, "text", body.strip(), title=title,
                                 language=detect_language(raw)))
            if len(found) == limit:
                break
    return found


def ner_throughput(limit: int) -> None:
    settings = run_settings(load_config()).entities
    tagger = SpacyEntities(settings)
    started = time.perf_counter()
    tagger.setup()
    load_seconds = time.perf_counter() - started
    articles = bbc_articles(limit)
    words = sum(word_count(a.text) for a in articles)
    batch, nlp = settings.batch_size, tagger.nlps["en"]
    started = time.perf_counter()
    spacy_spans = sum(len(doc.ents) for doc in nlp.pipe([a.text for a in articles],
                                                        batch_size=batch))
    spacy_seconds = time.perf_counter() - started
    started = time.perf_counter()
    mentions = 0
    for i in range(0, len(articles), batch):
        mentions += sum(1 for _ in tagger.process(articles[i:i + batch]))
    seconds = time.perf_counter() - started
    print(f"\nNER throughput on {len(articles)} BBC articles ({words} words), one process, "
          f"{settings.models['en']} with only {nlp.pipe_names} enabled, batches of {batch}; "
          f"model load {load_seconds:.1f} s")
    print(f"{'step':<44} {'seconds':>8} {'words/s':>9} {'articles/s':>10}")
    for step, took, found in (("spaCy nlp.pipe alone", spacy_seconds, f"{spacy_spans} spans"),
                              ("entity stage (NER + in-article resolution)", seconds,
                               f"{mentions} mentions")):
        print(f"{step:<44} {took:>8.1f} {words / took:>9,.0f} {len(articles) / took:>10.1f}"
              f"  {found}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=500, help="BBC articles to tag")
    args = parser.parse_args(argv)
    seed_entities()
    ner_throughput(args.articles)
    return 0


if __name__ == "__main__":
    sys.exit(main())
