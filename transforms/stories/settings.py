"""The stories stage's settings (config `stories.*`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from transforms.core.settings import check_between, check_fields


@dataclass(frozen=True)
class StorySettings:
    """Config `stories.*`."""

    threshold: float = 0.25  # cosine of two profiles to link, of two centroids to unite
    links_per_article: int = 2  # an article links to its most similar candidates only
    # ... and only to a candidate for which it is at least this share as similar as the
    # candidate's own most similar article: a report of one event is not tied to another
    # event's coverage, whose own reports are far closer to each other
    relative_strength: float = 0.5
    window_days: float = 3.0  # articles further apart in time are never compared
    profile_terms: int = 64  # terms kept in a profile (the most weighted)
    key_terms: int = 8  # blocking keys an article is found under: its most weighted terms
    max_block: int = 1000  # a key shared by more articles is too common to compare under
    min_rarity: float = 2.5  # words less rare than this (9 - Zipf frequency) are left out
    name_weight: float = 2.0  # capitalised words (names) count this many times
    number_rarity: float = 6.0  # the rarity given to numbers (wordfreq has none for them)
    pair_weight: float = 1.0  # adjacent rare words also count as a two-word term
    top_entities: int = 5  # entities named in a stories/ row

    def __post_init__(self) -> None:
        check_between("stories.threshold", self.threshold, 0.0, 1.0)
        check_fields(self, "stories", at_least={
            "links_per_article": 1, "profile_terms": 1, "key_terms": 1, "max_block": 1,
            "window_days": 0, "relative_strength": 0, "min_rarity": 0, "name_weight": 0,
            "number_rarity": 0, "pair_weight": 0, "top_entities": 0})

    @property
    def window(self) -> timedelta:
        return timedelta(days=self.window_days)
