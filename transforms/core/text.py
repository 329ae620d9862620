"""Text helpers every stage reads the same way: paragraphs, sentence ends, words, tokens."""

from __future__ import annotations

import re

# Paragraphs of an article's text are separated by one blank line.
PARAGRAPH_BREAK = "\n\n"
# A line that ends like a sentence (or a quote, a bracket, CJK full stops): prose, not furniture.
SENTENCE_END = re.compile(r"[.!?:;\"'”’)\]»。！？」』]\s*$")
# A word as counted in articles.word_count.
WORD = re.compile(r"\w+")
# A word with inner apostrophes, dots and hyphens ("Archyde.com", "semi-final", "women's").
TOKEN = re.compile(r"\w+(?:['’.-]\w+)*")
_BLANK_LINES = re.compile(r"\n\s*\n")
# C0 control characters but tab and line ends, and DEL: debris of binary files and terminals
# (a NUL from a padded file, colour codes) that warehouses refuse in a text column.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def word_count(text: str) -> int:
    return len(WORD.findall(text))


def tokens(text: str) -> list[str]:
    """The text's TOKENs, with typographic apostrophes made plain."""
    return [t.replace("’", "'") for t in TOKEN.findall(text)]


def paragraphs_of(text: str) -> list[str]:
    """The non-empty paragraphs of an article's text."""
    return [p for p in text.split(PARAGRAPH_BREAK) if p.strip()]


def without_controls(text: str) -> str:
    return _CONTROL.sub(" ", text)


def one_line(text: str) -> str:
    """The text as one line: control characters out, runs of whitespace one space."""
    return " ".join(without_controls(text).split())


def text_paragraphs(text: str) -> list[str]:
    """Non-empty lines as paragraphs; a hard-wrapped line (previous line open, this one starting
    lower-case) joins the line before it."""
    paragraphs: list[str] = []
    for block in _BLANK_LINES.split(text.replace("\r\n", "\n").replace("\r", "\n")):
        previous_open = False
        for raw_line in block.split("\n"):
            line = one_line(raw_line)
            if not line:
                continue
            if previous_open and paragraphs and line[0].islower():
                paragraphs[-1] = f"{paragraphs[-1]} {line}"
            else:
                paragraphs.append(line)
            previous_open = not SENTENCE_END.search(paragraphs[-1])
    return paragraphs
