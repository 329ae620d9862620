"""Rows: every dataset's rows from three fixed inputs, written canonically, so that a change
meant to leave results alone (a refactoring) can be checked to do so.

Runs `newsbeam run` on the seeds, on 200 scrapinghub pages (the throughput corpus) and on the
982 ECB+ documents, each into an output of its own, and writes each dataset's rows, without
the columns that record when a run happened, as sorted JSON lines under SNAPSHOT/<input>/.
Two snapshots are compared with `diff -r`; the table printed gives rows and a digest per
dataset.

    python -m benchmarks.rows SNAPSHOT
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow.dataset as ds

from benchmarks.corpora import ecbplus_texts
from benchmarks.measure import ROOT
from benchmarks.throughput import build_corpus

# Columns that say when a run happened (or how long it took), not what it found: a story's
# first and last seen are its undated articles' ingest times; the config's hash covers the
# output's (temporary) path.
RUN_TIME_COLUMNS = {"ingested_at", "assigned_at", "run_time", "checked_at", "started_at",
                    "finished_at", "run_id", "seconds", "stage_seconds", "ingest_date",
                    "first_seen", "last_seen", "config_hash"}


def write_inputs(folder: Path) -> dict[str, str]:
    """{input name: its glob}, the corpora written under `folder`."""
    pages, ecb = folder / "scrapinghub", folder / "ecbplus"
    pages.mkdir()
    ecb.mkdir()
    build_corpus(pages, 200)
    for doc_id, text in ecbplus_texts().items():
        (ecb / f"{doc_id}.txt").write_text(text, encoding="utf-8")
    return {"seeds": str(ROOT / "seeds" / "*.txt"), "scrapinghub": f"{pages}/*.html.gz",
            "ecbplus": f"{ecb}/*.txt"}


def canonical_rows(dataset: Path, places: dict[str, str]) -> list[str]:
    """The dataset's rows as sorted JSON lines, run-time columns left out, and the folders
    of `places` named by their key (inputs are in a new temporary folder each time)."""
    table = ds.dataset(dataset, partitioning="hive").to_table()
    kept = [name for name in table.column_names if name not in RUN_TIME_COLUMNS]
    lines = []
    for row in table.select(kept).to_pylist():
        line = json.dumps(row, sort_keys=True, default=str, ensure_ascii=False)
        for name, folder in places.items():
            line = line.replace(folder, name)
        lines.append(line)
    return sorted(lines)


def snapshot(output: Path, into: Path, places: dict[str, str]) -> list[tuple[str, int, str]]:
    into.mkdir(parents=True, exist_ok=True)
    measured = []
    for dataset in sorted(p for p in output.iterdir() if p.is_dir() and p.name[0] != "_"):
        lines = canonical_rows(dataset, places)
        text = "".join(line + "\n" for line in lines)
        (into / f"{dataset.name}.jsonl").write_text(text, encoding="utf-8")
        measured.append((dataset.name, len(lines), hashlib.sha256(text.encode()).hexdigest()))
    return measured


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("snapshot", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        inputs = write_inputs(Path(scratch))
        print(f"{'input':<12} {'dataset':<15} {'rows':>7}  sha256")
        for name, glob in inputs.items():
            output = Path(scratch) / f"out-{name}"
            subprocess.run([sys.executable, "-m", "pipeline", "run", "--quiet", "--input", glob,
                            "--output", str(output)], cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL)
            places = {"<inputs>": scratch, "<root>": str(ROOT)}
            for dataset, rows, digest in snapshot(output, args.snapshot / name, places):
                print(f"{name:<12} {dataset:<15} {rows:>7}  {digest[:16]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
