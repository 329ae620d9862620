"""Stories through the incremental path: the ECB+ documents (`../shared/benchmarks/ecbplus`,
two real events of one kind in each of 43 topics) fed as .txt files in several runs into one
output, scored with B-cubed precision, recall and F1 of each article's current story (its
latest story_members row) against the gold story and against the gold topic; the same at
thresholds moved by +-0.03 and +-0.06; then ECB+ and the BBC texts run together: ECB+ articles
sharing a story with a BBC one, the share of BBC articles in multi-article stories, and the
near copies (articles.duplicate_of) against bbc_duplicate_groups.tsv.

    python -m benchmarks.stories [--runs 4]
"""

from __future__ import annotations

import argparse
import csv
import random
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import pyarrow.dataset as ds

from benchmarks.corpora import (
    BENCHMARKS,
    ROOT,
    bbc_duplicate_groups,
    bbc_texts,
    ecbplus_texts,
    pairs_within,
)
from pipeline.config import load_config, run_settings
from transforms.core.records import RawDocument, article_id_for


def ecbplus_labels() -> tuple[dict[str, str], dict[str, str]]:
    stories, topics = {}, {}
    with (BENCHMARKS / "ecbplus" / "labels.tsv").open() as f:
        for row in csv.DictReader(f, delimiter="\t"):
            stories[row["doc_id"]], topics[row["doc_id"]] = row["story_id"], row["topic"]
    return stories, topics


def bbc_name(path: str) -> str:
    return path.replace("/", "_").removesuffix(".txt")


def bcubed(predicted: dict[str, str], gold: dict[str, str]) -> tuple[float, float, float]:
    clusters, classes = defaultdict(set), defaultdict(set)
    for item in gold:
        clusters[predicted[item]].add(item)
        classes[gold[item]].add(item)
    precision = recall = 0.0
    for item in gold:
        shared = len(clusters[predicted[item]] & classes[gold[item]])
        precision += shared / len(clusters[predicted[item]])
        recall += shared / len(classes[gold[item]])
    precision, recall = precision / len(gold), recall / len(gold)
    return precision, recall, 2 * precision * recall / (precision + recall)


def write_runs(folder: Path, documents: dict[str, str], runs: int, seed: int = 0
               ) -> list[Path]:
    """The documents as .txt files in `runs` folders, in a shuffled (seeded) order."""
    names = sorted(documents)
    random.Random(seed).shuffle(names)
    size = -(-len(names) // runs)
    folders = []
    for run in range(runs):
        run_folder = folder / f"run{run}"
        run_folder.mkdir(parents=True, exist_ok=True)
        for name in names[run * size:(run + 1) * size]:
            (run_folder / f"{name.replace('/', '_')}.txt").write_text(documents[name],
                                                                        encoding="utf-8")
        folders.append(run_folder)
    return folders


def run_all(folders: Iterable[Path], output: Path, config: Path | None,
            pattern: str = "*.txt") -> None:
    for folder in folders:
        command = [sys.executable, "-m", "pipeline", "run", "--input", f"{folder}/{pattern}",
                   "--output", str(output)]
        if config:
            command += ["--config", str(config)]
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True)


def current_stories(output: Path) -> dict[str, str]:
    """{input file stem: its article's current story}."""
    members = ds.dataset(output / "story_members", partitioning="hive").to_table().to_pylist()
    latest = {}
    for row in sorted(members, key=lambda r: r["assigned_at"]):
        latest[row["article_id"]] = row["story_id"]
    articles = ds.dataset(output / "articles", partitioning="hive").to_table(
        columns=["article_id", "source"]).to_pylist()
    return {Path(row["source"]).stem: latest[row["article_id"]] for row in articles}


def ecbplus_scores(stories: dict[str, str], gold_story: dict[str, str],
                   gold_topic: dict[str, str]) -> tuple[tuple[float, ...], tuple[float, ...],
                                                        float, int]:
    """B-cubed against stories and topics, a document without an article (a headline and no
    body) counted as a story alone; and the story F1 over the articles only."""
    predicted = {doc: stories.get(doc, f"missing {doc}") for doc in gold_story}
    missing = sum(doc not in stories for doc in gold_story)
    written = {doc: gold_story[doc] for doc in gold_story if doc in stories}
    return (bcubed(predicted, gold_story), bcubed(predicted, gold_topic),
            bcubed(predicted, written)[2], missing)


def with_threshold(folder: Path, threshold: float) -> Path:
    path = folder / f"threshold-{threshold:.2f}.yaml"
    path.write_text(f"stories:\n  threshold: {threshold}\n")
    return path


