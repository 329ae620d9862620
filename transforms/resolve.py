"""Resolve: one entity across articles and runs. Spelling variants already share an entity_id
(its key ignores case, diacritics, particles and doubled letters); this stage links short
person names left alone in their article to the one full name across the run that ends the
same way, picks each entity's canonical name (its most common full form, counting earlier
runs), and lists every entity's aliases. Everything is grouped by a blocking key, so no step
needs all entities of a run in one place."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

import apache_beam as beam
from apache_beam import pvalue

from pipeline.records import EntityMention
from transforms.entities import PERSON, NameNormalizer, entity_id_for


def _is_short_person(mention: EntityMention) -> bool:
    return mention.label == PERSON and " " not in mention.key


def _full_person_by_surname(mention: EntityMention) -> Iterator[tuple[str, str]]:
    if mention.label == PERSON and mention.full and " " in mention.key:
        yield mention.key.rsplit(" ", 1)[1], mention.key


def link_by_surname(grouped: tuple[str, dict[str, Iterable[Any]]]) -> Iterator[EntityMention]:
    """Short person mentions sharing one surname key: they join the full name when exactly one
    full name in the run ends with it; two or more leave them alone."""
    _, group = grouped
    owners = sorted(set(group["full_names"]))
    for mention in group["short"]:
        if len(owners) == 1:
            key = owners[0]
            yield replace(mention, key=key, entity_id=entity_id_for(key, PERSON), full=False)
        else:
            yield mention


def _add_counts(counts: Iterable[tuple[int, int]]) -> tuple[int, int]:
    """(this run, earlier runs) mention counts, summed."""
    this_run = earlier = 0
    for now, before in counts:
        this_run, earlier = this_run + now, earlier + before
    return this_run, earlier


def canonical_name(forms: Iterable[tuple[str, bool, int, int]]) -> str:
    """The most common full form, counting earlier runs (ties: the alphabetically first);
    an entity only ever seen in short forms keeps its most common short form."""
    counted = list(forms)
    full = [f for f in counted if f[1]] or counted
    return min(full, key=lambda f: (-(f[2] + f[3]), f[0]))[0]


class PickCanonicalName(beam.DoFn):
    """Per entity: its canonical name (the alias table's, else the most common full form) on
    the main output, its alias rows on 'aliases'."""

    def __init__(self, configured_names: dict[str, str]) -> None:
        self.configured_names = configured_names

    def process(self, grouped: tuple[tuple[str, str], Iterable[tuple]]) -> Iterator[Any]:
        (entity_id, label), forms = grouped
        forms = list(forms)  # (alias, full, mentions this run, mentions in earlier runs)
        name = self.configured_names.get(entity_id) or canonical_name(forms)
        yield entity_id, name
        for alias, _, this_run, _ in sorted(forms):
            if this_run:
                yield pvalue.TaggedOutput("aliases", {
                    "entity_id": entity_id, "name": name, "label": label, "alias": alias,
                    "mentions": this_run})


def _name_mentions(grouped: tuple[str, dict[str, Iterable[Any]]]) -> Iterator[EntityMention]:
    _, group = grouped
    names = list(group["name"])
    for mention in group["mentions"]:
        yield replace(mention, name=names[0]) if names else mention


class ResolveEntities(beam.PTransform):
    """{'mentions': EntityMentions, 'earlier_aliases': entity_aliases rows} ->
    {'mentions': EntityMentions with canonical names, 'aliases': alias rows}."""

    def __init__(self, normalizer: NameNormalizer) -> None:
        super().__init__()
        self.normalizer = normalizer

    def expand(self, inputs: dict[str, beam.PCollection]) -> dict[str, beam.PCollection]:
        mentions = inputs["mentions"]
        short = (mentions | "ShortPeople" >> beam.Filter(_is_short_person)
                 | "KeyShortBySurname" >> beam.Map(lambda m: (m.key, m)))
        full_names = (mentions | "FullPeopleBySurname" >> beam.FlatMap(_full_person_by_surname)
                      | "DistinctFullNames" >> beam.Distinct())
        linked = ({"short": short, "full_names": full_names}
                  | "GroupBySurname" >> beam.CoGroupByKey()
                  | "LinkBySurname" >> beam.FlatMap(link_by_surname))
        others = mentions | "NotShortPeople" >> beam.Filter(lambda m: not _is_short_person(m))
        resolved = (others, linked) | "ResolvedMentions" >> beam.Flatten()

        this_run = (resolved
                    | "FormOfMention" >> beam.Map(
                        lambda m: ((m.entity_id, m.label, m.name, m.full), (1, 0))))
        earlier = (inputs["earlier_aliases"]
                   | "FormOfEarlierAlias" >> beam.Map(self._earlier_form))
        names_and_aliases = (
            (this_run, earlier)
            | "AllForms" >> beam.Flatten()
            | "CountForms" >> beam.CombinePerKey(_add_counts)
            | "FormsByEntity" >> beam.Map(
                lambda kv: ((kv[0][0], kv[0][1]), (kv[0][2], kv[0][3], *kv[1])))
            | "GroupFormsByEntity" >> beam.GroupByKey()
            | "PickCanonicalName" >> beam.ParDo(
                PickCanonicalName(self.normalizer.configured_names())).with_outputs(
                "aliases", main="names")
        )
        named = ({"mentions": resolved | "KeyByEntity" >> beam.Map(lambda m: (m.entity_id, m)),
                  "name": names_and_aliases.names}
                 | "JoinNames" >> beam.CoGroupByKey()
                 | "NameMentions" >> beam.FlatMap(_name_mentions))
        return {"mentions": named, "aliases": names_and_aliases.aliases}

    def _earlier_form(self, row: dict[str, Any]) -> tuple[tuple, tuple[int, int]]:
        """An alias row of an earlier run as a form of its entity (full when the alias alone
        keys to that entity)."""
        own_id = entity_id_for(self.normalizer.key(row["alias"], row["label"]), row["label"])
        full = own_id == row["entity_id"]
        return (row["entity_id"], row["label"], row["alias"], full), (0, int(row["mentions"]))
