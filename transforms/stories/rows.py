"""Rows: a run's story assignments as rows of story_members/ and stories/, and of the story
indexes (what later runs find)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import apache_beam as beam

from transforms.storage.index import LookupIndex
from transforms.storage.layout import OutputPaths, run_time_in
from transforms.stories.clusters import StoryState
from transforms.stories.indexes import (
    ARTICLE_STORIES,
    STORY_ARTICLES,
    STORY_PROFILES,
    STORY_STATE,
    STORY_TERMS,
)
from transforms.stories.profiles import period_of, term_key
from transforms.stories.settings import StorySettings

# Rows are stamped with their run's time: in a stream's unbounded graph, their window's.
_WINDOW = beam.DoFn.WindowParam


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


class StoryRows(beam.PTransform):
    """Assignments -> {'story_members': rows, 'stories': rows, 'index_rows': {index name:
    rows}}: each story's row (and a merged story's last row), each new or moved member's row,
    and the story indexes' rows (what later runs find)."""

    def __init__(self, settings: StorySettings, output: OutputPaths, run_time: datetime
                 ) -> None:
        super().__init__()
        self.settings = settings
        self.output = output
        self.run_time = run_time

    def expand(self, stories: beam.PCollection) -> dict[str, Any]:
        settings, output, run_time = self.settings, self.output, self.run_time
        profiles = stories | "IndexedProfiles" >> beam.FlatMap(
            lambda a: [p for p in a.profiles if p.terms])
        merges = stories | "Merges" >> beam.FlatMap(
            lambda a: [(merged.story_id, a.state.story_id) for merged in a.merged])
        moved = ({"into": merges, "rows": merges
                  | "MergedIds" >> beam.Keys()
                  | "LookUpMembers" >> LookupIndex(output, STORY_ARTICLES)
                  | "MemberById" >> beam.Map(lambda row: (row["key"], row["article_id"]))}
                 | "GroupMerged" >> beam.CoGroupByKey()
                 | "MovedMembers" >> beam.FlatMap(lambda group: [
                     (article_id, into, None) for into in group[1]["into"]
                     for article_id in group[1]["rows"]]))
        new_members = stories | "NewMembers" >> beam.FlatMap(
            lambda a: [(article_id, a.state.story_id, similarity)
                       for article_id, similarity in a.members])
        memberships = (new_members, moved) | "AllMemberships" >> beam.Flatten()
        member_rows = memberships | "MemberRows" >> beam.Map(lambda m, window=_WINDOW: {
            "article_id": m[0], "story_id": m[1], "similarity": m[2],
            "assigned_at": run_time_in(window, run_time)})
        story_rows = stories | "StoryRows" >> beam.FlatMap(lambda a, window=_WINDOW: [
            story_row(a.state, settings, run_time_in(window, run_time)),
            *(story_row(merged, settings, run_time_in(window, run_time), a.state.story_id)
              for merged in a.merged)])
        index_rows = {
            STORY_TERMS.name: profiles | "TermRows" >> beam.FlatMap(lambda p: [
                {"key": term_key(term, period_of(p.time, settings)), "term": term,
                 "article_id": p.article_id}
                for term in p.keys(settings.key_terms)]),
            STORY_PROFILES.name: profiles | "ProfileRows" >> beam.Map(lambda p: {
                "key": p.article_id, "time": p.time, "terms": list(p.terms),
                "weights": list(p.weights), "best": p.best}),
            ARTICLE_STORIES.name: memberships | "CurrentRows" >> beam.Map(
                lambda m, window=_WINDOW: {"key": m[0], "story_id": m[1],
                                           "assigned_at": run_time_in(window, run_time)}),
            STORY_ARTICLES.name: memberships | "MembersRows" >> beam.Map(lambda m: {
                "key": m[1], "article_id": m[0]}),
            STORY_STATE.name: stories | "StateRows" >> beam.Map(
                lambda a, window=_WINDOW: a.state.index_row(run_time_in(window, run_time))),
        }
        return {"story_members": member_rows, "stories": story_rows, "index_rows": index_rows}
