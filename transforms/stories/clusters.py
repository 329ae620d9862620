"""Clusters: the links of a run form components (ids only flow there), and each component is
split by centroid linkage into stories (links chain; the centroids of two events stay apart):
a part joins the earlier story it holds, or founds a new one. A part holding two earlier
stories merges them: the older id survives, the other's members move to it."""

from __future__ import annotations

import hashlib
import heapq
import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import apache_beam as beam

from transforms.storage.index import LookupIndex
from transforms.storage.layout import CombinePerRun, OutputPaths
from transforms.stories.indexes import ARTICLE_STORIES, STORY_STATE
from transforms.stories.profiles import Profile, cosine, unit_top
from transforms.stories.settings import StorySettings


def story_id_for(article_id: str) -> str:
    """A new story's id: made from its first article's, so a run done again agrees."""
    return hashlib.sha256(f"story\0{article_id}".encode()).hexdigest()[:32]


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


class FormComponents(beam.PTransform):
    """Links -> (node, its component's key) for every node: new articles ("a:" + id) and the
    earlier stories they link to ("s:" + id; an earlier article stands for its current
    story)."""

    def __init__(self, output: OutputPaths) -> None:
        super().__init__()
        self.output = output

    def expand(self, links: beam.PCollection) -> beam.PCollection:
        output = self.output
        # an earlier article stands for its current story
        earlier_links = links | "ToEarlier" >> beam.FlatMap(
            lambda link: [] if link.other_fresh else [(link.other_id, link.article_id)])
        current = (earlier_links
                   | "LinkedIds" >> beam.Keys()
                   | "LookUpStories" >> LookupIndex(output, ARTICLE_STORIES)
                   | "CurrentStory" >> beam.Map(lambda row: (row["key"], row["story_id"])))
        story_edges = ({"links": earlier_links, "story": current}
                       | "GroupLinked" >> beam.CoGroupByKey()
                       | "StoryEdges" >> beam.FlatMap(lambda group: [
                           (_ARTICLE + new, _STORY + story) for new in group[1]["links"]
                           for story in group[1]["story"]]))
        fresh_edges = links | "FreshEdges" >> beam.FlatMap(
            lambda link: [(_ARTICLE + link.article_id, _ARTICLE + link.other_id)]
            if link.other_fresh else [])
        edges = (story_edges, fresh_edges) | "AllEdges" >> beam.Flatten()
        components = (edges
                      | "Components" >> CombinePerRun(UniteLinks())
                      | "EachNode" >> beam.FlatMap(lambda nodes: nodes))
        return components


class AssignStories(beam.PTransform):
    """{'profiles': every new profile, 'components': FormComponents' nodes, 'best': each
    article's best similarity, 'entities': entities rows, 'topics': TopicScores} -> one
    Assignment per story the run touches."""

    def __init__(self, settings: StorySettings, output: OutputPaths) -> None:
        super().__init__()
        self.settings = settings
        self.output = output

    def expand(self, inputs: dict[str, beam.PCollection]) -> beam.PCollection:
        settings, output = self.settings, self.output
        components, best = inputs["components"], inputs["best"]
        component_of = components | "ComponentOf" >> beam.Map(
            lambda pair: (pair[0].removeprefix(_ARTICLE), pair[1]))
        all_profiles = inputs["profiles"] | "ProfileById" >> beam.Map(lambda p: (p.article_id, p))
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
                  | "LookUpStates" >> LookupIndex(output, STORY_STATE)
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
        return assignments


def _to_component(group: tuple[str, dict[str, list[Any]]]) -> Iterator[tuple[str, Member]]:
    """An article (its profile with its best similarity in this run), with its entities and
    topics, under its component's key (an unlinked article is its own)."""
    article_id, found = group
    for profile in found["profile"]:
        component = found["component"][0] if found["component"] else _ARTICLE + article_id
        yield component, Member(replace(profile, best=max(found["best"], default=0.0)),
                                Counter(found["entities"]), tuple(found["topics"]))


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
