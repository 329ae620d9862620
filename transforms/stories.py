"""Stories: articles that report the same real-world event share a story_id, within a run and
across runs.

Each article gets a profile: its words weighted by how rare they are in general language
(wordfreq's frequencies for the article's language, the same in every run, so a profile never
changes as the output grows), names and numbers weighted up. Candidates come from blocking
keys (the profile's rarest terms, by time period), never from comparing all articles; only
articles within `window_days` of each other are compared. Each new article links to its
`links_per_article` most similar candidates (cosine of profiles, at least `threshold`), and
to as many earlier articles that ended their runs alone (an event's first report waits for
the later ones, which rank each other first); the links of a run form components (ids only
flow there), and each component is split by centroid linkage into stories (links chain; the
centroids of two events stay apart): a part joins the earlier story it holds, or founds a new
one. A part holding two earlier stories merges them: the older id survives, the other's
members move to it, and its last row in stories/ names the survivor (merged_into).

Earlier runs are read through the output's indexes, at the cost of this run's keys: the
articles under this run's blocking keys, their profiles and current stories, and the state of
the stories touched."""

from __future__ import annotations

import hashlib
import heapq
import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import apache_beam as beam

from transforms.core import metrics
from transforms.core.language import primary_language
from transforms.core.records import Article
from transforms.core.settings import check_between, check_fields
from transforms.core.text import TOKEN
from transforms.resources.rarity import rarity, word_lists
from transforms.storage.index import (
    ARTICLE_STORIES,
    STORY_ARTICLES,
    STORY_PROFILES,
    STORY_STATE,
    STORY_TERMS,
    LookupIndex,
)
from transforms.storage.layout import OutputLayout

_YEAR_ZERO = datetime(1970, 1, 1, tzinfo=UTC)


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


def story_id_for(article_id: str) -> str:
    """A new story's id: made from its first article's, so a run done again agrees."""
    return hashlib.sha256(f"story\0{article_id}".encode()).hexdigest()[:32]


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
        self.too_common = metrics.counter(metrics.STORY_KEYS_TOO_COMMON)

    def process(self, block: tuple[str, Iterable[Profile]]) -> Iterator[Link]:
        term, profiles = block[0], list(block[1])
        if len(profiles) > self.settings.max_block:
            self.too_common.inc()
            return
        yield from block_links(term, profiles, self.settings)


class UniteLinks(beam.CombineFn):
    """Links -> the components they make (union-find over article and story ids; only ids
    flow here, and partial results merge, so it runs on many workers at once)."""

    def create_accumulator(self) -> dict[str, str]:
        return {}

    @staticmethod
    def _root(parent: dict[str, str], node: str) -> str:
        while parent.get(node, node) != node:
            parent[node] = parent.get(parent[node], parent[node])
            node = parent[node]
        return node

    def add_input(self, parent: dict[str, str], edge: tuple[str, str]) -> dict[str, str]:
        one, other = (self._root(parent, node) for node in edge)
        if one != other:
            parent[max(one, other)] = min(one, other)
        parent.setdefault(min(one, other), min(one, other))
        return parent

    def merge_accumulators(self, accumulators: Iterable[dict[str, str]]) -> dict[str, str]:
        merged: dict[str, str] = {}
        for parent in accumulators:
            for node in parent:
                self.add_input(merged, (node, self._root(parent, node)))
        return merged

    def extract_output(self, parent: dict[str, str]) -> list[tuple[str, str]]:
        """(node, its component's key) for every node."""
        return [(node, self._root(parent, node)) for node in sorted(parent)]


_ARTICLE, _STORY = "a:", "s:"


