"""Key phrases: each article's most telling 1-3 word phrases (articles.keyphrases), found once
before the branches so the article row needs nothing from them (no join holding every
article's text)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace

import apache_beam as beam

from transforms.core.failures import StageDoFn, apply_stage
from transforms.core.language import primary_language
from transforms.core.records import Article
from transforms.core.settings import check_at_least
from transforms.core.text import PARAGRAPH_BREAK, TOKEN

STAGE = "keyphrases"
# A phrase never crosses punctuation or a line break (a dot inside a word is not a break).
_PHRASE_CHUNK = re.compile(r"(?:[^,;:!?()\[\]{}\"“”‘’«»|/–—\n.]|\.(?=\S))+")


@dataclass(frozen=True)
class KeyphraseSettings:
    """Config `keyphrases.*`: at most `limit` phrases per article, in the languages that have
    stop words."""

    limit: int = 10
    languages: tuple[str, ...] = ("en",)

    def __post_init__(self) -> None:
        check_at_least("keyphrases.limit", self.limit, 1)


def _is_sublist(inner: tuple[str, ...], outer: tuple[str, ...]) -> bool:
    return any(outer[i:i + len(inner)] == inner for i in range(len(outer) - len(inner) + 1))


def keyphrases(title: str | None, text: str, stopwords: frozenset[str],
               limit: int) -> list[str]:
    """Unsupervised key phrases (RAKE-like): 1-3 word stretches of the runs of content words
    between stop words and punctuation, scored by frequency x length, with a bonus for the
    headline and the first paragraph. A phrase needs two mentions (a lone common word three),
    and one that contains or sits inside a better one is dropped. Shown in their most common
    casing."""
    document = f"{title or ''}\n{text}"
    lead_end = len(title or "") + 1 + len(text.split(PARAGRAPH_BREAK, 1)[0])
    counts: Counter[tuple[str, ...]] = Counter()
    casings: Counter[tuple[tuple[str, ...], str]] = Counter()
    proper: set[tuple[str, ...]] = set()
    early: set[tuple[str, ...]] = set()
    for chunk in _PHRASE_CHUNK.finditer(document):
        in_lead = chunk.start() < lead_end
        for run in _content_runs(TOKEN.findall(chunk.group()), stopwords):
            folded = [w.casefold() for w in run]
            long = [len(w) > 2 for w in run]
            upper = [w[0].isupper() for w in run]
            for size in range(1, min(len(run), 3) + 1):
                for i in range(len(run) - size + 1):
                    if not any(long[i:i + size]):
                        continue
                    key = tuple(folded[i:i + size])
                    counts[key] += 1
                    casings[(key, " ".join(run[i:i + size]))] += 1
                    if any(upper[i:i + size]):
                        proper.add(key)
                    if in_lead:
                        early.add(key)

    def score(key: tuple[str, ...]) -> float:
        length = {1: 1.0, 2: 2.0}.get(len(key), 2.5)
        return counts[key] * length * (1.5 if key in early else 1.0) * (
            1.0 if key in proper or len(key) > 1 else 0.7)

    # a phrase needs two mentions, a lone common word three
    candidates = [key for key, n in counts.items()
                  if n >= (3 if len(key) == 1 and key not in proper else 2)]
    chosen: list[tuple[str, ...]] = []
    for key in sorted(candidates, key=lambda k: (-score(k), k)):
        if any(_is_sublist(key, other) or _is_sublist(other, key) for other in chosen):
            continue
        chosen.append(key)
        if len(chosen) == limit:
            break
    return _most_common_casings(casings, chosen)


def _content_runs(words: list[str], stopwords: frozenset[str]) -> Iterator[list[str]]:
    """The runs of content words between stop words and numbers."""
    run: list[str] = []
    for word in words:
        if word.casefold() not in stopwords and not word.isdigit():
            run.append(word)
        elif run:
            yield run
            run = []
    if run:
        yield run


def _most_common_casings(casings: Counter[tuple[tuple[str, ...], str]],
                         keys: list[tuple[str, ...]]) -> list[str]:
    """How the text most often writes each key (ties: the first seen)."""
    best: dict[tuple[str, ...], tuple[int, str]] = dict.fromkeys(keys, (0, ""))
    for (key, written), count in casings.items():
        if key in best and count > best[key][0]:
            best[key] = (count, written)
    return [best[key][1] for key in keys]


class AddKeyphrases(StageDoFn):
    """The article with its key phrases."""

    stage = STAGE

    def __init__(self, settings: KeyphraseSettings) -> None:
        self.limit = settings.limit
        self.languages = frozenset(settings.languages)
        self.stopwords: frozenset[str] = frozenset()

    def setup(self) -> None:
        from spacy.lang.en.stop_words import STOP_WORDS  # a word list; no model is loaded

        self.stopwords = frozenset(STOP_WORDS) | {"said", "says", "told", "mr", "mrs", "ms"}

    def handle(self, article: Article) -> Iterator[Article]:
        if not self.stopwords:
            self.setup()
        if primary_language(article.language) not in self.languages:
            yield article  # no stop words for its language: no key phrases
            return
        phrases = keyphrases(article.title, article.text, self.stopwords, self.limit)
        yield replace(article, keyphrases=tuple(phrases))


class KeyPhrases(beam.PTransform):
    """Articles -> (Articles with `keyphrases`, ErrorRecords)."""

    def __init__(self, settings: KeyphraseSettings) -> None:
        super().__init__()
        self.settings = settings

    def expand(self, articles: beam.PCollection) -> tuple[beam.PCollection, beam.PCollection]:
        return apply_stage(articles, "FindKeyphrases", AddKeyphrases(self.settings))
