"""Links: each new article links to its `links_per_article` most similar candidates (cosine of
profiles, at least `threshold`), and to as many earlier articles that ended their runs alone
(an event's first report waits for the later ones, which rank each other first)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam

from transforms.stories.candidates import Link
from transforms.stories.settings import StorySettings


class KeepLinks(beam.PTransform):
    """Scored Links -> {'links': the links kept, 'best': (article_id, its best similarity)}."""

    def __init__(self, settings: StorySettings) -> None:
        super().__init__()
        self.settings = settings

    def expand(self, scored: beam.PCollection) -> dict[str, beam.PCollection]:
        settings = self.settings
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
        return {"links": links, "best": best}


def strong_enough(group: tuple[str, dict[str, list[Any]]], share: float) -> Iterator[Link]:
    """The links to one candidate that are at least `share` of the candidate's own best (an
    earlier article's is in its link; a new one's was found in this run)."""
    _, found = group
    own_best = max(found["best"], default=0.0)
    for link in found["links"]:
        if link.similarity >= share * (own_best if link.other_fresh else link.other_best):
            yield link