@dataclass(frozen=True)
class StoryState:
    """A story as the index keeps it: what the stories/ row shows, and its centroid."""

    story_id: str
    first_seen: datetime
    last_seen: datetime
    articles: int
    outlets: tuple[str, ...]
    headline: str | None
    centrality: float
    centroid: dict[str, float] = field(default_factory=dict)
    entities: dict[str, int] = field(default_factory=dict)
    topics: dict[tuple[str, str], float] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> StoryState:
        return cls(row["key"], row["first_seen"], row["last_seen"], row["articles"],
                   tuple(row["outlets"]), row["headline"], row["centrality"],
                   dict(zip(row["terms"], row["weights"], strict=True)),
                   {e["name"]: e["count"] for e in row["entities"]},
                   {(t["topic_id"], t["topic"]): t["score"] for t in row["topics"]})

    def index_row(self, updated_at: datetime) -> dict[str, Any]:
        terms, weights = unit_top(self.centroid, len(self.centroid))
        return {"key": self.story_id, "first_seen": self.first_seen,
                "last_seen": self.last_seen, "articles": self.articles,
                "outlets": list(self.outlets), "headline": self.headline,
                "centrality": self.centrality, "terms": list(terms), "weights": list(weights),
                "entities": [{"name": n, "count": c} for n, c in self.entities.items()],
                "topics": [{"topic_id": i, "topic": t, "score": s}
                           for (i, t), s in self.topics.items()],
                "updated_at": updated_at}


def _centroid(vectors: Iterable[tuple[dict[str, float], float]], count: int
              ) -> dict[str, float]:
    """The weighted sum of (vector, its weight) pairs (a centroid over stories and articles of
    several sizes), its `count` most weighted terms at unit length."""
    total: dict[str, float] = {}
    for vector, weight in vectors:
        for term, value in vector.items():
            total[term] = total.get(term, 0.0) + value * weight
    terms, weights = unit_top(total, count)
    return dict(zip(terms, weights, strict=True))


def _grow(state: StoryState | None, story_id: str, members: list[Profile],
          profile_terms: int) -> StoryState:
    """A story with new members added: times, counts, outlets, centroid, central headline."""
    unit = _centroid([*([(state.centroid, state.articles)] if state else []),
                      *((member.vector(), 1.0) for member in members)], profile_terms)
    headline, centrality = (state.headline, state.centrality) if state else (None, -1.0)
    for member in sorted(members, key=lambda m: m.article_id):
        score = cosine(member.vector(), unit)
        if member.title and score > centrality:
            headline, centrality = member.title, score
    times = [m.time for m in members]
    return StoryState(story_id, min([*times, *([state.first_seen] if state else [])]),
                      max([*times, *([state.last_seen] if state else [])]),
                      (state.articles if state else 0) + len(members),
                      tuple(sorted({*(state.outlets if state else ()),
                                    *(m.outlet for m in members)})),
                      headline, centrality, unit,
                      dict(state.entities) if state else {},
                      dict(state.topics) if state else {})


def _absorb(survivor: StoryState, other: StoryState) -> StoryState:
    """Two stories found to be one: the survivor takes the other's counts and centroid."""
    total = survivor.articles + other.articles
    centroid = _centroid([(survivor.centroid, survivor.articles),
                          (other.centroid, other.articles)],
                         max(len(survivor.centroid), len(other.centroid)))
    central = max((survivor, other), key=lambda s: s.centrality)
    entities = Counter(survivor.entities)
    entities.update(other.entities)
    topics = Counter(survivor.topics)
    topics.update(other.topics)
    return StoryState(survivor.story_id, min(survivor.first_seen, other.first_seen),
                      max(survivor.last_seen, other.last_seen), total,
                      tuple(sorted({*survivor.outlets, *other.outlets})),
                      central.headline, central.centrality, centroid, dict(entities),
                      dict(topics))


def _age(state: StoryState) -> tuple[datetime, str]:
    return state.first_seen, state.story_id


@dataclass(frozen=True)
class Assignment:
    """A story's share of a run: its state after the run, its new members (with the
    similarity at which they joined it), and the stories merged into it."""

    state: StoryState
    members: tuple[tuple[str, float | None], ...]
    merged: tuple[StoryState, ...] = ()  # as they were before the merge
    profiles: tuple[Profile, ...] = ()  # the new members' profiles, as the index keeps them


