"""Entity names as keys and ids, shared by entities (within an article) and resolve (across
articles and runs): spelling-insensitive keys, and ids made from them."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

PERSON = "PERSON"
_LEADING_THE = re.compile(r"^the\s+", re.IGNORECASE)
_APOSTROPHES = re.compile(r"['’`ʼ‘]")
_SEPARATORS = re.compile(r"[\s\-‐‑–—_.]+")
_DOUBLED = re.compile(r"(\w)\1+")


def display_name(surface: str) -> str:
    """A mention as a name: whitespace collapsed, no leading "the"."""
    return " ".join(_LEADING_THE.sub("", surface).split())


def surname_of(key: str) -> str | None:
    """A full person name key's last word, which a short mention of the person may be; None
    for a one-word key (itself a short form)."""
    return key.rsplit(" ", 1)[1] if " " in key else None


def entity_id_for(key: str, label: str) -> str:
    """The same (label, key) gets the same id in every run."""
    return hashlib.sha256(f"{label}\0{key}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class NameNormalizer:
    """Spelling-insensitive name keys: case, diacritics, apostrophes, hyphens, name particles
    (al-, el-) and doubled letters (Hayya/Haya) do not count; a user alias table maps what
    spelling cannot tell (Türkiye = Turkey)."""

    particles: frozenset[str]
    aliases: dict[tuple[str, str], str]  # (label, key) -> key of the canonical name
    names: dict[tuple[str, str], str]  # (label, key) -> canonical name from the alias table

    @classmethod
    def from_config(cls, particles: list[str] | tuple[str, ...],
                    same_entity: list[dict[str, Any]]) -> NameNormalizer:
        plain = cls(frozenset(p.casefold() for p in particles), {}, {})
        aliases, names = {}, {}
        for entry in same_entity:
            label, canonical = entry["label"], plain.key(entry["name"], entry["label"])
            names[(label, canonical)] = entry["name"]
            for alias in entry.get("aliases", []):
                aliases[(label, plain.key(alias, label))] = canonical
        return cls(plain.particles, aliases, names)

    def configured_names(self) -> dict[str, str]:
        """entity_id -> the canonical name the alias table gives it."""
        return {entity_id_for(key, label): name for (label, key), name in self.names.items()}

    def tokens(self, name: str) -> tuple[str, ...]:
        decomposed = unicodedata.normalize("NFKD", display_name(name))
        plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
        words = _SEPARATORS.sub(" ", _APOSTROPHES.sub("", plain)).split()
        kept = [w for w in words if w not in self.particles] or words
        return tuple(_DOUBLED.sub(r"\1", w) for w in kept)

    def key(self, name: str, label: str) -> str:
        own = " ".join(self.tokens(name))
        return self.aliases.get((label, own), own)
