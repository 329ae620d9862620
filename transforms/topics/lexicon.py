"""The topic lexicon: configs/topics.yaml (IPTC Media Topics, their keywords and names)
compiled into one keyword index."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from transforms.core.text import tokens as _tokens


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

    `keywords` (and `iptc_keywords`, those taken from the names of IPTC's narrower topics)
    match in any case; `case_keywords` (proper names of parties, institutions,
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
            common = [*entry["keywords"], *(entry.get("iptc_keywords") or [])]
            for cased, words, weight in ((False, common, 1.0),
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