@dataclass(frozen=True)
class Member:
    """A new article on its way to its story: its profile, and its entity names and top-level
    topic scores for the story's tallies."""

    profile: Profile
    entities: Counter[str]
    topics: tuple[tuple[str, str, float], ...]


@dataclass
class _Cluster:
    """Part of a component while it is clustered: its centroid (terms most weighted first, as
    unit_top orders them) and what it holds (each new member with the centroid similarity at
    which it first united with another part)."""

    centroid: dict[str, float]
    size: int
    states: list[StoryState]
    members: list[tuple[Member, float | None]]


def _clusters(earlier: list[StoryState], members: list[Member],
              settings: StorySettings) -> list[_Cluster]:
    """A component split into stories by centroid linkage: the two most similar parts (an
    earlier story, a new article, or what they formed) unite while their centroids are at
    least `threshold` similar. Links chain: a lookalike event's report can link to one report
    of this event, but the centroids of the two events stay apart. Parts are compared where
    they share a key term, as articles are (a term shared by more than `max_block` parts is
    too common to compare under), so a large component costs what its close pairs cost."""
    parts: dict[int, _Cluster] = {}
    keys_of: dict[int, list[str]] = {}
    sharing: dict[str, set[int]] = defaultdict(set)
    closest: list[tuple[float, int, int]] = []
    ids = itertools.count()

    def add(part: _Cluster) -> None:
        """The part, compared with the parts that share a key term with it, then indexed."""
        n = next(ids)
        keys = list(part.centroid)[:settings.key_terms]  # most weighted first, as a profile
        near = {k for term in keys if len(sharing[term]) <= settings.max_block
                for k in sharing[term]}
        for k in sorted(near):
            if (similar := cosine(part.centroid, parts[k].centroid)) >= settings.threshold:
                heapq.heappush(closest, (-similar, k, n))
        for term in keys:
            sharing[term].add(n)
        parts[n], keys_of[n] = part, keys

    def remove(n: int) -> _Cluster:
        for term in keys_of.pop(n):
            sharing[term].discard(n)
        return parts.pop(n)

    for state in earlier:
        add(_Cluster(state.centroid, state.articles, [state], []))
    for member in members:
        add(_Cluster(member.profile.vector(), 1, [], [(member, None)]))
    while closest:
        negative_score, i, j = heapq.heappop(closest)
        if i not in parts or j not in parts:
            continue  # one of them has united already
        one, other, score = remove(i), remove(j), -negative_score
        add(_Cluster(_centroid([(one.centroid, one.size), (other.centroid, other.size)],
                               settings.profile_terms), one.size + other.size,
                     one.states + other.states,
                     [(m, score if joined is None else joined)
                      for m, joined in one.members + other.members]))
    return list(parts.values())


def assign(group: dict[str, list[Any]], settings: StorySettings) -> Iterator[Assignment]:
    """One component: new articles and the earlier stories they link to -> the stories they
    form."""
    earlier = sorted((StoryState.from_row(row) for row in group["states"]), key=_age)
    members = sorted(group["members"], key=lambda m: m.profile.article_id)  # runs agree
    for part in _clusters(earlier, members, settings):
        if part.members:
            yield _assignment(sorted(part.states, key=_age), part.members, settings)


def _assignment(earlier: list[StoryState], joined: list[tuple[Member, float | None]],
                settings: StorySettings) -> Assignment:
    members = [member for member, _ in joined]
    profiles = [member.profile for member in members]
    if earlier:
        survivor, *merged = earlier
        for other in merged:
            survivor = _absorb(survivor, other)
        story_id = survivor.story_id
    else:
        survivor, merged = None, []
        founder = min(profiles, key=lambda p: (p.time, p.article_id))
        story_id = story_id_for(founder.article_id)
    state = add_mentions(_grow(survivor, story_id, profiles, settings.profile_terms),
                         sum((m.entities for m in members), Counter()),
                         [score for m in members for score in m.topics])
    alone = not earlier and len(profiles) == 1  # a story of its own: later links find it
    return Assignment(state, tuple(sorted((m.profile.article_id, similarity)
                                          for m, similarity in joined)), tuple(merged),
                      tuple(replace(p, best=0.0) if alone else p for p in profiles))


