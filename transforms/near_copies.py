"""Near copies: an article whose body is a near copy of an earlier one (a wire story syndicated,
a republication under another headline, a copy with small edits) is marked with the first
copy's article_id (articles.duplicate_of), within a run and across runs.

MinHash signatures over word shingles of the body (the headline is left out: republications
change it), LSH banding for candidates, and the estimated Jaccard similarity of the two
signatures to confirm. Earlier runs' bands and signatures are looked up in the output's indexes
for this run's bands only; what flows is signatures (a few hundred bytes an article), never
article texts."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
import numpy as np
import pyarrow as pa

from transforms.core.records import Article
from transforms.core.settings import ConfigError, check_at_least, check_between
from transforms.core.text import tokens
from transforms.storage.index import IndexKind, LookupIndex, distinct_rows
from transforms.storage.layout import OutputPaths

_PRIME = (1 << 61) - 1
_EARLIER_RUN = ""  # the order of an article of an earlier run: before any of this run's

# Each article's LSH band keys, and its MinHash
# signature. Their rows come from the text, not from a dataset's columns: an output written
# before them starts them empty (its articles are not found as first copies).
NEAR_BANDS = IndexKind("near_bands", pa.schema([
    pa.field("key", pa.string(), nullable=False),  # a band's key
    pa.field("article_id", pa.string(), nullable=False),
]), distinct_rows, True, "", {})
SIGNATURES = IndexKind("signatures", pa.schema([
    pa.field("key", pa.string(), nullable=False),  # article_id
    pa.field("signature", pa.binary(), nullable=False),
]), distinct_rows, True, "", {})
INDEX_KINDS = (NEAR_BANDS, SIGNATURES)


@dataclass(frozen=True)
class NearCopySettings:
    """Config `near_copies.*`."""

    threshold: float = 0.8  # estimated Jaccard similarity of the shingle sets, at least
    shingle_words: int = 5
    permutations: int = 64
    bands: int = 16  # permutations / bands rows a band: 64 / 16 = 4

    def __post_init__(self) -> None:
        check_between("near_copies.threshold", self.threshold, 0.0, 1.0)
        check_at_least("near_copies.shingle_words", self.shingle_words, 1)
        check_at_least("near_copies.bands", self.bands, 1)
        if self.permutations % self.bands:
            raise ConfigError("config key 'near_copies.permutations' must be a multiple of "
                              f"near_copies.bands ({self.bands}), got {self.permutations}")

    def hash_functions(self) -> tuple[np.ndarray, np.ndarray]:
        """The permutations' (a, b), the same in every run (a fixed seed)."""
        generator = np.random.default_rng(20261122)
        return (generator.integers(1, 1 << 32, self.permutations, dtype=np.uint64),
                generator.integers(0, 1 << 32, self.permutations, dtype=np.uint64))


def signature(text: str, settings: NearCopySettings) -> np.ndarray | None:
    """The MinHash signature of a body's word shingles (None when it has too few words)."""
    words = [word.casefold() for word in tokens(text)]
    size = settings.shingle_words
    shingles = {" ".join(words[i:i + size]) for i in range(len(words) - size + 1)}
    if not shingles:
        return None
    hashed = np.fromiter((zlib.crc32(s.encode("utf-8")) for s in shingles), dtype=np.uint64,
                         count=len(shingles))
    a, b = settings.hash_functions()
    return ((np.outer(hashed, a) + b) % _PRIME).min(axis=0).astype(np.uint32)


def band_keys(packed: bytes, bands: int) -> list[str]:
    """The LSH key of each band of a packed signature (hex, so the key is its own bucket)."""
    width = len(packed) // bands
    return [hashlib.blake2b(bytes([band]) + packed[band * width:(band + 1) * width],
                            digest_size=8).hexdigest() for band in range(bands)]


def similarity(one: bytes, other: bytes) -> float:
    """Estimated Jaccard similarity: the share of permutations whose minimum agrees."""
    first, second = np.frombuffer(one, dtype=np.uint32), np.frombuffer(other, dtype=np.uint32)
    return float(np.mean(first == second))


