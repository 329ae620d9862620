"""Who wrote an article: people's names, one each, apart from the agency or outlet credited.

Shared by parse (names from structured data: JSON-LD, meta tags, feed entries) and clean
(the byline line it takes out of the body), so both split and sort names the same way."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

# News agencies and wire services, as bylines spell them: a credit, never an author.
AGENCIES = frozenset(name.casefold() for name in (
    "AP", "The AP", "Associated Press", "The Associated Press", "Reuters", "Thomson Reuters",
    "AFP", "Agence France-Presse", "Agence France Presse", "dpa", "Deutsche Presse-Agentur",
    "dpa-AFX", "AFX", "epd", "KNA", "SID", "APA", "SDA", "Keystone-SDA", "EFE", "Europa Press",
    "ANSA", "Lusa", "ANP", "Belga", "PAP", "ČTK", "CTK", "MTI", "NTB", "TT", "Ritzau", "STT",
    "Kyodo", "Kyodo News", "Jiji", "Jiji Press", "Xinhua", "Yonhap", "TASS", "RIA Novosti",
    "Interfax", "Ukrinform", "Anadolu", "Anadolu Agency", "Anadolu Ajansı", "AA", "IHA", "DHA",
    "PA", "PA Media", "Press Association", "UPI", "AAP", "Australian Associated Press",
    "CP", "The Canadian Press", "Canadian Press", "PTI", "IANS", "ANI", "Bernama", "Antara",
    "SAPA", "News24Wire", "Bloomberg", "Bloomberg News", "CNA", "WAM", "SPA", "IRNA", "SANA",
    "AP/Reuters", "Reuters/AP", "dpa/AFP", "AFP/dpa",
))
# Picture agencies: a byline part naming one is a photo credit, neither author nor credit.
PICTURE_AGENCIES = frozenset(name.casefold() for name in (
    "Getty Images", "Getty", "iStock", "iStockphoto", "Shutterstock", "Alamy", "EPA",
    "EPA-EFE", "imago", "imago images", "picture alliance", "Keystone", "Reuters Pictures",
    "AP Photo", "Unsplash", "Pexels"))
_PICTURE = re.compile(r"^(?:image|photo|picture|foto|bild|video|illustration)s?\s*:",
                      re.IGNORECASE)
_URL = re.compile(r"https?://[^\s,;]*|www\.[^\s,;]+|[\w.+-]+@[\w-]+\.[\w.-]+")  # and e-mail
_PARENTHESES = re.compile(r"\([^()]*\)?")
_MAIL_AND_NAME = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+\s*\(([^()]+)\)")  # RSS: "a@b.org (Ann Lee)"
# Words that make a byline an outlet's or a desk's rather than a person's.
_DESK_WORD = re.compile(
    r"\b(?:staff|newsroom|news ?desk|desk|editors?|editorial|redaktion|rédaction|redacción|"
    r"redazione|redactie|redakcja|agenc(?:y|ies|e)|agentur|wire|bureau|team|online|digital|"
    r"news|media|press|times|post|daily|tribune|herald|journal|gazette|zeitung|nachrichten)\b",
    re.IGNORECASE)
_HANDLE = re.compile(r"^@|https?://|www\.|\.(?:com|org|net|de|be|uk|fr|no|it|es|jp|kr)\b",
                     re.IGNORECASE)
# "By Ann Lee", "Von Ann Lee", "Par Ann Lee", "Por", "Di", "Av", "Door", "Af", "Autor:" ...
_LEAD_IN = re.compile(
    r"^\s*(?:(?:written|reported|posted|text|story|words|photos?)\s+)?"
    r"(?:by|von|vom|par|por|(?-i:di|da|de)|av|af|door|autor(?:in)?|autore|auteur|author|text)"
    r"\b\s*:?\s*",
    re.IGNORECASE)
# Between names: commas, semicolons, "and" in the languages of the news, ampersands, slashes.
_BETWEEN = re.compile(
    r"\s*(?:[,;|/&+]|\band\b|\bund\b|\bet\b|\by\b|\be\b|\bog\b|\boch\b|\ben\b|\bi\b|\bu\b|"
    r"\bи\b|、|・)\s*", re.IGNORECASE)
# "Capital Von Jemima Kelly": a section or outlet before the lead-in; the name follows it.
_INNER_LEAD_IN = re.compile(r"^.{1,40}?\s(?:by|von|par|por)\s+(?=(?-i:[A-Z]))", re.IGNORECASE)
# A trailing role or place after a name: "Ann Lee, Reuters", "Ann Lee in Kyiv", "Ann Lee | AP".
_IN_PLACE = re.compile(r"\s+(?:in|aus|en|a|à|em|i)\s+(?-i:[A-Z]).*$")
_ROLE = re.compile(
    r"\b(?:reporter|correspondent|journalist|writer|editor|columnist|contributor|"
    r"redakteur(?:in)?|korrespondent(?:in)?|journalistin|autor(?:in)?|kommentar|"
    r"chief|senior|political|economics|business|sports?|deputy|staff writer)\b.*$"
    r"|\s*(?:기자|특파원|記者|特派員)(?:\s.*)?$",
    re.IGNORECASE)
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class Byline:
    authors: tuple[str, ...] = ()
    credit: str | None = None


def name_key(text: str) -> str:
    """A name or site as letters and digits only, accents and case folded: "Börsen-Zeitung"
    and "boersen-zeitung.de" meet as "borsenzeitung" and "boersenzeitungde"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if c.isalnum())


