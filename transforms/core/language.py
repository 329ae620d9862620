"""The language of a text: ISO 639-1 codes from py3langid (langid.py's model, shipped inside
the package: nothing is downloaded), and the primary subtag that stages route on."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

# Enough text to tell a language reliably; more only costs time.
SAMPLE_CHARS = 3000
UNDETERMINED = "und"  # ISO 639-2 for "undetermined": no letters to go on


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier  # the model loads once

    return LanguageIdentifier.from_model_file(MODEL_FILE)


def detect_language(text: str) -> str:
    """The language code of `text` ("und" when it holds no letters)."""
    sample = text[:SAMPLE_CHARS]
    if not any(character.isalpha() for character in sample):
        return UNDETERMINED
    code, _ = _identifier().classify(sample)
    return code


def primary_language(tag: str | None) -> str:
    """"en" of "en-GB" or "EN_us": the part a stage's models and vocabularies are keyed by."""
    return (tag or UNDETERMINED).replace("_", "-").split("-")[0].lower()
