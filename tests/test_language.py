"""Languages: every article gets a code; NER runs with the model of its language (French has
one), topics and key phrases only where there is vocabulary; other languages are written
without them and counted."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURES, read_dataset

from pipeline import cli
from transforms.core.language import UNDETERMINED, detect_language, primary_language
from transforms.core.records import RawDocument
from transforms.parse import parse_text

TEXTS = FIXTURES / "languages"


@pytest.mark.parametrize(("name", "code"), [("de.txt", "de"), ("fr.txt", "fr"), ("en.txt", "en")])
def test_text_articles_get_their_language(name: str, code: str) -> None:
    text = (TEXTS / name).read_text(encoding="utf-8")
    assert parse_text(RawDocument(name, "text", text)).language == code


def test_codes() -> None:
    assert detect_language("12 345 -- 678") == UNDETERMINED
    assert primary_language("en-GB") == "en" and primary_language("pt_BR") == "pt"
    assert primary_language(None) == UNDETERMINED


@pytest.mark.slow
def test_each_language_gets_what_it_has_models_for(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "out"
    assert cli.main(["run", "--input", f"{TEXTS}/*.txt", "--output", str(output)]) == 0
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert "; languages: de 1, en 1, fr 1 (without entities: de 1)" in summary
    articles = {Path(a["source"]).name: a for a in read_dataset(output, "articles")}
    assert {name: a["language"] for name, a in articles.items()} == {
        "de.txt": "de", "en.txt": "en", "fr.txt": "fr"}
    entities, topics = read_dataset(output, "entities"), read_dataset(output, "topics")

    def of(name: str, rows: list[dict]) -> set:
        return {(r["text"], r["label"]) if "label" in r else r["topic"] for r in rows
                if r["article_id"] == articles[name]["article_id"]}

    # French: the French model's entities, its PER written as PERSON; top-level topics from
    # the trained head (no subtopics: the vocabulary is English); no key phrases
    assert {("Michel Barnier", "PERSON"), ("Paris", "LOC"), ("Lyon", "LOC")} <= of(
        "fr.txt", entities)
    assert "politics" in of("fr.txt", topics) and articles["fr.txt"]["keyphrases"] == []
    assert all(r["parent_id"] is None for r in topics
               if r["article_id"] == articles["fr.txt"]["article_id"])
    # German: no NER model, no vocabulary: topics from the head, nothing else
    assert of("de.txt", entities) == set() and of("de.txt", topics)
    assert articles["de.txt"]["keyphrases"] == [] and articles["de.txt"]["word_count"] > 30
    # English as before
    assert {("Keir Starmer", "PERSON"), ("London", "GPE")} <= of("en.txt", entities)
    assert "politics" in of("en.txt", topics) and articles["en.txt"]["keyphrases"]
