"""Throughput: newsbeam end to end against the cost of its two models alone.

Builds a corpus of N article pages from the scrapinghub benchmark (pages repeated under distinct
names, each copy with its own canonical URL so every copy is its own article), then times, in
turn: (a) a bare loop in one process doing only trafilatura extraction and spaCy NER (same
model, same disabled components, same batches); (a2) the same loop as two processes at once,
each over half the pages: what two cores can do with the two models alone, the limit newsbeam
is held to; (b) `newsbeam run` on the DirectRunner, one worker; (c) the same with
--direct_running_mode=multi_processing --direct_num_workers=2. Each runs as its own process
tree; peak resident memory is that of its largest process (a worker, or one bare loop).

    make bench-throughput      (or: python benchmarks/throughput.py [--sizes 500 2000])
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import re
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

from benchmarks.measure import ROOT, seconds_and_peak_mb

PAGES = ROOT.parent / "shared" / "benchmarks" / "scrapinghub" / "html"
_CANONICAL = re.compile(r"<link[^>]+rel=[\"']?canonical[^>]*>|<meta[^>]+og:url[^>]*>", re.I)
_HEAD = re.compile(r"<head[^>]*>", re.I)
MODES = {
    "a": ("bare loop: trafilatura + spaCy NER", None),
    "a2": ("bare loop as 2 processes, half the pages each", None),
    "b": ("newsbeam run, DirectRunner, 1 worker", ["--direct_num_workers=1"]),
    "c": ("newsbeam run, multi_processing, 2 workers",
          ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]),
}


def build_corpus(folder: Path, size: int) -> None:
    """`size` pages, cycling through the benchmark pages, each with a URL of its own: the
    page's own URL is replaced wherever it appears (JSON-LD, twitter:url ... name it too) and
    a canonical link is added, so every copy is a distinct article."""
    import trafilatura

    sources = [gzip.decompress(path.read_bytes()).decode("utf-8")
               for path in sorted(PAGES.glob("*.html.gz"))]
    own_urls = [getattr(trafilatura.extract_metadata(html), "url", None) for html in sources]
    for number in range(size):
        html, own_url = sources[number % len(sources)], own_urls[number % len(sources)]
        url = f"https://bench.example/page-{number}"
        html = _CANONICAL.sub("", html.replace(own_url, url) if own_url else html)
        link = f'<link rel="canonical" href="{url}">'
        html = _HEAD.sub(lambda m, link=link: m.group() + link, html, count=1)
        (folder / f"page-{number:05d}.html.gz").write_bytes(gzip.compress(html.encode()))


def bare_loop(folder: Path, part: int = 0, parts: int = 1) -> int:
    """Mode (a): extraction and NER only, as the pipeline configures them: each page's text in
    the model of its language (the page's declared language, else the detected one), pages in
    languages without a model not tagged, as in the pipeline."""
    import spacy
    import trafilatura

    from pipeline.config import load_config
    from transforms.core.language import detect_language, primary_language
    from transforms.parse import ParseSettings

    config = load_config()
    options = ParseSettings(**config["parse"]).extract_options()
    models = config["entities"]["models"]
    texts: dict[str, list[str]] = {language: [] for language in models}
    for path in sorted(folder.glob("*.html.gz"))[part::parts]:
        extracted = trafilatura.bare_extraction(
            gzip.decompress(path.read_bytes()).decode("utf-8"), with_metadata=True,
            **options)
        if extracted is not None and extracted.text:
            language = primary_language(extracted.language or detect_language(extracted.text))
            if language in texts:
                texts[language].append(extracted.text)
    found = 0
    for language, batch in texts.items():
        if batch:
            nlp = spacy.load(models[language])
            nlp.select_pipes(enable=["ner"])
            found += sum(len(doc.ents) for doc in nlp.pipe(
                batch, batch_size=config["entities"]["batch_size"]))
    return found


def run_mode(mode: str, folder: Path, output: Path) -> tuple[float, float]:
    """(seconds, peak resident MB) of one mode, run as a child process."""
    if mode in ("a", "a2"):
        command = [sys.executable, "-m", "benchmarks.throughput", "--bare", str(folder),
                   *(["--halves"] if mode == "a2" else [])]
    else:
        command = [sys.executable, "-m", "pipeline", "run", "--input", f"{folder}/*.html.gz",
                   "--output", str(output), *MODES[mode][1]]
    return seconds_and_peak_mb(command)


def articles_written(output: Path) -> int:
    """Rows in OUTPUT/articles: every page must be its own article, or the run did less work
    than the bare loop."""
    import pyarrow.dataset as ds

    return ds.dataset(output / "articles", format="parquet", partitioning="hive").count_rows()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000])
    parser.add_argument("--bare", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--halves", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--part", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare and args.halves:  # two bare loops at once, each over half the pages
        halves = [subprocess.Popen([sys.executable, "-m", "benchmarks.throughput", "--bare",
                                    str(args.bare), "--part", str(part)]) for part in (0, 1)]
        return max(half.wait() for half in halves)
    if args.bare:
        bare_loop(args.bare, *((args.part, 2) if args.part is not None else ()))
        return 0
    import spacy
    import trafilatura

    print(f"throughput benchmark, {date.today()}: {os.cpu_count()} cores, "
          f"{platform.processor() or platform.machine()}, Python {sys.version.split()[0]}, "
          f"trafilatura {trafilatura.__version__}, spaCy {spacy.__version__}")
    print(f"{'N':>6}  {'mode':<44} {'seconds':>8} {'articles/s':>10} {'peak RSS MB':>12} "
          f"{'articles':>8}")
    results: dict[tuple[int, str], tuple[float, float]] = {}
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as work:
            folder = Path(work) / "pages"
            folder.mkdir()
            build_corpus(folder, size)
            for mode in MODES:
                output = Path(work) / f"out-{mode}"
                results[(size, mode)] = run_mode(mode, folder, output)
                seconds, peak = results[(size, mode)]
                written = articles_written(output) if mode in ("b", "c") else "-"
                print(f"{size:>6}  {MODES[mode][0]:<44} {seconds:>8.1f} {size / seconds:>10.2f} "
                      f"{peak:>12.0f} {written!s:>8}", flush=True)
        a, a2, b, c = (results[(size, m)][0] for m in MODES)
        print(f"{size:>6}  ratios (speed over speed): b/a = {a / b:.2f}, c/b = {b / c:.2f}, "
              f"best of b and c / a2 = {a2 / min(b, c):.2f}, a2/a = {a / a2:.2f}")
    if len(args.sizes) > 1:
        small, large = min(args.sizes), max(args.sizes)
        for mode in MODES:
            growth = results[(large, mode)][1] / results[(small, mode)][1]
            print(f"peak memory N={large} / N={small}, mode {mode}: {growth:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
