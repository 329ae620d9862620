"""Topics: IPTC Media Topics per article (top level, and one level down where confident), each
with a score in [0, 1], plus the article's key phrases."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import apache_beam as beam

from pipeline.config import choose
from pipeline.records import Article, TopicScore
from transforms.failures import StageDoFn, apply_stage

STAGE = "topics"
# A word, with inner apostrophes, dots and hyphens ("Archyde.com", "semi-final", "women's").
_TOKEN = re.compile(r"\w+(?:['’.-]\w+)*")
# A phrase never crosses punctuation or a line break (a dot inside a word is not a break).
_PHRASE_CHUNK = re.compile(r"(?:[^,;:!?()\[\]{}\"“”‘’«»|/–—\n.]|\.(?=\S))+")


def _tokens(text: str) -> list[str]:
    return [t.replace("’", "'") for t in _TOKEN.findall(text)]


@dataclass(frozen=True)
class Topic:
    topic_id: str
    label: str
    parent_id: str | None


@dataclass(frozen=True)
class TopicLexicon:
    """configs/topics.yaml compiled into one keyword index for all topics and subtopics, so an
    article is read once: each word is looked up (whole, by its prefixes for `word*`
    keywords, and as the start of a phrase) instead of running one regex per topic.

    `keywords` match in any case; `case_keywords` (proper names of parties, institutions,
    companies) only as written ("Labour" the party is politics, "labour" the topic) and, being
    less ambiguous than common words, weigh `name_weight`."""

    topics: tuple[Topic, ...]
    # (first word, case-sensitive) -> [(rest of the phrase, last word is a prefix, topic, weight)]
    index: dict[tuple[str, bool], list[tuple[tuple[str, ...], bool, str, float]]]
    prefixes: dict[tuple[str, bool], list[tuple[str, float]]]  # single `word*` keywords
    prefix_lengths: tuple[int, ...]
    # each prefix's first prefix_lengths[0] characters: a word that starts otherwise (most
    # words) needs no lookup per prefix length
    prefix_starts: frozenset[tuple[str, bool]]
    parent_of: dict[str, str | None]

    @classmethod
    def from_config(cls, lexicon: dict[str, Any], name_weight: float) -> TopicLexicon:
        topics: list[Topic] = []
        index: dict = defaultdict(list)
        prefixes: dict = defaultdict(list)

        def add(topic_id: str, entry: dict[str, Any]) -> None:
            for cased, words, weight in ((False, entry["keywords"], 1.0),
                                         (True, entry.get("case_keywords") or [], name_weight)):
                for keyword in words:
                    is_prefix = keyword.strip().endswith("*")
                    parts = _tokens(keyword.strip().rstrip("*"))
                    parts = parts if cased else [w.casefold() for w in parts]
                    if len(parts) == 1 and is_prefix:
                        prefixes[(parts[0], cased)].append((topic_id, weight))
                    else:
                        index[(parts[0], cased)].append(
                            (tuple(parts[1:]), is_prefix, topic_id, weight))

        for code, entry in lexicon.items():
            topics.append(Topic(code, entry["label"], None))
            add(code, entry)
            for sub_code, sub in (entry.get("subtopics") or {}).items():
                topics.append(Topic(sub_code, sub["label"], code))
                add(sub_code, sub)
        lengths = tuple(sorted({len(word) for word, _ in prefixes})) or (1,)
        starts = frozenset((word[:lengths[0]], cased) for word, cased in prefixes)
        return cls(tuple(topics), dict(index), dict(prefixes), lengths, starts,
                   {t.topic_id: t.parent_id for t in topics})

    def hits(self, tokens: list[str]) -> Iterator[tuple[str, str, float, int]]:
        """(topic_id, the matched keyword text, keyword weight, token position) for every
        keyword hit."""
        folded = [t.casefold() for t in tokens]
        for i, token in enumerate(tokens):
            for word, cased in ((folded[i], False), (token, True)):
                for rest, last_is_prefix, topic_id, weight in self.index.get((word, cased), ()):
                    following = (tokens if cased else folded)[i + 1:i + 1 + len(rest)]
                    if len(following) < len(rest):
                        continue
                    if last_is_prefix:  # a phrase whose last word is a `word*` prefix
                        matched = (tuple(following[:-1]) == rest[:-1]
                                   and following[-1].startswith(rest[-1]))
                    else:
                        matched = tuple(following) == rest
                    if matched:
                        yield topic_id, " ".join(folded[i:i + 1 + len(rest)]), weight, i
                if (word[:self.prefix_lengths[0]], cased) not in self.prefix_starts:
                    continue
                for length in self.prefix_lengths:
                    if length > len(word):
                        break
                    for topic_id, weight in self.prefixes.get((word[:length], cased), ()):
                        yield topic_id, word, weight, i


@dataclass(frozen=True)
class ScoringSettings:
    min_score: float
    max_topics: int
    title_weight: float  # a keyword in the headline counts this many times
    lead_weight: float  # ... in the first paragraphs
    lead_paragraphs: int
    repeats_counted: int  # one keyword counts at most this many times (breadth over repetition)
    evidence_scale: float  # hits at which confidence reaches 1 - 1/e
    max_subtopics: int
    name_weight: float  # a case_keywords hit (a proper name) counts this many times


def _evidence(lexicon: TopicLexicon, title: str | None, text: str,
              settings: ScoringSettings) -> dict[str, float]:
    """Weighted keyword evidence per topic: a hit counts `title_weight` in the headline,
    `lead_weight` in the first paragraphs, 1 elsewhere, times its keyword's weight; one
    keyword's repeats count at most `repeats_counted` times (breadth over repetition).

    A subtopic's hit is evidence for its parent too (the taxonomy's broader relation: an
    article on diplomacy is about politics); a place in the text counts once per topic."""
    paragraphs = text.split("\n\n")
    parts = ((title or "", settings.title_weight),
             ("\n".join(paragraphs[:settings.lead_paragraphs]), settings.lead_weight),
             ("\n".join(paragraphs[settings.lead_paragraphs:]), 1.0))
    weights: dict[tuple[str, str], dict[tuple[int, int], float]] = defaultdict(dict)
    for part_index, (part, part_weight) in enumerate(parts):
        for topic_id, keyword, keyword_weight, position in lexicon.hits(_tokens(part)):
            weight = part_weight * keyword_weight
            for target in (topic_id, lexicon.parent_of[topic_id]):
                if target is not None:
                    at = weights[(target, keyword)]
                    at[(part_index, position)] = max(weight, at.get((part_index, position), 0))
    evidence: dict[str, float] = defaultdict(float)
    for (topic_id, _), found in weights.items():
        evidence[topic_id] += sum(sorted(found.values(), reverse=True)[:settings.repeats_counted])
    return evidence


def _shares(evidence: dict[str, float], scale: float) -> dict[str, float]:
    """Each topic's share of the evidence, times the confidence that there is enough of it."""
    total = sum(evidence.values())
    if total <= 0:
        return {}
    confidence = 1.0 - math.exp(-total / scale)
    return {code: hits / total * confidence for code, hits in evidence.items() if hits > 0}