def add_mentions(state: StoryState, entities: Counter[str],
                 topics: Iterable[tuple[str, str, float]]) -> StoryState:
    """New members' entity name counts and topic scores added to a story's tallies."""
    counted = Counter(state.entities)
    counted.update(entities)
    scored = Counter(state.topics)
    for topic_id, topic, score in topics:
        scored[(topic_id, topic)] += score
    return StoryState(state.story_id, state.first_seen, state.last_seen, state.articles,
                      state.outlets, state.headline, state.centrality, state.centroid,
                      dict(counted.most_common(50)), dict(scored.most_common(20)))


def story_row(state: StoryState, settings: StorySettings, run_time: datetime,
              merged_into: str | None = None) -> dict[str, Any]:
    top_topic = max(state.topics.items(), key=lambda item: (item[1], item[0]),
                    default=None)
    entities = sorted(state.entities.items(), key=lambda item: (-item[1], item[0]))
    return {"story_id": state.story_id, "first_seen": state.first_seen,
            "last_seen": state.last_seen, "article_count": state.articles,
            "outlet_count": len(state.outlets), "headline": state.headline,
            "top_entities": [name for name, _ in entities[:settings.top_entities]],
            "top_topic_id": top_topic[0][0] if top_topic else None,
            "top_topic": top_topic[0][1] if top_topic else None,
            "merged_into": merged_into, "run_time": run_time}


