"""Resolve: one entity across articles and runs. Spelling variants already share an entity_id
(its key ignores case, diacritics, particles and doubled letters); this stage links short
person names left alone in their article to the one full name across the run that ends the
same way, picks each entity's canonical name (its most common full form, counting earlier
runs), and lists every entity's aliases. Spellings are counted as they come and grouped by a
blocking key (surname, entity_id); the mentions then take their entity's id and name from two
per-entity lookups (surname links, canonical names) passed as side inputs. What is held grows
with the number of entities and spellings in a run, never with the number of mentions."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import partial
from typing import Any

import apache_beam as beam
import pyarrow as pa
from apache_beam import pvalue

from transforms.core.names import PERSON, NameNormalizer, entity_id_for, surname_of
from transforms.core.records import EntityMention
from transforms.storage.index import Deriver, IndexKind, LookupIndex, distinct_rows
from transforms.storage.layout import OutputLayout, OutputPaths
from transforms.storage.parquet_files import read_parquet_rows, schema_row, write_parquet


def _sum_mentions(table: pa.Table) -> pa.Table:
    summed = table.group_by(["key", "label", "alias"]).aggregate([("mentions", "sum")])
    return pa.table({name: summed.column(name) for name in ("key", "label", "alias")}
                    | {"mentions": summed.column("mentions_sum")})


# Each entity's spellings and their mentions over every run: the canonical name counts them.
ENTITY_FORMS = IndexKind("entity_forms", pa.schema([
    pa.field("key", pa.string(), nullable=False),  # entity_id
    pa.field("label", pa.string(), nullable=False),
    pa.field("alias", pa.string(), nullable=False),
    pa.field("mentions", pa.int64(), nullable=False),  # over every run the file covers
]), _sum_mentions, True, "entity_aliases",
    {"key": "entity_id", "label": "label", "alias": "alias", "mentions": "mentions"})
# Full person names by surname, to link a short name to the one full name earlier runs saw.
# Its rows are not a dataset's columns: this stage writes them, and an output built before the
# index gets them from entity_aliases through surname_rows.
SURNAMES = IndexKind("surnames", pa.schema([
    pa.field("key", pa.string(), nullable=False),  # the surname's name key
    pa.field("full", pa.string(), nullable=False),  # a full name's key ending with it
]), distinct_rows, False, "entity_aliases",
    {"entity_id": "entity_id", "label": "label", "alias": "alias"})
INDEX_KINDS = (ENTITY_FORMS, SURNAMES)


def _surname_claim(mention: EntityMention) -> Iterator[tuple[str, tuple[str, str]]]:
    """(surname key, ("short", entity_id)) of a one-word PERSON mention, (surname key,
    ("full", name key)) of a full PERSON name."""
    if mention.label != PERSON:
        return
    surname = surname_of(mention.key)
    if surname is None:
        yield mention.key, ("short", mention.entity_id)
    elif mention.full:
        yield surname, ("full", mention.key)


def surname_rows(normalizer: NameNormalizer, aliases: list[dict[str, Any]]
                 ) -> list[dict[str, str]]:
    """Surnames index rows ({key: surname, full: full name key}) of the full person names
    among entity_aliases rows (entity_id, label, alias): how an output written before the
    index gets it."""
    claims, keys = set(), {}
    for row in aliases:
        if row["label"] != PERSON:
            continue
        if row["alias"] not in keys:  # a spelling recurs across runs: key it once
            key = normalizer.key(row["alias"], PERSON)
            keys[row["alias"]] = key, entity_id_for(key, PERSON)
        key, own_id = keys[row["alias"]]
        surname = surname_of(key)
        if surname is not None and own_id == row["entity_id"]:
            claims.add((surname, key))
    return [{"key": surname, "full": full} for surname, full in sorted(claims)]


def backfills(normalizer: NameNormalizer) -> dict[str, Deriver]:
    """How this stage's indexes whose rows are not dataset columns are built for an output
    written before them."""
    return {SURNAMES.name: partial(surname_rows, normalizer)}


def link_by_surname(grouped: tuple[str, Iterable[tuple[str, str]]]
                    ) -> Iterator[tuple[str, str]]:
    """(short entity_id, full entity_id) when exactly one full name ends with the short name,
    in this run or an earlier one; two or more leave it alone."""
    _, claims = grouped
    owners = sorted({value for kind, value in claims if kind == "full"})
    if len(owners) == 1:
        for short_id in sorted({value for kind, value in claims if kind == "short"}):
            yield short_id, entity_id_for(owners[0], PERSON)


def _linked_form(counted: tuple[tuple, int], links: dict[str, str]
                 ) -> tuple[tuple[str, str], tuple[str, bool, int, int]]:
    """A form counted in this run, keyed by its entity: moved to the full name its short name
    links to (where it is no longer a full form)."""
    (entity_id, label, alias, full), mentions = counted
    linked = links.get(entity_id)
    return (linked or entity_id, label), (alias, full and linked is None, mentions, 0)


def _summed(forms: Iterable[tuple[str, bool, int, int]]) -> list[tuple[str, bool, int, int]]:
    """One entry per (alias, full), its counts (this run, earlier runs) summed."""
    counts: dict[tuple[str, bool], tuple[int, int]] = {}
    for alias, full, this_run, earlier in forms:
        now, before = counts.get((alias, full), (0, 0))
        counts[alias, full] = now + this_run, before + earlier
    return [(alias, full, *both) for (alias, full), both in counts.items()]


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
        forms = _summed(forms)  # (alias, full, mentions this run, mentions in earlier runs)
        name = self.configured_names.get(entity_id) or canonical_name(forms)
        yield entity_id, name
        for alias, _, this_run, _ in sorted(forms):
            if this_run:
                yield pvalue.TaggedOutput("aliases", {
                    "entity_id": entity_id, "name": name, "label": label, "alias": alias,
                    "mentions": this_run})


def named_row(row: dict[str, Any], links: dict[str, str], names: dict[str, str]
              ) -> dict[str, Any]:
    """An entities row with its linked entity_id and the entity's canonical name."""
    entity_id = links.get(row["entity_id"], row["entity_id"])
    return {**row, "entity_id": entity_id, "name": names.get(entity_id, row["name"])}


