"""What runs did, as HTML reports: one per run and one of the trends over the last runs,
under OUTPUT/_reports/. A report is one
self-contained file: plots drawn as inline SVG, no script, no link, nothing
fetched when it is opened from disk."""

from __future__ import annotations

import html
from collections import Counter
from datetime import UTC, datetime
from importlib.metadata import version
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.io.filesystems import FileSystems

from pipeline.runs import read_runs
from transforms.core.language import primary_language
from transforms.resolve import ENTITY_FORMS
from transforms.storage.index import lookup_rows
from transforms.storage.layout import STAMP_FORMAT, OutputPaths
from transforms.storage.parquet_files import read_dataset_files

TOP = 15  # bars in a ranking plot
EXAMPLES = 3  # error rows shown per stage and reason


# -- reports ---------------------------------------------------------------------------------

def _dataset_files(output: OutputPaths, dataset: str, run_time: datetime) -> list[str]:
    """A dataset's files of the run's date partition; every file where the output is not
    partitioned by date."""
    for pattern in (f"{output.dataset(dataset)}/ingest_date={run_time:%Y-%m-%d}/*.parquet",
                    output.dataset_files(dataset)):
        found = [m.path for m in FileSystems.match([pattern])[0].metadata_list]
        if found:
            return found
    return []


# The column that holds the time of the run that wrote a row, by dataset.
_RUN_TIME_COLUMNS = ("ingested_at", "assigned_at", "run_time")


def _run_rows(output: OutputPaths, dataset: str, run_time: datetime) -> pa.Table:
    table = read_dataset_files(_dataset_files(output, dataset, run_time), dataset)
    column = next((c for c in _RUN_TIME_COLUMNS if c in table.column_names), None)
    if column is None:
        return table
    return table.filter(pc.equal(table.column(column),
                                 pa.scalar(run_time, table.schema.field(column).type)))


# Plots are written as SVG by hand: a bar chart and a line chart need a few dozen elements,
# and drawing them with a plotting library cost each run about 1 s and 100 MB.
WIDTH = 760
PALETTE = ("#3b6ea8", "#d9822b", "#4c9a5b", "#b0413e")
FONT = "font-family='sans-serif' font-size='11'"


def _number(value: float) -> str:
    return f"{value:.3g}" if isinstance(value, float) and not value.is_integer() else f"{value:g}"


def _svg(height: float, elements: list[str]) -> str:
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{height:.0f}' "
            f"viewBox='0 0 {WIDTH} {height:.0f}' {FONT}>{''.join(elements)}</svg>")


def _text(x: float, y: float, text: str, anchor: str = "start", extra: str = "") -> str:
    return (f"<text x='{x:.1f}' y='{y:.1f}' text-anchor='{anchor}'{extra}>"
            f"{html.escape(text)}</text>")


def bar_plot(title: str, counts: list[tuple[str, float]], xlabel: str) -> str:
    """A horizontal bar chart as inline SVG, largest first, each bar with its value (a note
    instead when there is nothing to plot). Labels are text, drawn in the viewer's fonts, so
    any script shows."""
    if not counts:
        return f"<p class='empty'>{html.escape(title)}: nothing in this run.</p>"
    row, top, left, right = 20, 28, 370, 60
    largest = max(value for _, value in counts) or 1
    scale = (WIDTH - left - right) / largest
    elements = [_text(0, 16, title, extra=" font-size='13' font-weight='bold'")]
    for number, (label, value) in enumerate(counts):
        y = top + number * row
        elements += [_text(left - 6, y + 13, label[:60], "end"),
                     f"<rect x='{left}' y='{y + 3}' width='{max(value * scale, 1):.1f}' "
                     f"height='{row - 6}' fill='{PALETTE[0]}'/>",
                     _text(left + value * scale + 4, y + 13, _number(value))]
    bottom = top + len(counts) * row
    elements.append(_text(left, bottom + 16, xlabel, extra=" fill='#555'"))
    return _svg(bottom + 24, elements)


def line_plot(title: str, runs: list[str], series: dict[str, list[float]]) -> str:
    """One line per series over the runs, as inline SVG, with the runs on the x axis and each
    series named in a legend."""
    left, top, plot_width, plot_height = 60, 40, WIDTH - 90, 140
    largest = max((v for values in series.values() for v in values), default=0) or 1
    step = plot_width / max(1, len(runs) - 1)
    elements = [_text(0, 16, title, extra=" font-size='13' font-weight='bold'"),
                f"<line x1='{left}' y1='{top + plot_height}' x2='{left + plot_width}' "
                f"y2='{top + plot_height}' stroke='#999'/>",
                _text(left - 6, top + 4, _number(float(largest)), "end"),
                _text(left - 6, top + plot_height + 4, "0", "end")]
    for number, run in enumerate(runs):
        x = left + number * step
        elements.append(_text(x, top + plot_height + 14, run[:15], "end",
                              f" font-size='8' transform='rotate(-30 {x:.1f} "
                              f"{top + plot_height + 14})'"))
    for number, (name, values) in enumerate(series.items()):
        colour = PALETTE[number % len(PALETTE)]
        points = [(left + i * step, top + plot_height * (1 - v / largest))
                  for i, v in enumerate(values)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        elements.append(f"<polyline points='{path}' fill='none' stroke='{colour}'/>")
        elements += [f"<circle cx='{x:.1f}' cy='{y:.1f}' r='3' fill='{colour}'/>"
                     for x, y in points]
        elements.append(_text(left + 10 + number * 150, 30, f"\u25cf {name}",
                              extra=f" fill='{colour}'"))
    return _svg(top + plot_height + 70, elements)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    cells = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                    for row in rows)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    return f"<table><tr>{head}</tr>{cells}</table>"


