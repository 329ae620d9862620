"""Clean: remove page leftovers (comment widgets, captions and credits, "read more" links,
bylines and author bios, navigation, share and promotion lines) from the body, keeping why."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import apache_beam as beam

from transforms.core import metrics
from transforms.core.bylines import byline_line
from transforms.core.failures import BadInput, StageDoFn, apply_stage
from transforms.core.records import Article, Metadata, Removed, host_of
from transforms.core.settings import check_at_least
from transforms.core.text import PARAGRAPH_BREAK, SENTENCE_END, paragraphs_of, word_count

STAGE = "clean"
DROPPED_TOO_SHORT = "dropped.too_short"  # counter: articles with fewer than min_words left
_DIGIT = re.compile(r"\d")
_LISTED = re.compile(r"\w\s*[:,;]\s+\w")  # "Arsenal: Saka, Trossard"
# Removed by a rule but part of the article's run: they do not end it.
INLINE_REASONS = frozenset({"caption", "photo_credit", "read_more", "duplicate"})
# Found where an article ends: widening a run never crosses them.
END_REASONS = frozenset({"related", "comment_widget"})


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def _alternation(names: list[str]) -> str:
    return "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))


@dataclass(frozen=True)
class BoilerplateRules:
    """The compiled form of configs/boilerplate.yaml (compiled once, on the launcher)."""

    patterns: tuple[tuple[str, re.Pattern[str]], ...]
    caption_endings: tuple[re.Pattern[str], ...]
    caption_markers: tuple[re.Pattern[str], ...]
    author_bio_heading: re.Pattern[str]
    max_boilerplate_words: int
    caption_repeat_window: int
    caption_min_words: int
    duplicate_min_words: int
    trailing_fragment_max_words: int
    main_block: dict[str, int]
    page_text: dict[str, int]

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> BoilerplateRules:
        languages = _alternation(config["languages"])
        agencies = _alternation(config["agencies"])
        derived = [
            ("navigation", rf"^(?:(?:{languages})\s*[/|·•,]\s*)+(?:{languages})$"),
            ("photo_credit", rf"^[(\[]?\s*(?-i:{agencies})(?:\s+photos?)?\s*[)\]]?$"),
            ("photo_credit", rf"^[^.!?]{{0,60}}\s*/\s*(?-i:{agencies})(?:\s+via\s+[^.]{{0,40}})?$"),
        ]
        listed = [(reason, p) for reason, ps in config["patterns"].items() for p in ps]
        return cls(
            patterns=tuple((reason, _compile(p)) for reason, p in derived + listed),
            caption_endings=tuple(_compile(p) for p in config["caption_credit_endings"]),
            caption_markers=tuple(_compile(p) for p in config["caption_markers"]),
            author_bio_heading=_compile(config["author_bio_heading"]),
            max_boilerplate_words=int(config["max_boilerplate_words"]),
            caption_repeat_window=int(config["caption_repeat_window"]),
            caption_min_words=int(config["caption_min_words"]),
            duplicate_min_words=int(config["duplicate_min_words"]),
            trailing_fragment_max_words=int(config["trailing_fragment_max_words"]),
            main_block={key: int(value) for key, value in config["main_block"].items()},
            page_text={key: int(value) for key, value in config["page_text"].items()},
        )

    def line_reason(self, paragraph: str) -> str | None:
        """The reason a single paragraph is boilerplate by itself, or None."""
        if word_count(paragraph) > self.max_boilerplate_words:
            return None
        for reason, pattern in self.patterns:
            if pattern.search(paragraph):
                return reason
        return None

    def caption_sized(self, paragraph: str) -> bool:
        return self.caption_min_words <= word_count(paragraph) <= self.max_boilerplate_words

    def is_caption(self, paragraph: str) -> bool:
        if not self.caption_sized(paragraph):
            return False
        return any(p.search(paragraph) for p in self.caption_endings + self.caption_markers)

    def caption_core(self, paragraph: str) -> str:
        """A caption without its credit, to find the same caption repeated without one."""
        for pattern in self.caption_endings:
            paragraph = pattern.sub("", paragraph)
        return _key(paragraph)


def _key(text: str) -> str:
    return " ".join(text.casefold().split())


def _mark_repeats(paragraphs: list[str], reasons: list[str | None],
                  rules: BoilerplateRules) -> None:
    """Captions appear twice (alt text and caption, one with a credit): every copy of a caption
    goes. Any other paragraph repeated close by keeps its first copy only."""
    window = rules.caption_repeat_window
    cores = {i: rules.caption_core(p) for i, p in enumerate(paragraphs) if reasons[i] == "caption"}
    for i, paragraph in enumerate(paragraphs):
        if reasons[i] is not None or not rules.caption_sized(paragraph):
            continue
        key = _key(paragraph)
        for j in range(max(0, i - window), min(len(paragraphs), i + window + 1)):
            core = cores.get(j)
            if core and (key in core or core in key):
                reasons[i] = "caption"
                break
            if (j < i and reasons[j] is None and _key(paragraphs[j]) == key
                    and word_count(paragraph) >= rules.duplicate_min_words):
                reasons[i] = "duplicate"
                break


def _mark_author_bio(paragraphs: list[str], reasons: list[str | None],
                     rules: BoilerplateRules) -> None:
    """'About <Name>' followed by a paragraph about <Name>: the bio runs to the end."""
    for i, paragraph in enumerate(paragraphs):
        heading = rules.author_bio_heading.match(paragraph)
        if heading is None:
            continue
        name = heading.group("name")
        following = paragraphs[i + 1] if i + 1 < len(paragraphs) else ""
        if name and not following.startswith(name):
            continue
        if name and i > 0 and paragraphs[i - 1].startswith(name) and reasons[i - 1] is None:
            reasons[i - 1] = "byline"
        for j in range(i, len(paragraphs)):
            reasons[j] = reasons[j] or "author_bio"
        return


def _mark_trailing_fragments(paragraphs: list[str], reasons: list[str | None],
                             rules: BoilerplateRules) -> None:
    """Short unpunctuated leftovers after the last sentence are navigation ("Route 6")."""
    for i in range(len(paragraphs) - 1, -1, -1):
        if reasons[i] is not None:
            continue
        paragraph = paragraphs[i]
        short = word_count(paragraph) <= rules.trailing_fragment_max_words
        if not short or SENTENCE_END.search(paragraph):
            return
        reasons[i] = "navigation"


def _reads_as_prose(paragraph: str, settings: dict[str, int]) -> bool:
    length = len(paragraph)
    return length >= settings["prose_long_chars"] or (
        length >= settings["prose_min_chars"] and bool(SENTENCE_END.search(paragraph)))


def _headline_repeat(paragraphs: list[str], title: str | None) -> int | None:
    """Index of the paragraph that repeats the page title (the article's own headline, which
    the page title carries with the site name), or None."""
    title_key = _key(title or "")
    if len(title_key) < 20:
        return None
    for i, paragraph in enumerate(paragraphs):
        key = _key(paragraph)
        shorter, longer = sorted((key, title_key), key=len)
        if len(shorter) >= 20 and shorter in longer and len(shorter) * 2 >= len(longer):
            return i
    return None


def _mark_outside_main_block(paragraphs: list[str], reasons: list[str | None],
                             rules: BoilerplateRules, title: str | None) -> None:
    """A page's visible text: the article is the run of paragraphs with the most prose in it
    (maximum-sum segment, prose counting its length, anything else a fixed penalty), widened
    over neighbouring lines that end like sentences. Where the page repeats its title as the
    headline, the article starts after it. Without any prose nothing is cut."""
    settings = rules.main_block
    if not settings["enabled"]:
        return
    headline = _headline_repeat(paragraphs, title)
    if headline is not None:
        for i in range(headline + 1):
            reasons[i] = reasons[i] or ("headline" if i == headline else "outside_article")
    gains = [
        (0 if reason in INLINE_REASONS else -settings["furniture_penalty"]) if reason
        else min(len(p), settings["prose_weight_cap"]) if _reads_as_prose(p, settings)
        else -settings["furniture_penalty"]
        for p, reason in zip(paragraphs, reasons, strict=True)
    ]
    start, end = _best_run(gains, headline, settings["article_min_chars"])
    if end < start:
        return
    end = _cut_at_article_end(reasons, gains, start, end, settings["article_end_min_chars"])
    start = _widen(paragraphs, reasons, start, -1, settings)
    end = _widen(paragraphs, reasons, end, 1, settings)
    for i in (*range(start), *range(end + 1, len(paragraphs))):
        reasons[i] = reasons[i] or "outside_article"


def _prose_runs(gains: list[int], first: int) -> list[tuple[int, int, int]]:
    """(sum, start, end) of each run of paragraphs from `first` on whose gains stay positive
    (Kadane's segments: a run ends where its running sum would drop to zero)."""
    runs: list[tuple[int, int, int]] = []
    best, start, end, running, run_start = 0, first, first - 1, 0, first
    for i in range(first, len(gains)):
        if running <= 0:
            if best > 0:
                runs.append((best, start, end))
            best, running, run_start = 0, 0, i
        running += gains[i]
        if running > best:
            best, start, end = running, run_start, i
    if best > 0:
        runs.append((best, start, end))
    return runs


def _best_run(gains: list[int], headline: int | None, min_sum: int) -> tuple[int, int]:
    """(start, end) of the article's run: the first substantial run after the headline when
    the page repeats it, else the run with the largest sum; (0, -1) when none is positive."""
    if headline is not None:
        after = [run for run in _prose_runs(gains, headline + 1) if run[0] >= min_sum]
        if after:
            return after[0][1], after[0][2]
    runs = _prose_runs(gains, 0)
    if not runs:
        return 0, -1
    _, start, end = max(runs)
    return start, end


def _cut_at_article_end(reasons: list[str | None], gains: list[int], start: int, end: int,
                        min_chars: int) -> int:
    """End the run at a related-stories heading or comment widget once it holds an article's
    worth of prose (earlier ones are inline boxes inside the article)."""
    prose = 0
    for i in range(start, end + 1):
        if reasons[i] in END_REASONS and prose >= min_chars:
            return i - 1
        prose += max(gains[i], 0)
    return end


def _widen(paragraphs: list[str], reasons: list[str | None], edge: int, step: int,
           settings: dict[str, int]) -> int:
    """Move a block edge over neighbouring lines that end like sentences, and over a single
    other line (a subheading) when prose follows it; lines a rule removes are looked past,
    up to a line that ends articles (related stories, comments)."""
    candidates = []
    for i in range(edge + step, len(paragraphs) if step > 0 else -1, step):
        if reasons[i] in END_REASONS:
            break
        if reasons[i] is None:
            candidates.append(i)
    for position, i in enumerate(candidates):
        paragraph = paragraphs[i]
        if SENTENCE_END.search(paragraph) and word_count(paragraph) >= 3:
            edge = i
            continue
        beyond = candidates[position + 1] if position + 1 < len(candidates) else None
        if beyond is None or not _reads_as_prose(paragraphs[beyond], settings):
            break
    return edge


def _menu_like(paragraph: str, max_words: int) -> bool:
    """A short label as menus are made of: no digit (results, standings, dates), no
    "label: value" or comma list (line-ups, scorers, a table's rows), no sentence end."""
    return (word_count(paragraph) <= max_words and not _DIGIT.search(paragraph)
            and not _LISTED.search(paragraph) and not SENTENCE_END.search(paragraph))


def reads_as_page(paragraphs: list[str], reasons: list[str | None], rules: BoilerplateRules,
                  title: str | None) -> bool:
    """Whether plain text is a page's visible text rather than an article already: it carries
    the page's furniture, lines the rules name or runs of menu-like lines (a subheading, a
    dateline or a results table inside an article is neither). Related-stories headings,
    comment widgets and the page title repeated as a headline exist only on pages: any one of
    them decides."""
    settings = rules.page_text
    if _headline_repeat(paragraphs, title) is not None or END_REASONS & set(reasons):
        return True
    evidence, run = sum(reason is not None for reason in reasons), 0
    for paragraph, reason in zip([*paragraphs, ""], [*reasons, "end"], strict=True):
        if reason is None and _menu_like(paragraph, settings["menu_line_max_words"]):
            run += 1
            continue
        if run >= settings["menu_run_min_lines"]:
            evidence += run
        run = 0
    return evidence >= settings["min_evidence"]


def classify_paragraphs(paragraphs: list[str], rules: BoilerplateRules,
                        page_text: bool = True, title: str | None = None) -> list[str | None]:
    """One reason (or None to keep) per paragraph. `page_text`: the paragraphs may be a whole
    page's visible text (plain-text input): when they read as one, the article's extent is
    found too; an article already keeps every line but those the rules name. HTML bodies come
    out of trafilatura already cut to the article."""
    reasons: list[str | None] = [rules.line_reason(p) for p in paragraphs]
    for i, paragraph in enumerate(paragraphs):
        if reasons[i] is None and rules.is_caption(paragraph):
            reasons[i] = "caption"
    page_text = page_text and reads_as_page(paragraphs, reasons, rules, title)
    _mark_repeats(paragraphs, reasons, rules)
    _mark_author_bio(paragraphs, reasons, rules)
    if page_text:
        _mark_outside_main_block(paragraphs, reasons, rules, title)
        _mark_trailing_fragments(paragraphs, reasons, rules)
    return reasons


def clean_article(article: Article, rules: BoilerplateRules) -> Article:
    """The article with boilerplate paragraphs removed and recorded; a plain-text title that is
    page furniture (a language switcher above the headline) gives way to the next line."""
    paragraphs = paragraphs_of(article.text)
    removed = list(article.removed)
    title = article.title
    if article.kind == "text":
        while title and paragraphs and (reason := rules.line_reason(title)):
            removed.append(Removed(title, reason))
            title = paragraphs.pop(0)
    kept = []
    reasons = classify_paragraphs(paragraphs, rules, article.kind == "text", title)
    for paragraph, reason in zip(paragraphs, reasons, strict=True):
        if reason is None:
            kept.append(paragraph)
        else:
            removed.append(Removed(paragraph, reason))
    return replace(article, title=title, text=PARAGRAPH_BREAK.join(kept), removed=tuple(removed),
                   metadata=_with_byline(article, removed))


def _with_byline(article: Article, removed: list[Removed]) -> Metadata:
    """Where nothing structured names the authors, the byline line taken out of the body
    does."""
    metadata = article.metadata
    if metadata.authors:
        return metadata
    sites = [site for site in (metadata.site_name, host_of(article.url)) if site]
    for block in removed:
        found = byline_line(block.text, sites) if block.reason == "byline" else None
        if found and (found.authors or (found.credit and not metadata.credit)):
            return replace(metadata, authors=found.authors,
                           credit=metadata.credit or found.credit)
    return metadata


@dataclass(frozen=True)
class CleanSettings:
    """Config `clean.*`: the boilerplate rules (the file, compiled) and `min_words`."""

    boilerplate: BoilerplateRules
    min_words: int = 1

    def __post_init__(self) -> None:
        check_at_least("clean.min_words", self.min_words, 0)


class CleanArticle(StageDoFn):
    stage = STAGE

    def __init__(self, settings: CleanSettings) -> None:
        self.settings = settings
        self.too_short = metrics.counter(DROPPED_TOO_SHORT)

    def handle(self, article: Article) -> Iterator[Article]:
        cleaned = clean_article(article, self.settings.boilerplate)
        words = word_count(cleaned.text)
        if words < self.settings.min_words:
            self.too_short.inc()
            raise BadInput(f"{words} words left after cleaning; min_words is "
                           f"{self.settings.min_words}")
        yield cleaned


class CleanBoilerplate(beam.PTransform):
    """Articles -> (clean Articles, ErrorRecords for articles with no body left)."""

    def __init__(self, settings: CleanSettings) -> None:
        super().__init__()
        self.settings = settings

    def expand(self, articles: beam.PCollection) -> tuple[beam.PCollection, beam.PCollection]:
        return apply_stage(articles, "CleanArticles", CleanArticle(self.settings))
