"""Dedupe: one article per id, with the mentions recognised in that article's own text."""

from __future__ import annotations

from apache_beam.pvalue import TaggedOutput

from transforms.core.failures import ERRORS
from transforms.core.records import Article, ArticleEntities, EntityMention, text_digest
from transforms.dedupe import MENTIONS, KeepFirstArticle


def mention(article_id: str, name: str, start: int) -> EntityMention:
    return EntityMention(article_id, f"id-{name}", name, "PERSON", name, start, start + len(name))


def test_the_kept_article_comes_with_its_own_mentions_and_the_copy_is_an_errors_row() -> None:
    """Two pages with one canonical URL (one id) and different texts: the first source is
    kept, with the mentions found in its text, not those found in the other's."""
    first = Article("id1", "a.html", "html", "Angela Merkel spoke.")
    second = Article("id1", "b.html", "html", "Emmanuel Macron spoke.")
    group = {"articles": [second, first], "existing": [],
             "entities": [
                 ArticleEntities("id1", text_digest(second.text),
                                 (mention("id1", "Emmanuel Macron", 0),)),
                 ArticleEntities("id1", text_digest(first.text),
                                 (mention("id1", "Angela Merkel", 0),))]}
    outputs = list(KeepFirstArticle().process(("id1", group)))
    assert [o for o in outputs if isinstance(o, Article)] == [first]
    errors = [o.value for o in outputs if isinstance(o, TaggedOutput) and o.tag == ERRORS]
    assert [(e.source, e.message) for e in errors] == [
        ("b.html", "same article_id id1 as a.html; kept that one")]
    kept_mentions = [o.value for o in outputs
                     if isinstance(o, TaggedOutput) and o.tag == MENTIONS]
    assert [m.text for m in kept_mentions] == ["Angela Merkel"]


def test_an_article_the_output_holds_is_skipped_with_its_mentions() -> None:
    article = Article("id2", "a.txt", "text", "Angela Merkel spoke.")
    group = {"articles": [article], "existing": [None],
             "entities": [ArticleEntities("id2", text_digest(article.text),
                                          (mention("id2", "Angela Merkel", 0),))]}
    assert list(KeepFirstArticle().process(("id2", group))) == []


def test_an_article_without_recognised_entities_is_kept_alone() -> None:
    """A language without a model: no ArticleEntities, the article is still written."""
    article = Article("id3", "a.txt", "text", "Ein Artikel auf Deutsch.", language="de")
    group = {"articles": [article], "existing": [], "entities": []}
    assert list(KeepFirstArticle().process(("id3", group))) == [article]
