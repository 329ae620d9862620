"""Topic labelling on the BBC full-text corpus (2,225 articles, 5 labels): accuracy and
macro-F1 of each article's top IPTC Media Topic under the benchmark's mapping, the confusion
matrix, and articles per second. The labels only measure; nothing is fitted to them.

Then the development set settings are chosen on: the 982 ECB+ documents, each of the 43
events (ECB+ topics) given the IPTC top-level topics a reader would file it under; a document's
top topic is right when it is one of them.

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

from benchmarks.corpora import BBC_ARCHIVE, bbc_texts, ecbplus_texts
from pipeline.config import load_config, run_settings
from transforms.core.language import detect_language
from transforms.core.records import Article
from transforms.core.text import PARAGRAPH_BREAK
from transforms.keyphrases import AddKeyphrases
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

# ECB+ events -> acceptable IPTC top-level topics (the code's two leading digits): arts 01,
# crime 02, disaster 03, economy 04, environment 06, health 07, human interest 08, politics 11,
# religion 12, science and technology 13, sport 15, conflict 16.
ECB_TOPICS = {
    1: "01 08", 2: "01", 3: "02", 4: "01 08", 5: "15", 6: "01", 7: "15", 8: "02 16",
    9: "06 11", 10: "15", 11: "11", 12: "02 16", 13: "03 02", 14: "03 02", 16: "02", 18: "02",
    19: "16 02", 20: "03", 21: "02", 22: "02", 23: "03", 24: "02", 25: "15", 26: "02",
    27: "13", 28: "11 08", 29: "15", 30: "13", 31: "15", 32: "02", 33: "02", 34: "11 07",
    35: "02 15", 36: "02 12", 37: "03", 38: "03", 39: "01", 40: "13", 41: "16", 42: "13",
    43: "04 13", 44: "04 13", 45: "02"}


def bbc_articles(path: Path = BBC_ARCHIVE) -> list[tuple[str, Article]]:
    """(gold label, Article) for every article; headline on line 1, body after it."""
    found = []
    for name, text in bbc_texts(path).items():
        title, _, body = text.strip().partition("\n")
        found.append((name.split("/")[1], Article(name, name, "text", body.strip(),
                                                  title=title.strip(),
                                                  language=detect_language(text))))
    return found


def ecbplus_articles(short: bool) -> list[tuple[set[str], Article]]:
    """(acceptable top-level codes, Article): line 1 the headline (a one-line document: the
    text), the other sentences one paragraph each; `short`: the first sentence only."""
    found = []
    for doc_id, text in ecbplus_texts().items():
        lines = [line for line in text.split("\n") if line.strip()]
        title, body = (lines[0], lines[1:]) if len(lines) > 1 else (None, lines)
        event = int(doc_id.split("_")[0])
        accepted = {f"medtop:{code}000000" for code in ECB_TOPICS[event].split()}
        found.append((accepted, Article(doc_id, doc_id, "text",
                                        PARAGRAPH_BREAK.join(body[:1] if short else body),
                                        title=title, language="en")))
    return found


def development_accuracy(short: bool) -> float:
    settings = run_settings(load_config())
    labeller = TOPIC_BACKENDS[settings.topics.backend](settings.topics)
    labeller.setup()
    right = 0
    articles = ecbplus_articles(short)
    for accepted, article in articles:
        tops = [t.topic_id for t in labeller.handle([article]) if t.parent_id is None]
        right += bool(tops) and tops[0] in accepted
    return right / len(articles)


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
        topics = [t for t in labeller.handle([article]) if t.parent_id is None]  # best first
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
    print("\n== development set, ECB+ (982 documents, 43 events): top-topic accuracy")
    for name, short in (("full text", False), ("headline + first sentence", True)):
        print(f"  {name:<26} {development_accuracy(short):.3f}")
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
