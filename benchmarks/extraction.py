"""Article-body extraction on the scrapinghub benchmark (181 pages with gold bodies), and how
much of articles that are clean already the text cleaning keeps.

Runs newsbeam's own parse + clean code in two modes, HTML pages and all-visible-text as .txt,
next to trafilatura alone, and prints precision, recall and F1 with the benchmark's scoring.
Per-document scores go to benchmarks/results/extraction-<mode>.tsv. Then the BBC texts and the
ECB+ documents (clean articles, one sentence a line) go through as .txt: the share of their
words kept; what was removed is listed in benchmarks/results/kept-<set>.tsv.

    make bench-extraction      (or: python benchmarks/extraction.py [--data DIR])
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import re
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path

import trafilatura

from benchmarks.corpora import BENCHMARKS, ROOT, bbc_texts, ecbplus_texts, fundus_pages
from pipeline.config import load_config, run_settings
from transforms.clean import clean_article
from transforms.core.failures import BadInput
from transforms.core.language import primary_language
from transforms.core.records import RawDocument, utc_datetime
from transforms.core.text import word_count
from transforms.parse import parse_html, parse_text
from transforms.sources.decode import decode_text

DEFAULT_DATA = BENCHMARKS / "scrapinghub"
RESULTS = ROOT / "benchmarks" / "results"
TOKEN = re.compile(r"\w+")


def shingles(text: str, size: int = 4) -> Counter[tuple[str, ...]]:
    tokens = TOKEN.findall(text)
    return Counter(tuple(tokens[i:i + size]) for i in range(max(0, len(tokens) - size + 1)))


def document_scores(predicted: str, gold: str) -> tuple[float, float]:
    """(precision, recall) of one document, as the benchmark defines them."""
    pred, true = shingles(predicted), shingles(gold)
    tp = sum((pred & true).values())
    fp = sum(pred.values()) - tp
    fn = sum(true.values()) - tp
    if fp == 0 and fn == 0:
        return 1.0, 1.0
    total = tp + fp + fn
    tp, fp, fn = tp / total, fp / total, fn / total
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return precision, recall


def summarize(scores: dict[str, tuple[float, float]]) -> tuple[float, float, float]:
    precision = sum(p for p, _ in scores.values()) / len(scores)
    recall = sum(r for _, r in scores.values()) / len(scores)
    return precision, recall, 2 * precision * recall / (precision + recall)


def evaluate(name: str, extract: Callable[[str], str], inputs: dict[str, str],
             gold: dict[str, str]) -> dict[str, object]:
    started = time.perf_counter()
    scores, outputs = {}, {}
    for doc_id, content in inputs.items():
        try:
            outputs[doc_id] = extract(content) or ""
        except BadInput:
            outputs[doc_id] = ""
        scores[doc_id] = document_scores(outputs[doc_id], gold[doc_id])
    seconds = time.perf_counter() - started
    precision, recall, f1 = summarize(scores)
    return {"name": name, "P": precision, "R": recall, "F1": f1, "scores": scores,
            "outputs": outputs, "seconds": seconds}


def write_scores(mode: str, results: list[dict[str, object]]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"extraction-{mode}.tsv"
    names = [r["name"] for r in results]
    with path.open("w", encoding="utf-8") as out:
        out.write("doc_id\t" + "\t".join(f"{n} P\t{n} R" for n in names) + "\n")
        for doc_id in sorted(results[0]["scores"]):
            cells = [f"{r['scores'][doc_id][0]:.4f}\t{r['scores'][doc_id][1]:.4f}"
                     for r in results]
            out.write(doc_id + "\t" + "\t".join(cells) + "\n")
    return path


def run(data: Path = DEFAULT_DATA) -> dict[str, list[dict[str, object]]]:
    """Both modes: the baselines first, newsbeam last."""
    truth = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    gold = {doc_id: entry["articleBody"] for doc_id, entry in truth.items()}
    pages = {doc_id: decode_text(gzip.decompress((data / "html" / f"{doc_id}.html.gz")
                                                 .read_bytes())) for doc_id in gold}
    with gzip.open(data / "alltext.json.gz", "rt", encoding="utf-8") as stream:
        alltext = {doc_id: entry["articleBody"] for doc_id, entry in json.load(stream).items()}

    config = load_config()
    settings = run_settings(config)
    rules, options = settings.clean.boilerplate, settings.parse.extract_options()

    def newsbeam_html(html: str) -> str:
        raw = RawDocument(source="page.html", kind="html", content=html)
        return clean_article(parse_html(raw, options), rules).text

    def newsbeam_text(text: str) -> str:
        return clean_article(parse_text(RawDocument("page.txt", "text", text)), rules).text

    def trafilatura_alone(html: str) -> str:
        return trafilatura.extract(html) or ""

    def trafilatura_precision(html: str) -> str:
        return trafilatura.extract(html, favor_precision=True) or ""

    return {
        "html": [evaluate("trafilatura alone", trafilatura_alone, pages, gold),
                 evaluate("trafilatura precision", trafilatura_precision, pages, gold),
                 evaluate("newsbeam parse+clean", newsbeam_html, pages, gold)],
        "text": [evaluate("all text (no cleaning)", lambda t: t, alltext, gold),
                 evaluate("newsbeam parse+clean", newsbeam_text, alltext, gold)],
    }


def _folded(text: str | None) -> str:
    """Whitespace and case folded, invisible format characters (soft hyphens) out."""
    text = "".join(c for c in (text or "") if unicodedata.category(c) != "Cf")
    return " ".join(text.split()).casefold()


def set_f1(predicted: list[str], gold: list[str]) -> float:
    """F1 of two sets of lower-cased names; 1 when both are empty."""
    pred, true = {_folded(p) for p in predicted}, {_folded(g) for g in gold}
    if not pred and not true:
        return 1.0
    overlap = len(pred & true)
    return 2 * overlap / (len(pred) + len(true))


def _language(tag: str | None) -> str:
    """Norwegian Bokmål and Nynorsk count as Norwegian."""
    code = primary_language(tag)
    return "no" if code in ("nb", "nn") else code


def _same_day(predicted: object, gold: str) -> bool:
    """Both as UTC calendar days (newsbeam stores UTC)."""
    truth = utc_datetime(gold.replace(" ", "T", 1))
    return predicted is not None and truth is not None and predicted.date() == truth.date()


def fundus_scores() -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """{field: score per page} of newsbeam's parse + clean and of trafilatura alone on the
    fundus-dev pages (each given its URL and crawl time, as a fetch or a WARC record gives)."""
    rules, options = _rules_and_options()
    newsbeam: dict[str, dict[str, float]] = {}
    alone: dict[str, dict[str, float]] = {}
    RESULTS.mkdir(parents=True, exist_ok=True)
    with (RESULTS / "fundus.tsv").open("w", encoding="utf-8") as out:
        out.write("page\tfield\tgold\tnewsbeam\ttrafilatura\n")
        for stem, (html, gold) in fundus_pages().items():
            raw = RawDocument(source=f"{stem}.html", kind="html", content=html, url=gold["url"],
                              fetched_at=utc_datetime(gold["crawl_date"].replace(" ", "T")))
            try:
                article = clean_article(parse_html(raw, options), rules)
            except BadInput:
                article = None
            extracted = trafilatura.bare_extraction(html, url=gold["url"], with_metadata=True)
            mine = {"body": article.text if article else "",
                    "title": article and article.title,
                    "authors": list(article.metadata.authors) if article else [],
                    "byline": ([*article.metadata.authors, *filter(None, [
                        article.metadata.credit])] if article else []),
                    "date": article and article.published_at,
                    "language": article and article.language}
            theirs = {"body": trafilatura.extract(html, url=gold["url"]) or "",
                      "title": extracted and extracted.title,
                      "authors": (extracted.author or "").split("; ") if extracted
                      and extracted.author else [],
                      "date": extracted and utc_datetime(extracted.date),
                      "language": extracted and extracted.language}
            theirs["byline"] = theirs["authors"]
            for fields, scores in ((mine, newsbeam), (theirs, alone)):
                row = scores.setdefault(stem, {})
                row["body"] = _f1(*document_scores(fields["body"], gold["body"]))
                row["title"] = float(_folded(fields["title"]) == _folded(gold["title"]))
                row["authors"] = set_f1(fields["authors"], gold["authors"] or [])
                row["byline"] = set_f1(fields["byline"], gold["authors"] or [])
                if gold["publishing_date"]:
                    row["date"] = float(_same_day(fields["date"], gold["publishing_date"]))
                if fields["language"] is not None or fields is mine:  # trafilatura gives none
                    row["language"] = float(_language(fields["language"]) == gold["language"])
            for field in ("title", "authors", "byline", "date", "language"):
                if newsbeam[stem].get(field, 1.0) < 1.0:
                    out.write(f"{stem}\t{field}\t{gold.get(_GOLD_FIELD.get(field, field))}\t"
                              f"{mine[field]}\t{theirs[field]}\n")
    return newsbeam, alone


_GOLD_FIELD = {"byline": "authors", "date": "publishing_date"}


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _mean(scores: dict[str, dict[str, float]], field: str) -> float | None:
    values = [row[field] for row in scores.values() if field in row]
    return sum(values) / len(values) if values else None


def _rules_and_options() -> tuple[object, dict[str, bool]]:
    settings = run_settings(load_config())
    return settings.clean.boilerplate, settings.parse.extract_options()


def print_fundus() -> None:
    """The fundus-dev block: each field's mean over pages against its target."""
    newsbeam, alone = fundus_scores()
    body_target = _mean(alone, "body") + 0.01
    targets = {"body": ("body shingle F1", body_target),
               "title": ("title exact (folded)", 0.85),
               "authors": ("authors F1 (people only)", 0.85),
               "byline": ("byline F1 (authors+credit)", 0.85),
               "date": ("date, same UTC day", 0.95),
               "language": ("language", 0.97)}
    publishers = len({stem.split("_")[2] for stem in newsbeam})
    print(f"\nfundus-dev, {date.today()}: {len(newsbeam)} pages, {publishers} publishers; "
          "mean per page")
    print(f"{'field':<28} {'newsbeam':>9} {'trafilatura':>11} {'target':>7}  met")
    for field, (label, target) in targets.items():
        score, theirs = _mean(newsbeam, field), _mean(alone, field)
        shown = "-" if theirs is None else f"{theirs:.3f}"
        met = "yes" if score >= target else "NO"
        print(f"{label:<28} {score:>9.3f} {shown:>11} {target:>7.3f}  {met}")
    print("       pages below 1 per field: benchmarks/results/fundus.tsv")


