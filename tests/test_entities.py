"""Entities: span trimming, the name normaliser, in-article resolution, and the spaCy DoFn
called through setup()/process()."""

from __future__ import annotations

import pytest

from pipeline.config import RunSettings
from transforms.core.names import NameNormalizer, display_name, entity_id_for
from transforms.core.records import Article, ArticleEntities, text_digest
from transforms.core.settings import choose
from transforms.entities import ENTITY_BACKENDS, SpacyEntities, resolve_in_article, trim_span


@pytest.fixture(scope="module")
def normalizer(settings: RunSettings) -> NameNormalizer:
    return settings.entities.normalizer


def test_trim_span_drops_quotes_punctuation_and_possessive() -> None:
    text = "He met “Assad’s” envoy."
    start = text.index("“")
    assert text[slice(*trim_span(text, start, start + len("“Assad’s”")))] == "Assad"


def test_trim_span_keeps_the_line_holding_the_name() -> None:
    text = "Talks ended.\n\nIsmail Haniyeh said"
    start, end = trim_span(text, text.index("ended"), text.index(" said"))
    assert text[start:end] == "Ismail Haniyeh"


@pytest.mark.parametrize("variants", [
    ["Khalil al-Haya", "Khalil al-hayya", "Khalil al-Hayya", "Khalil al Hayya",
     "Khalil Al-Haya"],
    ["Bashar al-Assad", "Bashar Assad", "Bashar Al-Assad", "Bashar al Assad"],
    ["Khaled Mashaal", "Khaled Mashal"],
    ["Sa'ad Hariri", "Saad Hariri", "Sa’ad Hariri"],
    ["José Álvarez", "Jose Alvarez"],
])
def test_spelling_variants_share_a_key(variants: list[str], normalizer: NameNormalizer) -> None:
    assert len({normalizer.key(v, "PERSON") for v in variants}) == 1


@pytest.mark.parametrize(("one", "other"), [
    ("Qassem Soleimani", "Hazem Qassem"),
    ("Ismail Haniyeh", "Ismail Sinwar"),
    ("Khalil al-Haya", "Khalil Shikaki"),
    ("Hassan Nasrallah", "Hassan Rouhani"),
])
def test_near_names_stay_apart(one: str, other: str, normalizer: NameNormalizer) -> None:
    assert normalizer.key(one, "PERSON") != normalizer.key(other, "PERSON")


def test_alias_table_joins_what_spelling_cannot(normalizer: NameNormalizer) -> None:
    assert normalizer.key("Türkiye", "GPE") == normalizer.key("Turkey", "GPE") == "turkey"
    assert normalizer.key("U.S.", "GPE") == normalizer.key("United States", "GPE")
    assert normalizer.key("Türkiye", "PERSON") == "turkiye"  # aliases are per label
    names = normalizer.configured_names()
    assert names[entity_id_for("turkey", "GPE")] == "Turkey"


def test_entity_id_is_stable_and_label_specific() -> None:
    assert entity_id_for("hamas", "ORG") == entity_id_for("hamas", "ORG")
    assert entity_id_for("hamas", "ORG") != entity_id_for("hamas", "PERSON")
    assert len(entity_id_for("hamas", "ORG")) == 16
    assert display_name("the  United Nations") == "United Nations"


def _spans(text: str, *mentions: tuple[str, str]) -> list[tuple[int, int, str]]:
    """(start, end, label) of each (surface, label), found in order in the text."""
    spans, cursor = [], 0
    for surface, label in mentions:
        start = text.index(surface, cursor)
        spans.append((start, start + len(surface), label))
        cursor = start + len(surface)
    return spans


PEOPLE = frozenset({"PERSON", "ORG", "GPE", "NORP"})


