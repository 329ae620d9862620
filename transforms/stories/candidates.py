"""Candidates: the pairs of articles worth comparing come from blocking keys (a profile's rarest
terms, by time period), never from comparing all articles; only articles within `window_days`
of each other are compared. Earlier runs' articles are found through the story indexes, for
this run's keys only."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import apache_beam as beam

from transforms.core import metrics
from transforms.storage.index import LookupIndex
from transforms.storage.layout import OutputPaths
from transforms.stories.indexes import STORY_PROFILES, STORY_TERMS
from transforms.stories.profiles import Profile, cosine, period_of, term_key
from transforms.stories.settings import StorySettings

# Counter: blocking keys shared by more than stories.max_block articles (not compared under).
KEYS_TOO_COMMON = "stories.keys_too_common"


@dataclass(frozen=True)
class Link:
    """A new article's link to a candidate: another new article, or an earlier one."""

    article_id: str
    other_id: str
    similarity: float
    other_fresh: bool
    other_best: float = 0.0  # an earlier article's own best similarity (0: it ended alone)

    def to_lone_article(self, threshold: float) -> bool:
        """To an earlier article that ended its run as a story of its own. An event's first
        report is often alone in its run, and the later reports, closer to each other, would
        rank it below themselves and never link back: such links are ranked apart, so each
        new article also links to its `links_per_article` most similar lone articles."""
        return not self.other_fresh and self.other_best < threshold


def block_links(term: str, profiles: list[Profile], settings: StorySettings) -> Iterator[Link]:
    """The similar pairs of one block, each pair scored in one block only: the one of the
    key term both share that weighs most in the two (the rarest: the smallest block, so a
    pair is not lost to a block too common to compare under)."""
    unique = sorted({p.article_id: p for p in profiles}.values(), key=lambda p: p.article_id)
    vectors = {p.article_id: p.vector() for p in unique}
    keys = {p.article_id: set(p.keys(settings.key_terms)) for p in unique}
    for i, one in enumerate(unique):
        for other in unique[i + 1:]:
            if not (one.fresh or other.fresh):
                continue
            if abs(one.time - other.time) > settings.window:
                continue
            first, second = vectors[one.article_id], vectors[other.article_id]
            shared = keys[one.article_id] & keys[other.article_id]
            if max(shared, key=lambda t: (first[t] + second[t], t)) != term:
                continue
            score = cosine(first, second)
            if score < settings.threshold:
                continue
            if one.fresh:
                yield Link(one.article_id, other.article_id, score, other.fresh, other.best)
            if other.fresh:
                yield Link(other.article_id, one.article_id, score, one.fresh, one.best)


class ScoreBlocks(beam.DoFn):
    """(key term, profiles) -> Links; a key shared by more than `max_block` articles is too
    common to compare under (its pairs are scored under rarer keys they share), and counted."""

    def __init__(self, settings: StorySettings) -> None:
        self.settings = settings
        self.too_common = metrics.counter(KEYS_TOO_COMMON)

    def process(self, block: tuple[str, Iterable[Profile]]) -> Iterator[Link]:
        term, profiles = block[0], list(block[1])
        if len(profiles) > self.settings.max_block:
            self.too_common.inc()
            return
        yield from block_links(term, profiles, self.settings)


class ScoreCandidates(beam.PTransform):
    """Profiles (with terms) -> a Link for each similar pair (at least `threshold`) of a new
    article and a candidate (a new or an earlier article under a key it shares)."""

    def __init__(self, settings: StorySettings, output: OutputPaths) -> None:
        super().__init__()
        self.settings = settings
        self.output = output

    def expand(self, profiles: beam.PCollection) -> beam.PCollection:
        settings, output = self.settings, self.output
        # earlier articles under this run's keys (their own period and the two next to it)
        lookups = profiles | "LookupKeys" >> beam.FlatMap(lambda p: [
            term_key(term, period_of(p.time, settings) + shift)
            for term in p.keys(settings.key_terms) for shift in (-1, 0, 1)])
        found = (lookups
                 | "LookUpTerms" >> LookupIndex(output, STORY_TERMS)
                 | "EarlierByTerm" >> beam.Map(lambda row: (row["article_id"], row["term"])))
        earlier_profiles = (found
                            | "EarlierIds" >> beam.Keys()
                            | "LookUpProfiles" >> LookupIndex(output, STORY_PROFILES)
                            | "EarlierProfiles" >> beam.Map(lambda row: (row["key"], Profile(
                                row["key"], row["time"], tuple(row["terms"]),
                                tuple(row["weights"]), fresh=False, best=row["best"]))))
        earlier_blocks = ({"terms": found, "profile": earlier_profiles}
                          | "GroupEarlier" >> beam.CoGroupByKey()
                          | "EarlierBlocks" >> beam.FlatMap(lambda group: [
                              (term, profile) for profile in group[1]["profile"]
                              for term in set(group[1]["terms"])]))
        fresh_blocks = profiles | "FreshBlocks" >> beam.FlatMap(
            lambda p: [(term, p) for term in p.keys(settings.key_terms)])
        scored = ((fresh_blocks, earlier_blocks)
                 | "AllBlocks" >> beam.Flatten()
                 | "GroupByTerm" >> beam.GroupByKey()
                 | "ScorePairs" >> beam.ParDo(ScoreBlocks(settings)))
        return scored