@dataclass(frozen=True)
class Signed:
    """An article's signature, and where it stands among copies (earlier first)."""

    article_id: str
    order: str  # "" for earlier runs; else published time (or "~": none), source, id
    packed: bytes


def _signed(article: Article, settings: NearCopySettings) -> Iterator[Signed]:
    found = signature(article.text, settings)
    if found is not None:
        published = article.published_at.isoformat() if article.published_at else "~"
        yield Signed(article.article_id, f"{published} {article.source} {article.article_id}",
                     found.tobytes())


def _confirmed(pairs: Iterable[tuple[Signed, Signed]], threshold: float
               ) -> Iterator[tuple[str, tuple[str, str]]]:
    """(later article, (order, earlier article)) for candidate pairs similar enough."""
    for one, other in pairs:
        if one.article_id == other.article_id:
            continue
        later, earlier = sorted((one, other), key=lambda s: s.order, reverse=True)
        if similarity(one.packed, other.packed) >= threshold:
            yield later.article_id, (earlier.order, earlier.article_id)


class NearCopies(beam.PTransform):
    """Articles -> {'duplicate_of': (article_id, first copy's article_id) for near copies,
    'index_rows': {'near_bands': rows, 'signatures': rows} for the output's indexes}."""

    def __init__(self, settings: NearCopySettings, output: OutputPaths) -> None:
        super().__init__()
        self.settings = settings
        self.output = output

    def expand(self, articles: beam.PCollection) -> dict[str, Any]:
        settings, bands = self.settings, self.settings.bands
        signed = articles | "Sign" >> beam.FlatMap(_signed, settings)
        banded = signed | "Bands" >> beam.FlatMap(
            lambda s: [(key, s) for key in band_keys(s.packed, bands)])
        earlier_ids = (banded
                       | "BandKeys" >> beam.Keys()
                       | "LookUpBands" >> LookupIndex(self.output, NEAR_BANDS)
                       | "EarlierByBand" >> beam.Map(lambda row: (row["key"], row["article_id"])))
        by_band = {"now": banded, "before": earlier_ids} | "GroupByBand" >> beam.CoGroupByKey()
        in_run = by_band | "PairsInRun" >> beam.FlatMap(
            lambda group: _confirmed(_pairs(list(group[1]["now"])), settings.threshold))
        # an earlier run's candidate: its signature is looked up, then the pair confirmed
        candidates = by_band | "CandidatesBefore" >> beam.FlatMap(
            lambda group: [(before, now) for before in set(group[1]["before"])
                           for now in group[1]["now"]])
        earlier_signed = (candidates
                          | "CandidateIds" >> beam.Keys()
                          | "LookUpSignatures" >> LookupIndex(self.output, SIGNATURES)
                          | "EarlierSigned" >> beam.Map(lambda row: (row["key"], Signed(
                              row["key"], _EARLIER_RUN, row["signature"]))))
        across = ({"now": candidates, "before": earlier_signed}
                  | "GroupByEarlier" >> beam.CoGroupByKey()
                  | "PairsAcrossRuns" >> beam.FlatMap(lambda group: _confirmed(
                      [(before, now) for before in group[1]["before"]
                       for now in group[1]["now"]], settings.threshold)))
        first_copies = ((in_run, across)
                        | "AllCopies" >> beam.Flatten()
                        | "FirstCopy" >> beam.CombinePerKey(min)
                        | "FirstCopyId" >> beam.Map(lambda pair: (pair[0], pair[1][1])))
        return {"duplicate_of": first_copies, "index_rows": {
            "near_bands": banded | "BandRows" >> beam.Map(
                lambda pair: {"key": pair[0], "article_id": pair[1].article_id}),
            "signatures": signed | "SignatureRows" >> beam.Map(
                lambda s: {"key": s.article_id, "signature": s.packed})}}


def _pairs(signed: list[Signed]) -> Iterator[tuple[Signed, Signed]]:
    unique = {s.article_id: s for s in signed}
    ordered = sorted(unique.values(), key=lambda s: s.order)
    for i, one in enumerate(ordered):
        for other in ordered[i + 1:]:
            yield one, other