def score_topics(title: str | None, text: str, lexicon: TopicLexicon,
                 settings: ScoringSettings) -> list[tuple[Topic, float]]:
    """Top-level topics over min_score (at most max_topics, best first), each followed by its
    subtopics that clear min_score within it. Score = the topic's share of all keyword
    evidence x (1 - e^(-evidence / scale)): a long article about one thing scores near 1, a
    stray keyword near 0."""
    if not text.strip():
        return []
    evidence = _evidence(lexicon, title, text, settings)
    top = [t for t in lexicon.topics if t.parent_id is None]
    scores = _shares({t.topic_id: evidence.get(t.topic_id, 0.0) for t in top},
                     settings.evidence_scale)
    chosen = sorted((t for t in top if scores.get(t.topic_id, 0) >= settings.min_score),
                    key=lambda t: (-scores[t.topic_id], t.topic_id))[:settings.max_topics]
    result = []
    for parent in chosen:
        parent_score = scores[parent.topic_id]
        result.append((parent, round(parent_score, 4)))
        children = [t for t in lexicon.topics if t.parent_id == parent.topic_id]
        child_scores = _shares({t.topic_id: evidence.get(t.topic_id, 0.0) for t in children},
                               settings.evidence_scale)
        ranked = sorted((t for t in children
                         if parent_score * child_scores.get(t.topic_id, 0) >= settings.min_score),
                        key=lambda t: (-child_scores[t.topic_id], t.topic_id))
        result += [(t, round(parent_score * child_scores[t.topic_id], 4))
                   for t in ranked[:settings.max_subtopics]]
    return result


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
    lead_end = len(title or "") + 1 + len(text.split("\n\n", 1)[0])
    counts: Counter[tuple[str, ...]] = Counter()
    casings: Counter[tuple[tuple[str, ...], str]] = Counter()
    proper: set[tuple[str, ...]] = set()
    early: set[tuple[str, ...]] = set()
    for chunk in _PHRASE_CHUNK.finditer(document):
        in_lead = chunk.start() < lead_end
        for run in _content_runs(_TOKEN.findall(chunk.group()), stopwords):
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
    """The article with its key phrases, found once before the branches so the article row
    needs nothing from them (no join holding every article's text)."""

    stage = STAGE

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.stopwords: frozenset[str] = frozenset()

    def setup(self) -> None:
        from spacy.lang.en.stop_words import STOP_WORDS  # a word list; no model is loaded

        self.stopwords = frozenset(STOP_WORDS) | {"said", "says", "told", "mr", "mrs", "ms"}

    def handle(self, article: Article) -> Iterator[Article]:
        if not self.stopwords:
            self.setup()
        phrases = keyphrases(article.title, article.text, self.stopwords, self.limit)
        yield replace(article, keyphrases=tuple(phrases))


