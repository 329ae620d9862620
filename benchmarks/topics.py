"""Topic labelling on the BBC full-text corpus (2,225 articles, 5 labels): accuracy and
macro-F1 of each article's top IPTC Media Topic under the benchmark's mapping, the confusion
matrix, and articles per second. The labels only measure; nothing is fitted to them.

    make bench-topics      (or: python benchmarks/topics.py)
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks.corpora import BBC_ARCHIVE, bbc_texts
from pipeline.config import load_config, run_settings
from transforms.keyphrases import AddKeyphrases
from transforms.language import detect_language
from transforms.records import Article
from transforms.text import PARAGRAPH_BREAK
from transforms.topics import TOPIC_BACKENDS

LABEL_OF_TOPIC = {
    "medtop:04000000": "business",
    "medtop:01000000": "entertainment",
    "medtop:11000000": "politics",
    "medtop:15000000": "sport",
    "medtop:13000000": "tech",
}
LABELS = sorted(LABEL_OF_TOPIC.values())
OTHER = "(other)"


def bbc_articles(path: Path = BBC_ARCHIVE) -> list[tuple[str, Article]]:
    """(gold label, Article) for every article; headline on line 1, body after it."""
    found = []
    for name, text in bbc_texts(path).items():
        title, _, body = text.strip().partition("\n")
        found.append((name.split("/")[1], Article(name, name, "text", body.strip(),
                                                  title=title.strip(),
                                                  language=detect_language(text))))
    return found


def macro_f1(gold: list[str], predicted: list[str]) -> float:
    scores = []
    for label in LABELS:
        tp = sum(g == p == label for g, p in zip(gold, predicted, strict=True))
        fp = sum(p == label != g for g, p in zip(gold, predicted, strict=True))
        fn = sum(g == label != p for g, p in zip(gold, predicted, strict=True))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores)


def evaluate(articles: list[tuple[str, Article]]) -> dict[str, object]:
    settings = run_settings(load_config())
    labeller = TOPIC_BACKENDS[settings.topics.backend](settings.topics)
    labeller.setup()
    phrases = AddKeyphrases(settings.keyphrases)  # timed too: both run per article
    phrases.setup()
    gold, predicted, other_tops = [], [], Counter()
    started = time.perf_counter()
    for label, article in articles:
        next(iter(phrases.handle(article)))
        topics = [t for t in labeller.handle(article) if t.parent_id is None]  # best first
        gold.append(label)
        predicted.append(LABEL_OF_TOPIC.get(topics[0].topic_id, OTHER) if topics else OTHER)
        if predicted[-1] == OTHER:
            other_tops[(label, topics[0].topic if topics else "no topic")] += 1
    seconds = time.perf_counter() - started
    accuracy = sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold)
    return {"backend": settings.topics.backend, "gold": gold, "predicted": predicted,
            "other_tops": other_tops,
            "accuracy": accuracy, "macro_f1": macro_f1(gold, predicted), "seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=BBC_ARCHIVE)
    args = parser.parse_args(argv)
    articles = bbc_articles(args.data)
    print(f"BBC topics benchmark, {date.today()}: {len(articles)} articles, Python "
          f"{sys.version.split()[0]}")
    # what a feed summary gives: the headline and the first paragraph
    leads = [(label, replace(article, text=article.text.strip().split(PARAGRAPH_BREAK)[0]))
             for label, article in articles]
    for name, evaluated in (("full text", articles), ("headline + first paragraph", leads)):
        report(name, evaluated, evaluate(evaluated))
    return 0


def report(name: str, articles: list[tuple[str, Article]], result: dict[str, Any]) -> None:
    print(f"\n== {name}: top-topic accuracy {result['accuracy']:.3f}, macro-F1 "
          f"{result['macro_f1']:.3f}, {len(articles) / result['seconds']:.0f} articles/s, "
          f"backend {result['backend']}")
    pairs = Counter(zip(result["gold"], result["predicted"], strict=True))
    columns = [*LABELS, OTHER]
    print("\nconfusion (rows: gold, columns: top topic mapped)")
    print(f"{'':<14}" + "".join(f"{c:>14}" for c in columns))
    for label in LABELS:
        print(f"{label:<14}" + "".join(f"{pairs[(label, c)]:>14}" for c in columns))
    print("\n(other) top topics, by gold label:")
    for label in LABELS:
        found = [(topic, n) for (gold, topic), n in result["other_tops"].most_common()
                 if gold == label]
        print(f"  {label}: " + ", ".join(f"{topic} {n}" for topic, n in found))


if __name__ == "__main__":
    sys.exit(main())