def _page(title: str, sections: list[tuple[str, str]]) -> str:
    body = "".join(f"<section><h2>{html.escape(name)}</h2>{content}</section>"
                   for name, content in sections)
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>body{{font-family:sans-serif;"
            f"max-width:60em;margin:2em auto;color:#222}}table{{border-collapse:collapse}}"
            f"td,th{{border:1px solid #ccc;padding:2px 6px;font-size:90%;text-align:left}}"
            f"section{{margin-bottom:2em}}svg{{max-width:100%;height:auto}}.empty{{color:#777}}"
            f"</style></head><body><h1>{html.escape(title)}</h1>{body}"
            f"<p class='empty'>newsbeam {html.escape(version('newsbeam'))}</p></body></html>")


def _counted(values: list[Any]) -> list[tuple[str, int]]:
    return Counter(str(v) for v in values).most_common(TOP)


def run_report(output: str, run_id: str | None = None) -> str:
    """Writes the report of one run (the last one when run_id is None); returns its path."""
    runs = read_runs(output)
    chosen = [r for r in runs if run_id in (None, r["run_id"])]
    if not chosen:
        raise ValueError(f"no run {run_id!r} in {output}/runs; runs: "
                         f"{', '.join(r['run_id'] for r in runs[-5:]) or 'none yet'}")
    run = chosen[-1]
    run_time = datetime.strptime(run["run_id"], STAMP_FORMAT).replace(tzinfo=UTC)
    paths = OutputPaths(output)
    articles = _run_rows(paths, "articles", run_time)
    entities = _run_rows(paths, "entities", run_time)
    topics = _run_rows(paths, "topics", run_time)
    errors = _run_rows(paths, "errors", run_time)
    sources = Counter(articles.column("source").to_pylist())
    failed = Counter(errors.column("source").to_pylist())
    removed = [block for blocks in articles.column("removed").to_pylist() for block in blocks]
    removed_words = Counter()
    for block in removed:
        removed_words[block["reason"]] += len(block["text"].split())
    kept_words = sum(articles.column("word_count").to_pylist())
    errors_list = errors.to_pylist()
    examples = [[e["stage"], e["error_type"], e["source"], e["message"][:200]]
                for reason in sorted({(e["stage"], e["error_type"]) for e in errors_list})
                for e in [x for x in errors_list
                          if (x["stage"], x["error_type"]) == reason][:EXAMPLES]]
    names = Counter(entities.column("name").to_pylist())
    first_seen = _new_entities(paths, entities)
    top_topics = topics.filter(pc.is_null(topics.column("parent_id")))
    summary = [["run", run["run_id"]], ["started", run["started_at"]],
               ["finished", run["finished_at"]], ["runner", run["runner"]],
               ["inputs seen", run["inputs_seen"]], ["records", run["records"]],
               ["articles written", run["articles_written"]],
               ["already in output", run["skipped_existing"]], ["errors", run["errors"]],
               ["unexpected failures", run["unexpected_failures"]],
               ["seconds", f"{run['seconds']:.1f}"], ["config hash", run["config_hash"][:16]]]
    stage_seconds = [(s["stage"], s["seconds"]) for s in run["stage_seconds"]]
    sections = [
        ("Summary", _table(["", ""], summary)),
        ("Articles and errors by source", bar_plot(
            "articles written per source", sources.most_common(TOP), "articles")
         + bar_plot("errors per source", failed.most_common(TOP), "errors rows")),
        ("Errors by stage and reason", bar_plot(
            "errors by stage and reason", [(f"{e['stage']}: {e['error_type']}", e["count"])
                                           for e in run["errors_by_reason"]], "rows")
         + (_table(["stage", "error", "source", "message"], examples) if examples else "")),
        ("What cleaning removed", bar_plot(
            "removed words by reason", removed_words.most_common(TOP), "words")
         + bar_plot("words kept and removed", [("kept", kept_words),
                                               ("removed", sum(removed_words.values()))],
                    "words")),
        ("Languages", bar_plot("articles by language", _counted(
            [primary_language(code) for code in articles.column("language").to_pylist()]),
            "articles")),
        ("Entities", bar_plot("most mentioned entities", names.most_common(TOP), "mentions")
         + (_table(["entities first seen in this run, most mentioned first"],
                   [[name] for name in first_seen[:TOP]])
            if first_seen else "<p class='empty'>No entity new in this run.</p>")),
        ("Topics", bar_plot("articles by top-level topic",
                            _counted(top_topics.column("topic").to_pylist()), "articles")),
        ("Stories", _stories_section(paths, run_time)),
        ("Time", bar_plot("seconds per stage", stage_seconds, "seconds") if stage_seconds else
         f"<p>{run['seconds']:.1f} s in all; this runner reports no time per stage.</p>"),
    ]
    return _write(paths, f"run-{run['run_id']}.html",
                  _page(f"newsbeam run {run['run_id']}", sections))


def _stories_section(output: OutputPaths, run_time: datetime) -> str:
    """The stories this run touched: the biggest plotted, a table of them, and how many are
    new, grew or were merged into older ones."""
    touched = _run_rows(output, "stories", run_time).to_pylist()
    joined = Counter(_run_rows(output, "story_members", run_time).column("story_id").to_pylist())
    current = [s for s in touched if s["merged_into"] is None]
    biggest = sorted(current, key=lambda s: (-s["article_count"], s["story_id"]))[:TOP]
    new = sum(s["article_count"] == joined[s["story_id"]] for s in current)
    note = (f"<p>{len(current)} stories touched by this run: {new} new, {len(current) - new} "
            f"grown; {len(touched) - len(current)} merged into older ones.</p>")
    plot = bar_plot("biggest stories this run touched (articles in all)", [
        (f"{(s['headline'] or '')[:50]} ({s['story_id'][:6]})", s["article_count"])
        for s in biggest], "articles")
    table = _table(["story", "headline", "articles", "joined in this run", "outlets",
                    "first seen", "top topic"],
                   [[s["story_id"][:12], s["headline"] or "", s["article_count"],
                     joined[s["story_id"]], s["outlet_count"], f"{s['first_seen']:%Y-%m-%d %H:%M}",
                     s["top_topic"] or ""] for s in biggest]) if biggest else ""
    return note + plot + table


def _new_entities(output: OutputPaths, entities: pa.Table) -> list[str]:
    """Names of this run's entities that no earlier run mentioned: the entity_forms index
    counts no more mentions of them than this run has (looked up for these ids only)."""
    this_run = Counter(entities.column("entity_id").to_pylist())
    names = dict(zip(entities.column("entity_id").to_pylist(),
                     entities.column("name").to_pylist(), strict=True))
    counted: Counter[str] = Counter()
    for row in lookup_rows(output, ENTITY_FORMS, this_run):
        counted[row["key"]] += row["mentions"]
    new = [(n, names[i]) for i, n in this_run.items() if counted[i] <= n]
    return [name for _, name in sorted(new, key=lambda item: (-item[0], item[1]))]


def trend_report(output: str, last: int) -> str:
    """Writes the report of the trends over the last `last` runs; returns its path."""
    runs = read_runs(output)[-last:]
    if not runs:
        raise ValueError(f"no runs in {output}/runs yet")
    ids = [r["run_id"] for r in runs]
    rate = [r["errors"] / max(1, r["records"] + r["inputs_seen"]) for r in runs]
    sections = [
        ("Articles per run", line_plot("articles", ids, {
            "written": [r["articles_written"] for r in runs],
            "already in output": [r["skipped_existing"] for r in runs]})),
        ("Error rate", line_plot("errors per input and record", ids, {"error rate": rate})),
        ("Run time", line_plot("seconds", ids, {"wall time": [r["seconds"] for r in runs]})),
        ("Runs", _table(["run", "articles written", "already in output", "errors", "seconds"],
                        [[r["run_id"], r["articles_written"], r["skipped_existing"],
                          r["errors"], f"{r['seconds']:.1f}"] for r in runs])),
    ]
    return _write(OutputPaths(output), f"trend-last-{len(runs)}.html",
                  _page(f"newsbeam: the last {len(runs)} runs", sections))


def prune_run_reports(output: str, keep: int) -> int:
    """Deletes all but the newest `keep` run reports (0: keeps all); returns how many went.
    A run every few minutes writes one each: without this _reports/ grows without end. A
    deleted report can be written again from the datasets (`newsbeam report --run ID`)."""
    if not keep:
        return 0
    found = FileSystems.match([f"{OutputPaths(output).reports}/run-*.html"])[0].metadata_list
    older = sorted(m.path for m in found)[:-keep]  # run ids sort by time
    if older:
        FileSystems.delete(older)
    return len(older)


def _write(output: OutputPaths, name: str, page: str) -> str:
    path = f"{output.reports}/{name}"
    with FileSystems.create(path) as handle:
        handle.write(page.encode("utf-8"))
    return path