class LexiconTopics(StageDoFn):
    """A transparent labeller: weighted keyword evidence per IPTC Media Topic, from the
    taxonomy's definitions and general news vocabulary (configs/topics.yaml)."""

    stage = STAGE

    def __init__(self, lexicon: dict[str, Any], settings: ScoringSettings) -> None:
        self.lexicon = TopicLexicon.from_config(lexicon, settings.name_weight)
        self.settings = settings

    @classmethod
    def from_config(cls, topics: dict[str, Any]) -> LexiconTopics:
        scoring = topics["scoring"]
        settings = ScoringSettings(min_score=topics["min_score"],
                                   max_topics=topics["max_topics"], **scoring)
        return cls(topics["lexicon"], settings)

    def handle(self, article: Article) -> Iterator[TopicScore]:
        """The article's TopicScores, best top-level topic first, each followed by its
        subtopics."""
        for topic, score in score_topics(article.title, article.text, self.lexicon,
                                         self.settings):
            yield TopicScore(article.article_id, topic.topic_id, topic.label, score,
                             topic.parent_id)


TOPIC_BACKENDS: dict[str, Any] = {"lexicon_topics": LexiconTopics}


class ExtractTopics(beam.PTransform):
    """Articles -> (TopicScores, ErrorRecords)."""

    def __init__(self, topics: dict[str, Any]) -> None:
        super().__init__()
        self.labeller = choose(TOPIC_BACKENDS, topics["backend"], "topics.backend").from_config(
            topics)

    def expand(self, articles: beam.PCollection) -> tuple[beam.PCollection, beam.PCollection]:
        return apply_stage(articles, "ScoreTopics", self.labeller)


class KeyPhrases(beam.PTransform):
    """Articles -> (Articles with `keyphrases`, ErrorRecords)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def expand(self, articles: beam.PCollection) -> tuple[beam.PCollection, beam.PCollection]:
        return apply_stage(articles, "FindKeyphrases", AddKeyphrases(self.limit))
