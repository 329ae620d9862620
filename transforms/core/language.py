"""The language of a text: ISO 639-1 codes from py3langid (langid.py's model, shipped inside
the package: nothing is downloaded), and the primary subtag that stages route on."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

# Enough text to tell a language reliably; more only costs time.
SAMPLE_CHARS = 3000
UNDETERMINED = "und"  # ISO 639-2 for "undetermined": no letters to go on
# A declared language gives way to the detected one only for a text this long, detected with
# this probability, and outside the groups of languages the model tells apart poorly.
LONG_TEXT_CHARS = 400
SURE_PROBABILITY = 0.999
CONFUSABLE = ("no nb nn da", "hr sr bs", "ms id", "cs sk", "gl pt es", "ca es", "af nl")


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier  # the model loads once

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> str:
    """The language code of `text` ("und" when it holds no letters)."""
    return detected_language(text)[0]


def detected_language(text: str) -> tuple[str, float]:
    """(language code, the model's probability of it) of `text`; ("und", 0) without
    letters."""
    sample = text[:SAMPLE_CHARS]
    if not any(character.isalpha() for character in sample):
        return UNDETERMINED, 0.0
    code, probability = _identifier().classify(sample)
    return code, float(probability)


def page_language(declared: str | None, text: str) -> str:
    """The language a page is written in: the one it declares, unless its text plainly
    reads as another (a site's template declaring "en-GB" over a Zulu article): a long text,
    a sure detection, and not a language the model confuses with the declared one."""
    detected, probability = detected_language(text)
    if not declared:
        return detected
    code = primary_language(declared)
    if (detected != UNDETERMINED and len(text) >= LONG_TEXT_CHARS
            and probability >= SURE_PROBABILITY and _group(detected) != _group(code)):
        return detected
    return declared


def _group(code: str) -> str:
    return next((group for group in CONFUSABLE if code in group), code)


def primary_language(tag: str | None) -> str:
    """"en" of "en-GB" or "EN_us": the part a stage's models and vocabularies are keyed by."""
    return (tag or UNDETERMINED).replace("_", "-").split("-")[0].lower()