class LinkSurnames(beam.PTransform):
    """EntityMentions -> {'links': (short name's entity_id, full name's entity_id) where one
    full name, of this run or an earlier one, ends with the short name; 'surnames': this run's
    rows of the surnames index}."""

    def __init__(self, output: OutputPaths) -> None:
        super().__init__()
        self.output = output

    def expand(self, mentions: beam.PCollection) -> dict[str, beam.PCollection]:
        claims = mentions | "SurnameClaims" >> beam.FlatMap(_surname_claim)
        earlier_claims = (claims
                          | "Surnames" >> beam.Keys()
                          | "LookUpEarlierSurnames" >> LookupIndex(self.output, SURNAMES)
                          | "EarlierClaims" >> beam.Map(
                              lambda row: (row["key"], ("full", row["full"]))))
        links = ((claims, earlier_claims)
                 | "AllClaims" >> beam.Flatten()
                 | "ClaimsBySurname" >> beam.CombinePerKey(beam.combiners.ToSetCombineFn())
                 | "LinkBySurname" >> beam.FlatMap(link_by_surname))
        surnames = claims | "FullNameClaims" >> beam.FlatMap(
            lambda claim: [{"key": claim[0], "full": claim[1][1]}] if claim[1][0] == "full"
            else [])
        return {"links": links, "surnames": surnames}