def near_copy_pairs(output: Path, documents: dict[str, str]) -> set[tuple[str, str]]:
    """Pairs of BBC texts that are one article (the same article_id: an exact copy is
    dropped as the same article) or linked through duplicate_of (each copy names its first
    copy, so a group of copies links every pair in it)."""
    articles = ds.dataset(output / "articles", partitioning="hive").to_table(
        columns=["article_id", "duplicate_of"]).to_pylist()
    group_of = {row["article_id"]: row["duplicate_of"] or row["article_id"] for row in articles}
    groups = defaultdict(set)
    for name, text in documents.items():
        article_id = article_id_for(RawDocument(name, "text", text), None)
        groups[group_of.get(article_id, article_id)].add(name)
    return pairs_within(groups.values())


def listed_pairs() -> set[tuple[str, str]]:
    return pairs_within([bbc_name(name) for name in names]
                        for names in bbc_duplicate_groups().values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=4)
    args = parser.parse_args()
    threshold = run_settings(load_config()).stories.threshold
    ecb, (gold_story, gold_topic) = ecbplus_texts(), ecbplus_labels()
    print(f"Stories, {date.today()}: ECB+ {len(ecb)} documents in {args.runs} runs "
          f"(shuffled, seed 0), default threshold {threshold}")
    print("| threshold | story P | story R | story F1 | topic P | topic R | topic F1 | "
          "stories | no article | story F1, articles only |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        ecb_runs = write_runs(folder / "ecb", ecb, args.runs)
        for shift in (-0.06, -0.03, 0.0, 0.03, 0.06):
            output = folder / f"out{shift:+.2f}"
            config = with_threshold(folder, threshold + shift) if shift else None
            run_all(ecb_runs, output, config)
            stories = current_stories(output)
            story, topic, written, missing = ecbplus_scores(stories, gold_story, gold_topic)
            found = len({stories[d] for d in gold_story if d in stories})
            mark = " (default)" if not shift else ""
            print(f"| {threshold + shift:.2f}{mark} | {story[0]:.3f} | {story[1]:.3f} | "
                  f"{story[2]:.3f} | {topic[0]:.3f} | {topic[1]:.3f} | {topic[2]:.3f} | "
                  f"{found} | {missing} | {written:.3f} |")
        # the same documents in one run: what reading them over several runs costs
        output = folder / "one-run"
        run_all(write_runs(folder / "ecb-one-run", ecb, 1), output, None)
        story, topic, written, missing = ecbplus_scores(current_stories(output), gold_story,
                                                        gold_topic)
        print(f"| {threshold:.2f}, all in one run | {story[0]:.3f} | {story[1]:.3f} | "
              f"{story[2]:.3f} | {topic[0]:.3f} | {topic[1]:.3f} | {topic[2]:.3f} | - | "
              f"{missing} | {written:.3f} |")
        bbc = {bbc_name(name): text for name, text in bbc_texts().items()}
        mixed = {**{f"ecb_{doc}": text for doc, text in ecb.items()}, **bbc}
        output = folder / "mixed"
        run_all(write_runs(folder / "mixed", mixed, args.runs), output, None)
        stories = current_stories(output)
        ecb_stories = {stories[d] for d in stories if d.startswith("ecb_")}
        shared = sum(stories[d] in ecb_stories for d in stories if d.startswith("bbc_"))
        sizes = defaultdict(int)
        for story in stories.values():
            sizes[story] += 1
        bbc_names = [d for d in stories if d.startswith("bbc_")]
        multi = sum(sizes[stories[d]] > 1 for d in bbc_names)
        story, topic, _, _ = ecbplus_scores({d.removeprefix("ecb_"): s for d, s in stories.items()
                                          if d.startswith("ecb_")}, gold_story, gold_topic)
        print(f"\nECB+ and BBC run together ({len(mixed)} texts, {args.runs} runs): "
              f"BBC articles sharing a story with an ECB+ one: {shared}; ECB+ story F1 "
              f"{story[2]:.3f}, topic P {topic[0]:.3f}")
        print(f"BBC articles in multi-article stories: {multi}/{len(bbc_names)} = "
              f"{multi / len(bbc_names):.3f}")
        linked, listed = near_copy_pairs(output, bbc), listed_pairs()
        found = len(linked & listed)
        print(f"BBC near copies (duplicate_of): linked pairs {len(linked)}, listed "
              f"{len(listed)}, both {found}; precision against the list "
              f"{found / max(1, len(linked)):.3f}, recall {found / max(1, len(listed)):.3f} "
              "(make bench-nearcopies lists the unlisted linked pairs, to be read)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
