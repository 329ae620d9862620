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
the stories touched.

Its phases, one module each: profiles, candidates, links, clusters, rows (beside its
settings and the indexes it keeps)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import apache_beam as beam

from transforms.storage.layout import OutputPaths, run_time_in
from transforms.stories.candidates import ScoreCandidates
from transforms.stories.clusters import AssignStories, FormComponents
from transforms.stories.indexes import INDEX_KINDS
from transforms.stories.links import KeepLinks
from transforms.stories.profiles import profile_of
from transforms.stories.rows import StoryRows
from transforms.stories.settings import StorySettings

__all__ = ["INDEX_KINDS", "BuildStories", "StorySettings"]


class BuildStories(beam.PTransform):
    """{'articles': Articles, 'entities': resolved entities rows, 'topics': TopicScores} ->
    {'story_members': rows, 'stories': rows, 'index_rows': {index name: rows}}."""

    def __init__(self, settings: StorySettings, output: OutputPaths, run_time: datetime
                 ) -> None:
        """`output`: what earlier runs wrote (the story indexes); `run_time`: the time an
        undated article is taken to have, and each row's run_time (in a stream's unbounded
        graph, its window's start)."""
        super().__init__()
        self.settings = settings
        self.output = output
        self.run_time = run_time

    def expand(self, inputs: dict[str, beam.PCollection]) -> dict[str, Any]:
        settings, output = self.settings, self.output
        run_time = self.run_time
        every_profile = inputs["articles"] | "Profile" >> beam.Map(
            lambda article, window=beam.DoFn.WindowParam: profile_of(
                article, settings, run_time_in(window, run_time)))
        profiles = every_profile | "WithTerms" >> beam.Filter(lambda p: p.terms)
        scored = profiles | "ScoreCandidates" >> ScoreCandidates(settings, output)
        kept = scored | "KeepLinks" >> KeepLinks(settings)
        components = kept["links"] | "FormComponents" >> FormComponents(output)
        assignments = ({"profiles": every_profile, "components": components,
                        "best": kept["best"], "entities": inputs["entities"],
                        "topics": inputs["topics"]}
                       | "AssignStories" >> AssignStories(settings, output))
        return assignments | "StoryRows" >> StoryRows(settings, output, self.run_time)