def clean_texts() -> dict[str, list[tuple[str, str]]]:
    """The clean-article sets: BBC texts (headline, blank line, body) and ECB+ documents."""
    return {"BBC texts": list(bbc_texts().items()),
            "ECB+ documents": list(ecbplus_texts().items())}


def words_kept(name: str, texts: list[tuple[str, str]]) -> tuple[float, int, int]:
    """(share of words kept, words in, words removed) of texts run through parse + clean as
    .txt; every removed block goes to benchmarks/results/kept-<name>.tsv."""
    rules = run_settings(load_config()).clean.boilerplate
    total = removed = 0
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"kept-{name.split()[0].lower().replace('+', 'plus')}.tsv"
    with path.open("w", encoding="utf-8") as out:
        out.write("document\treason\twords\tremoved text\n")
        for document, text in texts:
            cleaned = clean_article(parse_text(RawDocument(document, "text", text)), rules)
            total += word_count(text)
            for block in cleaned.removed:
                removed += word_count(block.text)
                out.write(f"{document}\t{block.reason}\t{word_count(block.text)}\t"
                          f"{' '.join(block.text.split())}\n")
    return 1 - removed / total, total, removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args(argv)
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)  # pages it cannot parse score 0
    runs = run(args.data)
    pages = len(runs["html"][0]["scores"])
    print(f"scrapinghub article-extraction benchmark, {date.today()}: {pages} pages; "
          f"trafilatura {trafilatura.__version__}, Python {sys.version.split()[0]}")
    print(f"{'mode':<6} {'system':<24} {'precision':>9} {'recall':>7} {'F1':>6} {'pages/s':>8}")
    for mode, results in runs.items():
        for r in results:
            print(f"{mode:<6} {r['name']:<24} {r['P']:>9.3f} {r['R']:>7.3f} {r['F1']:>6.3f} "
                  f"{pages / r['seconds']:>8.1f}")
        print(f"       per-document scores: {write_scores(mode, results).relative_to(ROOT)}")
    print(f"\nclean articles kept (as .txt), {date.today()}")
    print(f"{'set':<16} {'documents':>9} {'words':>9} {'removed':>8} {'kept':>8}")
    for name, texts in clean_texts().items():
        share, total, removed = words_kept(name, texts)
        print(f"{name:<16} {len(texts):>9} {total:>9} {removed:>8} {share:>8.2%}")
    print("       removed blocks: benchmarks/results/kept-bbc.tsv, kept-ecbplus.tsv")
    print_fundus()
    return 0


if __name__ == "__main__":
    sys.exit(main())
