"""How rare a word is in general language, from wordfreq's word lists (shipped inside its
package): the same in every run, so what is weighted by it never changes as the output grows.
Stories weight an article's terms by it; topics weight the words of a text's vector."""

from __future__ import annotations

import gzip
import importlib.util
from functools import cache, lru_cache
from pathlib import Path

from transforms.core.text import WORD

# Words rarer than this Zipf frequency (3 in a billion words) count as never seen: the word
# lists are kept small enough (about 50,000 words a language, not 300,000) for a worker to
# hold every language it meets.
MIN_ZIPF = 2.5
# wordfreq needs extra word segmenters (MeCab, jieba) for these, and their text has no spaces
# to split words at: they are given no word list.
_UNSEGMENTED = frozenset({"ja", "ko", "zh"})


@cache
def word_lists() -> dict[str, Path]:
    """{language: its wordfreq word list file}: the large list where there is one, else the
    small. The files are read directly (wordfreq's own loaders cache every full list, and
    importing wordfreq pulls in text-repair and language-code packages a worker never needs
    here)."""
    spec = importlib.util.find_spec("wordfreq")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("wordfreq is not installed (a newsbeam dependency)")
    data = Path(spec.submodule_search_locations[0]) / "data"
    lists = {}
    for size in ("small", "large"):
        for path in sorted(data.glob(f"{size}_*.msgpack.gz")):
            language = path.name.split(".")[0].split("_", 1)[1]
            if language not in _UNSEGMENTED:
                lists[language] = path
    return lists


@cache
def _rarities(language: str) -> dict[str, float]:
    """{word: rarity} of the words of a language's list at least MIN_ZIPF frequent, read once
    per worker. A list file is gzipped msgpack: a header, then groups of words, the n-th group
    n centibels below a frequency of 1, so a word's rarity (9 - Zipf) is n / 100."""
    import msgpack

    with gzip.open(word_lists()[language], "rb") as packed:
        header, *groups = msgpack.load(packed, raw=False)
    if header.get("format") != "cB":
        raise ValueError(f"unexpected word list format in {word_lists()[language]}: {header}")
    most = round((9 - MIN_ZIPF) * 100)
    return {word: index / 100 for index, words in enumerate(groups[:most + 1]) for word in words}


@lru_cache(maxsize=1_000_000)
def rarity(word: str, language: str, number_rarity: float) -> float:
    """How rare a case-folded word is in general language: 9 minus its Zipf frequency (log10
    of its count per billion words), 0 for the commonest words, 9 for words never seen;
    `number_rarity` for numbers; a word with an apostrophe or a hyphen: its rarest part."""
    rarities = _rarities(language)
    return max(number_rarity if part.isdigit() else rarities.get(part, 9.0)
               for part in WORD.findall(word))
