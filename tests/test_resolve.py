"""Cross-article resolution on a TestPipeline: surname links, canonical names, aliases."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.config import RunSettings
from transforms.core.names import NameNormalizer, entity_id_for
from transforms.core.records import Article
from transforms.entities import resolve_in_article
from transforms.resolve import ENTITY_FORMS, ResolveEntities, canonical_name
from transforms.storage.index import BEGINNING, write_index_file
from transforms.storage.layout import OutputLayout

PEOPLE = frozenset({"PERSON", "ORG", "GPE"})


@pytest.fixture(scope="module")
def normalizer(settings: RunSettings) -> NameNormalizer:
    return settings.entities.normalizer


def article_mentions(normalizer: NameNormalizer, article_id: str,
                     *names: tuple[str, str]) -> list[Any]:
    """An article whose text is the names, one a line, each tagged with its label."""
    text = "\n".join(name for name, _ in names)
    spans, cursor = [], 0
    for name, label in names:
        start = text.index(name, cursor)
        spans.append((start, start + len(name), label))
        cursor = start + len(name)
    article = Article(article_id, f"{article_id}.txt", "text", text)
    return resolve_in_article(article, spans, PEOPLE, normalizer)


def test_canonical_name_is_most_common_full_form() -> None:
    forms = [("Khalil al-Haya", True, 3, 0), ("Khalil al Hayya", True, 2, 0),
             ("Hayya", False, 9, 0), ("Khalil al-hayya", True, 0, 4)]
    assert canonical_name(forms) == "Khalil al-hayya"  # earlier runs count too
    assert canonical_name([("Assad", True, 2, 0), ("Asad", True, 2, 0)]) == "Asad"


def test_resolution_across_articles(normalizer: NameNormalizer, tmp_path: Path) -> None:
    mentions = (
        article_mentions(normalizer, "a", ("Bashar al-Assad", "PERSON"), ("Assad", "PERSON"))
        + article_mentions(normalizer, "b", ("Bashar Assad", "PERSON"),
                           ("Bashar Assad", "PERSON"), ("Türkiye", "GPE"))
        + article_mentions(normalizer, "c", ("Assad", "PERSON"), ("Turkey", "GPE"),
                           ("Smith", "PERSON"))
        + article_mentions(normalizer, "d", ("John Smith", "PERSON"), ("Anna Smith", "PERSON"),
                           ("Hamas", "ORG"))
    )
    assad = entity_id_for("bashar asad", "PERSON")
    turkey = entity_id_for("turkey", "GPE")
    # an earlier run's count of one spelling, as its commit left it in the entity_forms index
    layout = OutputLayout(str(tmp_path), datetime.now(UTC))
    earlier = pa.Table.from_pylist([{"key": assad, "label": "PERSON", "alias": "Bashar al-Assad",
                                     "mentions": 1}], schema=ENTITY_FORMS.schema)
    write_index_file(layout.output.index_bucket("entity_forms", ENTITY_FORMS.bucket_of(assad)),
                     ENTITY_FORMS, earlier, BEGINNING, BEGINNING)
    with TestPipeline() as p:
        resolved = (p | "Mentions" >> beam.Create(mentions)
                    | ResolveEntities(normalizer, layout))
        assert_that(resolved["mentions"] | "Ids" >> beam.Map(
            lambda m: (m["article_id"], m["text"], m["entity_id"] == assad, m["name"])),
            equal_to([
                ("a", "Bashar al-Assad", True, "Bashar Assad"),
                ("a", "Assad", True, "Bashar Assad"),
                ("b", "Bashar Assad", True, "Bashar Assad"),
                ("b", "Bashar Assad", True, "Bashar Assad"),
                ("b", "Türkiye", False, "Turkey"),
                ("c", "Assad", True, "Bashar Assad"),  # linked across articles by surname
                ("c", "Turkey", False, "Turkey"),
                ("c", "Smith", False, "Smith"),  # two full Smiths in the run: left alone
                ("d", "John Smith", False, "John Smith"),
                ("d", "Anna Smith", False, "Anna Smith"),
                ("d", "Hamas", False, "Hamas"),
            ]), label="CanonicalMentions")
        assert_that(resolved["aliases"] | "Aliases" >> beam.Map(
            lambda row: (row["entity_id"] in (assad, turkey), row["name"], row["alias"],
                         row["mentions"])),
            equal_to([
                (True, "Bashar Assad", "Assad", 2),
                (True, "Bashar Assad", "Bashar Assad", 2),
                (True, "Bashar Assad", "Bashar al-Assad", 1),
                (True, "Turkey", "Turkey", 1),
                (True, "Turkey", "Türkiye", 1),
                (False, "Smith", "Smith", 1),
                (False, "John Smith", "John Smith", 1),
                (False, "Anna Smith", "Anna Smith", 1),
                (False, "Hamas", "Hamas", 1),
            ]), label="AliasRows")
