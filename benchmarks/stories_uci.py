"""Stories on dated headlines: a contiguous stretch of UCI News Aggregator headlines
(`../shared/data/uci-news-aggregator`, March-August 2014, Google News' story grouping), each fed
as a JSON Feed item (the headline as its text, the time the aggregator saw it as its publication
time, its URL), run through newsbeam at the default story window and two others, and scored
with B-cubed precision, recall and F1 of each article's current story against Google News'
story ids. (UCI is also training data for the topic head: this measures stories, not topics.)

    python -m benchmarks.stories_uci [--size 20000] [--start 200000]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import html
import json
import sys
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow.dataset as ds

from benchmarks.corpora import ROOT
from benchmarks.stories import bcubed, run_all
from pipeline.config import load_config, run_settings
from training.topics import clean_headline

UCI = ROOT.parent / "shared" / "data" / "uci-news-aggregator" / "news.tsv.gz"
ITEMS_PER_FILE = 1000  # each feed file well under limits.max_input_bytes


def stretch(start: int, size: int) -> list[dict[str, str]]:
    """`size` rows in the order the aggregator saw them, from the `start`-th on; one row per
    URL (the first), since a URL is one article."""
    with gzip.open(UCI, "rt", encoding="utf-8") as f:
        rows = sorted(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE),
                      key=lambda r: (int(r["timestamp_ms"]), r["id"]))
    chosen, seen = [], set()
    for row in rows[start:]:
        if row["url"] not in seen and clean_headline(row["title"]):
            seen.add(row["url"])
            chosen.append(row)
        if len(chosen) == size:
            break
    return chosen


def write_feeds(folder: Path, rows: list[dict[str, str]]) -> None:
    """JSON Feed files of ITEMS_PER_FILE items: no title, the headline as the item's text (a
    fragment is all content), so the headline is the article's text."""
    folder.mkdir(parents=True)
    for number in range(0, len(rows), ITEMS_PER_FILE):
        items = [{"id": row["id"], "url": row["url"],
                  "content_html": f"<p>{html.escape(clean_headline(row['title']))}</p>",
                  "date_published": datetime.fromtimestamp(
                      int(row["timestamp_ms"]) / 1000, UTC).isoformat()}
                 for row in rows[number:number + ITEMS_PER_FILE]]
        (folder / f"uci-{number // ITEMS_PER_FILE:03d}.json").write_text(json.dumps(
            {"version": "https://jsonfeed.org/version/1.1", "title": "UCI", "items": items}),
            encoding="utf-8")


def current_stories_by_url(output: Path) -> dict[str, str]:
    """{article url: its current story (its latest story_members row)}."""
    members = ds.dataset(output / "story_members", partitioning="hive").to_table(
        columns=["article_id", "story_id", "assigned_at"]).to_pylist()
    latest = {}
    for row in sorted(members, key=lambda r: r["assigned_at"]):
        latest[row["article_id"]] = row["story_id"]
    articles = ds.dataset(output / "articles", partitioning="hive").to_table(
        columns=["article_id", "url"]).to_pylist()
    return {row["url"]: latest[row["article_id"]] for row in articles
            if row["article_id"] in latest}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=20000)
    parser.add_argument("--start", type=int, default=200000)
    args = parser.parse_args()
    window = run_settings(load_config()).stories.window_days
    rows = stretch(args.start, args.size)
    gold = {row["url"]: row["story"] for row in rows}
    first, last = (datetime.fromtimestamp(int(rows[i]["timestamp_ms"]) / 1000, UTC)
                   for i in (0, -1))
    print(f"Stories on UCI headlines, {date.today()}: {len(rows)} headlines from row "
          f"{args.start} in time order ({first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC), "
          f"{len(set(gold.values()))} Google News stories; one run")
    print("| window days | articles | stories | P | R | F1 |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        write_feeds(folder / "feeds", rows)
        for days in (window, window / 3, window * 3):
            config = folder / f"window-{days:g}.yaml"
            config.write_text(f"stories:\n  window_days: {days}\n", encoding="utf-8")
            output = folder / f"out-{days:g}"
            run_all([folder / "feeds"], output, config, pattern="*.json")
            stories = current_stories_by_url(output)
            predicted = {url: stories.get(url, f"none {url}") for url in gold}
            precision, recall, f1 = bcubed(predicted, gold)
            mark = " (default)" if days == window else ""
            print(f"| {days:g}{mark} | {len(stories)} | {len(set(stories.values()))} | "
                  f"{precision:.3f} | {recall:.3f} | {f1:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
