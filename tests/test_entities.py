"""Entities: span trimming, ids, and the spaCy DoFn called through setup()/process()."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.config import choose
from pipeline.records import Article
from transforms.entities import (
    ENTITY_BACKENDS,
    SpacyEntities,
    canonical_name,
    entity_id_for,
    entity_key,
    trim_span,
)


def test_trim_span_drops_quotes_punctuation_and_possessive() -> None:
    text = "He met “Assad’s” envoy."
    start = text.index("“")
    assert text[slice(*trim_span(text, start, start + len("“Assad’s”")))] == "Assad"


def test_entity_key_ignores_case_diacritics_and_hyphens() -> None:
    assert entity_key("Khalil al-Hayya") == entity_key("Khalil Al Hayya") == "khalil al hayya"
    assert entity_key("Türkiye") == "turkiye"
    assert canonical_name("the  United Nations") == "United Nations"


def test_entity_id_is_stable_and_label_specific() -> None:
    assert entity_id_for("Bashar al-Assad", "PERSON") == entity_id_for("Bashar Al-Assad", "PERSON")
    assert entity_id_for("Hamas", "ORG") != entity_id_for("Hamas", "PERSON")
    assert len(entity_id_for("Hamas", "ORG")) == 16


@pytest.fixture(scope="module")
def tagger(config: dict[str, Any]) -> SpacyEntities:
    entities = config["entities"]
    dofn = SpacyEntities(entities["model"], entities["labels"], entities["batch_size"])
    dofn.setup()
    return dofn


def test_setup_disables_what_ner_does_not_need(tagger: SpacyEntities) -> None:
    assert tagger.nlp.pipe_names == ["ner"]


def test_mentions_have_exact_offsets(tagger: SpacyEntities) -> None:
    text = ("Hamas leader Ismail Haniyeh met Syrian President Bashar al-Assad in Damascus "
            "on Wednesday, the United Nations said.")
    article = Article(article_id="a1", source="s", kind="text", text=text)
    outputs = list(tagger.process([article]))
    mentions = [m for key, m in outputs]
    assert all(key == "a1" for key, _ in outputs)
    found = {(m.text, m.label) for m in mentions}
    assert {("Ismail Haniyeh", "PERSON"), ("Damascus", "GPE")} <= found
    assert all(text[m.start:m.end] == m.text for m in mentions)
    assert not any(m.label in ("DATE", "CARDINAL") for m in mentions)  # not in entities.labels


def test_too_long_text_goes_to_errors_and_the_batch_goes_on(tagger: SpacyEntities) -> None:
    long_text = "word " * (tagger.nlp.max_length // 5 + 1)
    articles = [Article(article_id="big", source="big.txt", kind="text", text=long_text),
                Article(article_id="ok", source="ok.txt", kind="text",
                        text="Angela Merkel visited Paris.")]
    outputs = list(tagger.process(articles))
    errors = [o.value for o in outputs if getattr(o, "tag", None) == "errors"]
    assert [(e.source, e.stage) for e in errors] == [("big.txt", "entities")]
    assert any(m.text == "Paris" for _, m in (o for o in outputs if isinstance(o, tuple)))


def test_unknown_backend_lists_valid_choices() -> None:
    with pytest.raises(ValueError, match="valid choices: spacy_ner"):
        choose(ENTITY_BACKENDS, "bert", "entities.backend")
