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


# The language each fundus-dev page is written in: its country's, but for the publishers that
# write in another (read from their gold bodies).
FUNDUS_COUNTRY_LANGUAGE = {
    "at": "de", "au": "en", "be": "nl", "ca": "en", "ch": "de", "de": "de", "dk": "da",
    "es": "es", "fr": "fr", "id": "id", "it": "it", "jp": "ja", "kr": "ko", "ls": "en",
    "my": "en", "na": "en", "no": "no", "pl": "pl", "pt": "pt", "ru": "ru", "se": "sv",
    "tr": "tr", "tw": "zh", "ua": "uk", "uk": "en", "us": "en", "za": "en"}
FUNDUS_PUBLISHER_LANGUAGE = {
    "MallorcaZeitung": "de", "Tageszeitung": "de", "TheJapanNews": "en",
    "ThePortugalNews": "en", "TaipeiTimes": "en", "Pravda": "ru", "EyethuNews": "zu",
    "Ilanga": "zu"}


def fundus_pages() -> dict[str, tuple[str, dict[str, object]]]:
    """{page stem: (its HTML decoded as newsbeam decodes a file, its gold fields with
    "language" added)} of fundus-dev."""
    root = BENCHMARKS / "fundus-dev"
    gold = json.loads((root / "gold.json").read_text(encoding="utf-8"))
    pages = {}
    for stem, fields in gold.items():
        language = FUNDUS_PUBLISHER_LANGUAGE.get(
            fields["publisher"], FUNDUS_COUNTRY_LANGUAGE[fields["country"]])
        html = decode_text(gzip.decompress((root / "html" / f"{stem}.html.gz").read_bytes()))
        pages[stem] = (html, {**fields, "language": language})
    return pages
