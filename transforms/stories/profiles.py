"""Profiles: an article's words weighted by how rare they are in general language (wordfreq's
frequencies for its language, the same in every run, so a profile never changes as the output
grows), names and numbers weighted up; and the blocking keys it is found under."""

from __future__ import annotations

import hashlib
import heapq
import math
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from urllib.parse import urlsplit

from transforms.core.language import primary_language
from transforms.core.records import Article
from transforms.core.text import TOKEN
from transforms.resources.rarity import rarity, word_lists
from transforms.stories.settings import StorySettings

_YEAR_ZERO = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Profile:
    """What stories compare: an article's weighted terms (unit length, most weighted first)."""

    article_id: str
    time: datetime  # published, else ingested
    terms: tuple[str, ...]
    weights: tuple[float, ...]
    title: str | None = None
    outlet: str = ""
    fresh: bool = True  # of this run (False: read from the index)
    best: float = 0.0  # its most similar article's similarity in its run (once scored; 0
    # in the index when it ended its run as a story of its own)

    def keys(self, count: int) -> tuple[str, ...]:
        return self.terms[:count]

    def vector(self) -> dict[str, float]:
        return dict(zip(self.terms, self.weights, strict=True))


def cosine(one: dict[str, float], other: dict[str, float]) -> float:
    if len(one) > len(other):
        one, other = other, one
    return sum(weight * other.get(term, 0.0) for term, weight in one.items())


def unit_top(weights: dict[str, float], count: int) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """The `count` most weighted terms, scaled to unit length (ties by term, so runs agree)."""
    top = heapq.nsmallest(count, weights.items(), key=lambda item: (-item[1], item[0]))
    norm = math.sqrt(sum(weight * weight for _, weight in top)) or 1.0
    return tuple(term for term, _ in top), tuple(weight / norm for _, weight in top)


def outlet_of(article: Article) -> str:
    """Who published it: the URL's host, else the input it came from."""
    if article.url:
        host = urlsplit(article.url).netloc.lower()
        return host.removeprefix("www.")
    return article.source


def profile_of(article: Article, settings: StorySettings, ingested_at: datetime) -> Profile:
    """The article's profile; without terms for a language without word frequencies (its
    words could not be weighted) or a text without rare words: such an article is a story
    of its own."""
    empty = Profile(article.article_id, article.published_at or ingested_at, (), (),
                    article.title, outlet_of(article))
    language = primary_language(article.language)
    if language not in word_lists():
        return empty
    words = TOKEN.findall(f"{article.title or ''}\n{article.text}")
    folded = [word.casefold() for word in words]
    capitalised = Counter(f for word, f in zip(words[1:], folded[1:], strict=True)
                          if word[:1].isupper())

    counts = Counter(folded)
    kept = {word: rare for word in counts
            if (rare := rarity(word, language, settings.number_rarity)) >= settings.min_rarity}
    weights: dict[str, float] = {}
    for word, rare in kept.items():
        name = settings.name_weight if capitalised[word] * 2 >= counts[word] else 1.0
        weights[word] = (1 + math.log(counts[word])) * rare * rare * name
    if settings.pair_weight:
        for first, second in zip(folded, folded[1:], strict=False):
            if first in kept and second in kept:
                pair = f"{first} {second}"
                weights[pair] = weights.get(pair, 0.0) + (
                    settings.pair_weight * kept[first] * kept[second])
    if not weights:
        return empty
    terms, unit = unit_top(weights, settings.profile_terms)
    return replace(empty, terms=terms, weights=unit)


def period_of(time: datetime, settings: StorySettings) -> int:
    """The window-long period a time falls in: an article is indexed under its own period and
    looks up its own and the two next to it, which covers its whole window."""
    days = (time - _YEAR_ZERO).total_seconds() / 86400
    return int(days // max(settings.window_days, 1e-9)) if settings.window_days else 0


def term_key(term: str, period: int) -> str:
    return hashlib.blake2b(f"{term}\x1f{period}".encode(), digest_size=8).hexdigest()