def _umlaut_free(key: str) -> str:
    return key.replace("ae", "a").replace("oe", "o").replace("ue", "u")


def same_site(name: str, sites: Iterable[str]) -> bool:
    """Whether `name` names the outlet (its site name, publisher or host)."""
    key = _umlaut_free(name_key(name))
    if len(key) < 2:
        return False
    for site in sites:
        site_key = _umlaut_free(name_key(site))
        if len(site_key) >= 2 and (key == site_key or (len(key) >= 4 and key in site_key)
                                   or (len(site_key) >= 4 and site_key in key)):
            return True
    return False


def _is_agency(name: str) -> bool:
    return " ".join(name.casefold().split()) in AGENCIES


def is_credit(name: str, sites: Iterable[str] = ()) -> bool:
    """An agency, the outlet itself, a desk or a handle: a credit, not a person."""
    return (_is_agency(name) or bool(_DESK_WORD.search(name)) or bool(_HANDLE.search(name))
            or same_site(name, sites) or (name.isupper() and len(name) <= 5))


def _as_person(part: str) -> str | None:
    """A byline part as a person's name, or None when it is not one."""
    part = _ROLE.sub("", _IN_PLACE.sub("", _INNER_LEAD_IN.sub("", part)))
    part = part.strip(" .:-–—()[]\"'")
    part = " ".join(part.split())
    if not part or not _LETTER.search(part) or len(part) > 60 or len(part.split()) > 5:
        return None
    return part


# "Brazil, Rachel" or "Castelvecchi, Davide M.": one name written surname first, as
# citations and Dublin Core write it (two people each have a given name and a surname).
_SURNAME_FIRST = re.compile(r"^([^\W\d_][\w'’-]*),\s*([^\W\d_][\w'’-]*(?:\s+[^\W\d_]\.?)?)$")


def _credit_of(credits: list[str], authors: list[str]) -> str | None:
    """An agency is always the credit; the outlet or a desk only where no person is named
    (beside named people it says nothing)."""
    agency = next((c for c in credits if _is_agency(c)), None)
    return agency or (None if authors else next(iter(credits), None))


def _parts(text: str, sites: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(people, credits) named in one byline string."""
    text = _MAIL_AND_NAME.sub(r"\1", " ".join(text.split()))
    text = _PARENTHESES.sub(" ", _URL.sub(" ", text)).strip()
    text = _SURNAME_FIRST.sub(r"\2 \1", text)
    people: list[str] = []
    credits: list[str] = []
    for part in _BETWEEN.split(_LEAD_IN.sub("", text)):
        part = part.strip(" .:-–—()[]")
        if not part or _PICTURE.match(part) or part.casefold() in PICTURE_AGENCIES:
            continue
        if is_credit(part, sites):
            credits.append(part)
        elif (person := _as_person(part)) and person.casefold() not in {
                p.casefold() for p in people}:
            people.append(person)
    return people, credits


def split_byline(text: str, sites: Iterable[str] = ()) -> Byline:
    """"By Ann Lee and Bo Chen, Reuters" -> authors (Ann Lee, Bo Chen), credit Reuters."""
    people, credits = _parts(text, tuple(sites))
    return Byline(tuple(people), _credit_of(credits, people))


def byline_line(text: str, sites: Iterable[str] = ()) -> Byline | None:
    """The byline a body line states ("By Ann Lee, Reuters", "Von Ann Lee"), or None when
    the line does not open with a byline's lead-in (an editing or contributing credit)."""
    if not _LEAD_IN.match(text) or len(text) > 200:
        return None
    return split_byline(text, sites)


def byline_of(people: Iterable[str], organisations: Iterable[str] = (),
              sites: Iterable[str] = ()) -> Byline:
    """The byline of named people (each string may hold several: "Ann Lee and Bo Chen")
    and of organisations named as authors (the credit)."""
    sites = tuple(sites)
    authors: list[str] = []
    credits = [o.strip() for o in organisations if o and o.strip()
               and o.strip().casefold() not in PICTURE_AGENCIES]
    for entry in people:
        found, more = _parts(entry, sites)
        authors += [a for a in found if a.casefold() not in {k.casefold() for k in authors}]
        credits += more
    return Byline(tuple(authors), _credit_of(credits, authors))
