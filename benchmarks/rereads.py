"""Reading a folder again: the 982 ECB+ documents (`../shared/benchmarks/ecbplus`) as .txt
files, run into an empty output, then the same command again over the unchanged folder, then
once more after one file was added. The second run should read nothing (the input_files
index) and cost a small share of the first.

    make bench-reread
"""

from __future__ import annotations

import platform
import sys
import tempfile
from pathlib import Path

import pyarrow.dataset as ds

from benchmarks.corpora import ecbplus_texts
from benchmarks.measure import seconds_and_peak_mb


def article_count(output: Path) -> int:
    return ds.dataset(output / "articles", partitioning="hive").count_rows()


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="newsbeam-reread-") as temp:
        folder, output = Path(temp) / "ecbplus", Path(temp) / "out"
        folder.mkdir()
        texts = ecbplus_texts()
        for doc_id, text in texts.items():
            (folder / f"{doc_id}.txt").write_text(text, encoding="utf-8")
        command = [sys.executable, "-m", "pipeline", "run", "--input", f"{folder}/*.txt",
                   "--output", str(output), "--quiet"]
        rows = []
        for label in ("first run (empty output)", "second run (folder unchanged)"):
            seconds, peak = seconds_and_peak_mb(command)
            rows.append((label, seconds, peak, article_count(output)))
        (folder / "added.txt").write_text(
            "A file added after the first two runs.\n\nIt is the only new article in the "
            "folder, so the third run reads it alone and writes one article.\n",
            encoding="utf-8")
        seconds, peak = seconds_and_peak_mb(command)
        rows.append(("third run (one file added)", seconds, peak, article_count(output)))
    print(f"Reading a folder again: {len(texts)} ECB+ .txt files, newsbeam run as a user "
          f"runs it (wall time of the command, peak memory); {platform.python_version()}, "
          f"{platform.machine()}")
    print(f"{'run':<32} {'wall s':>8} {'of first':>9} {'peak MB':>8} {'articles':>9}")
    first = rows[0][1]
    for label, seconds, peak, articles in rows:
        print(f"{label:<32} {seconds:>8.1f} {seconds / first:>9.1%} {peak:>8.0f} "
              f"{articles:>9}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
