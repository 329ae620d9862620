"""Run cost against history: a small batch of new articles into outputs that already hold N
articles, for N = 0, 100k, 1M and 10M.

Each history is written as earlier runs would have written it (the contract's schemas: an
articles dataset of N rows and an entity_aliases dataset of N/2 rows, in files of 250k rows),
then its indexes are built once (timed), then the same 5 new articles (the seeds) are run into
it as a child process, measured for wall time and peak memory; the ratios are to N = 0.

    make bench-incremental    (or: python -m benchmarks.incremental [--sizes 0 100000 ...])
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.measure import ROOT, seconds_and_peak_mb
from transforms.core.schemas import ARTICLES, ENTITY_ALIASES

FILE_ROWS = 250_000
HISTORY_TIME = datetime(2026, 1, 1, tzinfo=UTC)


def random_ids(count: int, hex_chars: int) -> pa.Array:
    """`count` random lower-case hex ids, as sha256-based ids look."""
    raw = os.urandom(count * hex_chars // 2).hex()
    return pa.array([raw[i:i + hex_chars] for i in range(0, len(raw), hex_chars)])


def write_history(output: Path, articles: int) -> None:
    """An output holding `articles` articles and half as many alias rows, in files of FILE_ROWS
    rows under one ingest date, as a long series of earlier runs leaves them."""
    for dataset, schema, rows in (("articles", ARTICLES, articles),
                                  ("entity_aliases", ENTITY_ALIASES, articles // 2)):
        folder = output / dataset / "ingest_date=2026-01-01"
        folder.mkdir(parents=True, exist_ok=True)
        for number, start in enumerate(range(0, rows, FILE_ROWS)):
            size = min(FILE_ROWS, rows - start)
            pq.write_table(history_table(schema, size),
                           folder / f"part-history-{number:05d}.parquet", compression="snappy")


def history_table(schema: pa.Schema, size: int) -> pa.Table:
    if schema is ARTICLES:
        columns = {
            "article_id": random_ids(size, 32), "source": pa.repeat("history.txt", size),
            "url": pa.nulls(size, pa.string()), "title": pa.repeat("An earlier article", size),
            "text": pa.repeat("Text of an earlier article.", size),
            "published_at": pa.nulls(size, ARTICLES.field("published_at").type),
            "language": pa.repeat("en", size), "word_count": pa.repeat(5, size),
            "removed": pa.array([[]] * size, ARTICLES.field("removed").type),
            "keyphrases": pa.array([[]] * size, ARTICLES.field("keyphrases").type),
            "ingested_at": pa.repeat(pa.scalar(HISTORY_TIME, ARTICLES.field("ingested_at").type),
                                     size),
            "duplicate_of": pa.nulls(size, pa.string()),
        }
    else:
        columns = {"entity_id": random_ids(size, 16), "name": pa.repeat("Earlier Name", size),
                   "label": pa.repeat("PERSON", size), "alias": pa.repeat("Earlier Name", size),
                   "mentions": pa.repeat(3, size)}
    return pa.table(columns).cast(schema)


def build_indexes(output: Path) -> float:
    """Seconds to build the indexes of an output written before them (once per output)."""
    command = [sys.executable, "-c",
               "import sys; from datetime import UTC, datetime; "
               "from pipeline.run import prepare_indexes; "
               "from pipeline.config import load_config, run_settings; "
               "from transforms.storage.layout import OutputLayout; "
               "layout = OutputLayout(sys.argv[1], datetime.now(UTC)); "
               "print(prepare_indexes(run_settings(load_config()), layout))",
               str(output)]
    seconds, _ = seconds_and_peak_mb(command)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 100_000, 1_000_000, 10_000_000])
    args = parser.parse_args(argv)
    print(f"incremental benchmark, {date.today()}: {os.cpu_count()} cores, "
          f"{platform.machine()}, Python {sys.version.split()[0]}, pyarrow {pa.__version__}; "
          f"5 new articles (seeds/*.txt) per run")
    print(f"{'N articles':>11} {'alias rows':>10} {'write s':>8} {'index s':>8} "
          f"{'run s':>7} {'peak RSS MB':>11} {'time x N=0':>10} {'memory x N=0':>12}")
    baseline: tuple[float, float] | None = None
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as work:
            output = Path(work) / "out"
            started = time.perf_counter()
            write_history(output, size)
            written = time.perf_counter() - started
            indexed = build_indexes(output)
            seconds, peak = seconds_and_peak_mb(
                [sys.executable, "-m", "pipeline", "run", "--input", str(ROOT / "seeds/*.txt"),
                 "--output", str(output)])
            baseline = baseline or (seconds, peak)
            print(f"{size:>11} {size // 2:>10} {written:>8.1f} {indexed:>8.1f} {seconds:>7.1f} "
                  f"{peak:>11.0f} {seconds / baseline[0]:>10.2f} {peak / baseline[1]:>12.2f}",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