def test_short_mention_joins_the_full_name_and_label_is_voted(
        normalizer: NameNormalizer) -> None:
    text = ("President Bashar al-Assad met the delegation. Assad said the talks were useful, "
            "and Assad thanked Iran. Critics of the Assad government disagreed.")
    article = Article("a1", "s", "text", text)
    mentions = resolve_in_article(article, _spans(
        text, ("Bashar al-Assad", "PERSON"), ("Assad", "PERSON"), ("Assad", "GPE"),
        ("Iran", "GPE"), ("Assad", "PERSON")), PEOPLE, normalizer)
    assad = [m for m in mentions if "Assad" in m.text]
    assert len({m.entity_id for m in assad}) == 1
    assert {m.label for m in assad} == {"PERSON"}
    assert [m.full for m in assad] == [True, False, False, False]
    assert all(text[m.start:m.end] == m.text for m in mentions)
    iran = [m for m in mentions if m.text == "Iran"]
    assert iran[0].label == "GPE" and iran[0].entity_id != assad[0].entity_id


def test_short_mention_with_two_possible_owners_stays_alone(normalizer: NameNormalizer) -> None:
    text = "John Smith and Anna Smith spoke. Smith said no."
    article = Article("a2", "s", "text", text)
    mentions = resolve_in_article(article, _spans(
        text, ("John Smith", "PERSON"), ("Anna Smith", "PERSON"), ("Smith", "PERSON")),
        PEOPLE, normalizer)
    assert len({m.entity_id for m in mentions}) == 3


def test_organisation_never_joins_a_person(normalizer: NameNormalizer) -> None:
    text = "Harrison Ford praised Ford. Ford shares rose."
    article = Article("a3", "s", "text", text)
    mentions = resolve_in_article(article, _spans(
        text, ("Harrison Ford", "PERSON"), ("Ford", "ORG"), ("Ford", "ORG")), PEOPLE, normalizer)
    person, *companies = mentions
    assert {m.label for m in companies} == {"ORG"}
    assert all(m.entity_id != person.entity_id for m in companies)


@pytest.fixture(scope="module")
def tagger(settings: RunSettings) -> SpacyEntities:
    dofn = SpacyEntities(settings.entities)
    dofn.setup()
    return dofn


def test_setup_disables_what_ner_does_not_need(tagger: SpacyEntities) -> None:
    assert list(tagger.nlps) == ["en"]  # the first model at setup; others when needed
    assert tagger.nlps["en"].pipe_names == ["ner"]


def test_mentions_have_exact_offsets(tagger: SpacyEntities) -> None:
    text = ("Hamas leader Ismail Haniyeh met Syrian President Bashar al-Assad in Damascus "
            "on Wednesday, the United Nations said.")
    article = Article(article_id="a1", source="s", kind="text", text=text, language="en")
    [recognised] = tagger.process([article])
    assert recognised.article_id == "a1" and recognised.text_digest == text_digest(text)
    mentions = recognised.mentions
    assert all(m.article_id == "a1" for m in mentions)
    found = {(m.text, m.label) for m in mentions}
    assert {("Ismail Haniyeh", "PERSON"), ("Damascus", "GPE")} <= found
    assert all(text[m.start:m.end] == m.text for m in mentions)
    assert not any(m.label in ("DATE", "CARDINAL") for m in mentions)  # not in entities.labels


def test_too_long_text_goes_to_errors_and_the_batch_goes_on(tagger: SpacyEntities) -> None:
    long_text = "word " * (tagger.nlps["en"].max_length // 5 + 1)
    articles = [Article(article_id="big", source="big.txt", kind="text", text=long_text,
                        language="en"),
                Article(article_id="ok", source="ok.txt", kind="text", language="en",
                        text="Angela Merkel visited Paris.")]
    outputs = list(tagger.process(articles))
    errors = [o.value for o in outputs if getattr(o, "tag", None) == "errors"]
    assert [(e.source, e.stage) for e in errors] == [("big.txt", "entities")]
    [recognised] = [o for o in outputs if isinstance(o, ArticleEntities)]
    assert recognised.article_id == "ok"
    assert any(m.text == "Paris" for m in recognised.mentions)


def test_unknown_backend_lists_valid_choices() -> None:
    with pytest.raises(ValueError, match="valid choices: spacy_ner"):
        choose(ENTITY_BACKENDS, "bert", "entities.backend")