class BuildStories(beam.PTransform):
    """{'articles': Articles, 'entities': resolved entities rows, 'topics': TopicScores} ->
    {'story_members': rows, 'stories': rows, 'index_rows': {index name: rows}}."""

    def __init__(self, settings: StorySettings, layout: OutputLayout) -> None:
        super().__init__()
        self.settings = settings
        self.layout = layout

    def expand(self, inputs: dict[str, beam.PCollection]) -> dict[str, Any]:
        settings, layout, run_time = self.settings, self.layout, self.layout.run_time
        articles = inputs["articles"]
        every_profile = articles | "Profile" >> beam.Map(profile_of, settings, run_time)
        profiles = every_profile | "WithTerms" >> beam.Filter(lambda p: p.terms)
        # earlier articles under this run's keys (their own period and the two next to it)
        lookups = profiles | "LookupKeys" >> beam.FlatMap(lambda p: [
            term_key(term, period_of(p.time, settings) + shift)
            for term in p.keys(settings.key_terms) for shift in (-1, 0, 1)])
        found = (lookups
                 | "LookUpTerms" >> LookupIndex(layout, STORY_TERMS)
                 | "EarlierByTerm" >> beam.Map(lambda row: (row["article_id"], row["term"])))
        earlier_profiles = (found
                            | "EarlierIds" >> beam.Keys()
                            | "LookUpProfiles" >> LookupIndex(layout, STORY_PROFILES)
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
        # each article's strongest link (kept below if no kept link touches the article), and
        # its similarity: the article's best
        strongest = (scored
                     | "ByLinkingArticle" >> beam.Map(lambda link: (link.article_id, link))
                     | "Strongest" >> beam.combiners.Top.PerKey(
                         1, key=lambda link: (link.similarity, link.other_id)))
        best = strongest | "BestScore" >> beam.Map(
            lambda pair: (pair[0], pair[1][0].similarity))
        # each article's most similar candidates (and, apart, its most similar earlier articles
        # that ended their runs alone), kept where they are strong enough
        most_similar = (scored
                        | "ByArticle" >> beam.Map(lambda link: (
                            (link.article_id, link.to_lone_article(settings.threshold)), link))
                        | "MostSimilar" >> beam.combiners.Top.PerKey(
                            settings.links_per_article,
                            key=lambda link: (link.similarity, link.other_id))
                        | "ByCandidate" >> beam.FlatMap(
                            lambda pair: [(link.other_id, link) for link in pair[1]]))
        kept = ({"links": most_similar, "best": best}
                | "GroupByCandidate" >> beam.CoGroupByKey()
                | "StrongEnough" >> beam.FlatMap(strong_enough, settings.relative_strength))
        # an article that no kept link touches keeps its strongest link: the check above keeps
        # lookalike coverage apart; it should not leave alone a report all of whose
        # candidates have closer company (across runs, lone-article links do this)
        touched = kept | "LinkEnds" >> beam.FlatMap(
            lambda link: [(link.article_id, True), (link.other_id, True)])
        rescued = ({"touched": touched, "strongest": strongest}
                   | "GroupUntouched" >> beam.CoGroupByKey()
                   | "KeepStrongest" >> beam.FlatMap(
                       lambda group: [] if group[1]["touched"] else
                       [link for top in group[1]["strongest"] for link in top]))
        links = (kept, rescued) | "AllLinks" >> beam.Flatten()
        # an earlier article stands for its current story
        earlier_links = links | "ToEarlier" >> beam.FlatMap(
            lambda link: [] if link.other_fresh else [(link.other_id, link.article_id)])
        current = (earlier_links
                   | "LinkedIds" >> beam.Keys()
                   | "LookUpStories" >> LookupIndex(layout, ARTICLE_STORIES)
                   | "CurrentStory" >> beam.Map(lambda row: (row["key"], row["story_id"])))
        story_edges = ({"links": earlier_links, "story": current}
                       | "GroupLinked" >> beam.CoGroupByKey()
                       | "StoryEdges" >> beam.FlatMap(lambda group: [
                           (_ARTICLE + new, _STORY + story) for new in group[1]["links"]
                           for story in group[1]["story"]]))
        fresh_edges = links | "FreshEdges" >> beam.FlatMap(
            lambda link: [(_ARTICLE + link.article_id, _ARTICLE + link.other_id)]
            if link.other_fresh else [])
        components = ((story_edges, fresh_edges)
                      | "AllEdges" >> beam.Flatten()
                      | "Components" >> beam.CombineGlobally(UniteLinks())
                      | "EachNode" >> beam.FlatMap(lambda nodes: nodes))
        component_of = components | "ComponentOf" >> beam.Map(
            lambda pair: (pair[0].removeprefix(_ARTICLE), pair[1]))
        all_profiles = every_profile | "ProfileById" >> beam.Map(lambda p: (p.article_id, p))
        entity_names = inputs["entities"] | "EntityNames" >> beam.Map(  # entities rows
            lambda row: (row["article_id"], row["name"]))
        topic_scores = inputs["topics"] | "TopLevelTopics" >> beam.FlatMap(
            lambda t: [(t.article_id, (t.topic_id, t.topic, t.score))] if t.parent_id is None
            else [])
        members = ({"profile": all_profiles, "component": component_of,
                    "best": best, "entities": entity_names,
                    "topics": topic_scores}
                   | "GroupById" >> beam.CoGroupByKey()
                   | "ToComponent" >> beam.FlatMap(_to_component))
        story_nodes = components | "StoryNodes" >> beam.FlatMap(
            lambda pair: [(pair[0].removeprefix(_STORY), pair[1])]
            if pair[0].startswith(_STORY) else [])
        states = (story_nodes
                  | "StoryIds" >> beam.Keys()
                  | "LookUpStates" >> LookupIndex(layout, STORY_STATE)
                  | "StateById" >> beam.Map(lambda row: (row["key"], row)))
        component_states = ({"component": story_nodes, "state": states}
                            | "GroupStates" >> beam.CoGroupByKey()
                            | "StateToComponent" >> beam.FlatMap(lambda group: [
                                (component, state) for component in group[1]["component"]
                                for state in group[1]["state"]]))
        assignments = ({"members": members, "states": component_states}
                       | "GroupComponent" >> beam.CoGroupByKey()
                       | "Assign" >> beam.FlatMap(
                           lambda group: assign(group[1], settings)))
        profiles_with_best = assignments | "IndexedProfiles" >> beam.FlatMap(
            lambda a: [p for p in a.profiles if p.terms])
        return _outputs(assignments, profiles_with_best, settings, layout)


def strong_enough(group: tuple[str, dict[str, list[Any]]], share: float) -> Iterator[Link]:
    """The links to one candidate that are at least `share` of the candidate's own best (an
    earlier article's is in its link; a new one's was found in this run)."""
    _, found = group
    own_best = max(found["best"], default=0.0)
    for link in found["links"]:
        if link.similarity >= share * (own_best if link.other_fresh else link.other_best):
            yield link


def _to_component(group: tuple[str, dict[str, list[Any]]]) -> Iterator[tuple[str, Member]]:
    """An article (its profile with its best similarity in this run), with its entities and
    topics, under its component's key (an unlinked article is its own)."""
    article_id, found = group
    for profile in found["profile"]:
        component = found["component"][0] if found["component"] else _ARTICLE + article_id
        yield component, Member(replace(profile, best=max(found["best"], default=0.0)),
                                Counter(found["entities"]), tuple(found["topics"]))


def _outputs(stories: beam.PCollection, profiles: beam.PCollection, settings: StorySettings,
             layout: OutputLayout) -> dict[str, Any]:
    """The datasets' and indexes' rows of a run's story assignments."""
    run_time = layout.run_time
    merges = stories | "Merges" >> beam.FlatMap(
        lambda a: [(merged.story_id, a.state.story_id) for merged in a.merged])
    moved = ({"into": merges, "rows": merges
              | "MergedIds" >> beam.Keys()
              | "LookUpMembers" >> LookupIndex(layout, STORY_ARTICLES)
              | "MemberById" >> beam.Map(lambda row: (row["key"], row["article_id"]))}
             | "GroupMerged" >> beam.CoGroupByKey()
             | "MovedMembers" >> beam.FlatMap(lambda group: [
                 (article_id, into, None) for into in group[1]["into"]
                 for article_id in group[1]["rows"]]))
    new_members = stories | "NewMembers" >> beam.FlatMap(
        lambda a: [(article_id, a.state.story_id, similarity)
                   for article_id, similarity in a.members])
    memberships = (new_members, moved) | "AllMemberships" >> beam.Flatten()
    member_rows = memberships | "MemberRows" >> beam.Map(lambda m: {
        "article_id": m[0], "story_id": m[1], "similarity": m[2], "assigned_at": run_time})
    story_rows = stories | "StoryRows" >> beam.FlatMap(lambda a: [
        story_row(a.state, settings, run_time),
        *(story_row(merged, settings, run_time, a.state.story_id) for merged in a.merged)])
    index_rows = {
        "story_terms": profiles | "TermRows" >> beam.FlatMap(lambda p: [
            {"key": term_key(term, period_of(p.time, settings)), "term": term,
             "article_id": p.article_id}
            for term in p.keys(settings.key_terms)]),
        "story_profiles": profiles | "ProfileRows" >> beam.Map(lambda p: {
            "key": p.article_id, "time": p.time, "terms": list(p.terms),
            "weights": list(p.weights), "best": p.best}),
        "article_stories": memberships | "CurrentRows" >> beam.Map(lambda m: {
            "key": m[0], "story_id": m[1], "assigned_at": run_time}),
        "story_articles": memberships | "MembersRows" >> beam.Map(lambda m: {
            "key": m[1], "article_id": m[0]}),
        "story_state": stories | "StateRows" >> beam.Map(lambda a: a.state.index_row(run_time)),
    }
    return {"story_members": member_rows, "stories": story_rows, "index_rows": index_rows}
