"""The shared evaluation corpora as the benchmarks read them, from `../shared/benchmarks/`
(never copied into the project; the pipeline never reads them)."""

from __future__ import annotations

import csv
import gzip
import json
import tarfile
from collections import defaultdict
from collections.abc import Iterable
from itertools import combinations
from pathlib import Path

from transforms.sources.decode import decode_text

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT.parent / "shared" / "benchmarks"
BBC_ARCHIVE = BENCHMARKS / "bbc" / "bbc-fulltext.tar.gz"


def bbc_texts(path: Path = BBC_ARCHIVE) -> dict[str, str]:
    """{"bbc/<label>/<n>.txt": its text, decoded as newsbeam decodes a file}, in archive
    order (line 1 the headline, a blank line, the body)."""
    texts = {}
    with tarfile.open(path) as archive:
        for member in archive:
            if member.isfile() and member.name.endswith(".txt") and member.name.count("/") == 2:
                texts[member.name] = decode_text(archive.extractfile(member).read())
    return texts


def bbc_duplicate_groups() -> dict[tuple[str, str], set[str]]:
    """{(group id, kind): the archive paths bbc_duplicate_groups.tsv lists in it}."""
    groups = defaultdict(set)
    with (BENCHMARKS / "bbc" / "bbc_duplicate_groups.tsv").open() as listed:
        for row in csv.DictReader(listed, delimiter="\t"):
            groups[(row["group_id"], row["kind"])].add(row["path_in_tarball"])
    return dict(groups)


def pairs_within(groups: Iterable[Iterable[str]]) -> set[tuple[str, str]]:
    """Every pair of names inside each group, each pair once, in sorted order."""
    return {pair for names in groups for pair in combinations(sorted(set(names)), 2)}


def ecbplus_texts() -> dict[str, str]:
    """{doc_id: its tokenised text, one sentence a line}."""
    with gzip.open(BENCHMARKS / "ecbplus" / "documents.jsonl.gz", "rt", encoding="utf-8") as f:
        return {doc["doc_id"]: doc["text"] for doc in map(json.loads, f)}