class CanonicalNames(beam.PTransform):
    """EntityMentions -> 'names': (entity_id, canonical name), and 'aliases': alias rows. Each
    spelling is counted as it comes, moved to the full name its short name links to (`links`,
    a side input), and counted with what earlier runs counted of it (the entity_forms index,
    for this run's entities only)."""

    def __init__(self, normalizer: NameNormalizer, output: OutputPaths, links: Any) -> None:
        super().__init__()
        self.normalizer = normalizer
        self.output = output
        self.links = links

    def expand(self, mentions: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        this_run = (mentions
                    | "FormOfMention" >> beam.Map(
                        lambda m: ((m.entity_id, m.label, m.name, m.full), 1))
                    | "CountForms" >> beam.CombinePerKey(sum)
                    | "LinkForms" >> beam.Map(_linked_form, self.links))
        earlier = (this_run
                   | "EntitiesOfRun" >> beam.Map(lambda form: form[0][0])
                   | "LookUpEarlierForms" >> LookupIndex(self.output, ENTITY_FORMS)
                   | "FormOfEarlierAlias" >> beam.Map(self._earlier_form))
        return ((this_run, earlier)
                | "AllForms" >> beam.Flatten()
                | "GroupFormsByEntity" >> beam.GroupByKey()
                | "PickCanonicalName" >> beam.ParDo(
                    PickCanonicalName(self.normalizer.configured_names())).with_outputs(
                    "aliases", main="names"))

    def _earlier_form(self, row: dict[str, Any]
                      ) -> tuple[tuple[str, str], tuple[str, bool, int, int]]:
        """An entity_forms row (earlier runs' mentions of a spelling) as a form keyed by its
        entity (full when the alias alone keys to that entity)."""
        own_id = entity_id_for(self.normalizer.key(row["alias"], row["label"]), row["label"])
        full = own_id == row["key"]
        return (row["key"], row["label"]), (row["alias"], full, 0, int(row["mentions"]))


class ResolveEntities(beam.PTransform):
    """EntityMentions -> {'mentions': entities rows with linked ids and canonical names,
    'aliases': alias rows, 'index_rows': {index name: rows} for its two indexes}. Earlier runs'
    counts and full names come from the output's indexes, for this run's entities and
    surnames only.

    Mentions wait for their entities' names on disk, not in memory: they are written as they
    come to Parquet files in the run's scratch folder and read back once the names are known.
    What the names need is counted per spelling as it comes (combined before any grouping), so
    memory grows with the number of entities and spellings, not with the number of mentions."""

    def __init__(self, normalizer: NameNormalizer, layout: OutputLayout) -> None:
        """`normalizer`: the entities stage's (EntitySettings.normalizer), so both stages key
        names alike; `layout`: the run's (its scratch files; the output's indexes)."""
        super().__init__()
        self.normalizer = normalizer
        self.layout = layout

    def expand(self, mentions: beam.PCollection) -> dict[str, beam.PCollection]:
        layout = self.layout
        output = layout.output
        staged_files = (mentions
                        | "UnresolvedRows" >> beam.Map(schema_row, "entities")
                        | "StageMentions" >> write_parquet(
                            lambda window: layout.in_window(window).scratch_prefix("entities"),
                            "entities"))
        linked = mentions | "LinkSurnames" >> LinkSurnames(output)
        links = beam.pvalue.AsDict(linked["links"])
        names = mentions | "CanonicalNames" >> CanonicalNames(self.normalizer, output, links)
        named = (staged_files
                 | "ReadStagedMentions" >> beam.FlatMap(read_parquet_rows)
                 | "NameMentions" >> beam.Map(named_row, links, beam.pvalue.AsDict(
                     # a step of its own: in streaming mode the DirectRunner's side input of
                     # one output of a multi-output step holds the other outputs' elements too
                     names.names | "NamesOnly" >> beam.Map(lambda pair: pair))))
        return {"mentions": named, "aliases": names.aliases,
                "index_rows": {SURNAMES.name: linked["surnames"],
                               ENTITY_FORMS.name: names.aliases | "EntityFormRows" >> beam.Map(
                                   ENTITY_FORMS.index_row)}}
