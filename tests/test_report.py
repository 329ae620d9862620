"""What a run did: its runs/ row, its self-contained HTML report, trends over runs, and
progress lines while it works."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES, read_dataset, seeds_in_three_runs

from pipeline import cli

pytestmark = pytest.mark.slow
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["'](?!#|data:)|@import|url\(\s*['"]?http|<script""",
                      re.IGNORECASE)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    assert cli.main(["run", *args]) == 0
    return capsys.readouterr().out.strip().splitlines()


def test_a_run_writes_its_row_and_its_report(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "out"
    summary = run(capsys, "--output", str(output))[-1]
    numbers = re.match(r"newsbeam: inputs seen (\d+) \((\d+) records, \d+ files and "
                       r"(\d+) feeds unchanged\), articles written (\d+), already in output "
                       r"(\d+), errors by stage: none",
                       summary)
    assert numbers, summary
    [row] = read_dataset(output, "runs")
    assert [row["inputs_seen"], row["records"], row["articles_written"],
            row["skipped_existing"], row["errors"]] == [int(numbers[i]) for i in
                                                         (1, 2, 4, 5)] + [0]
    assert row["runner"] == "DirectRunner" and len(row["config_hash"]) == 64
    assert {"name": "seen.clean", "value": 5} in row["counters"]
    timed = {s["stage"] for s in row["stage_seconds"]}  # the DirectRunner reports step times
    assert "ExtractEntities" in timed and all(s["seconds"] > 0 for s in row["stage_seconds"])
    report = Path(summary.rsplit("; report: ", 1)[1])
    assert report.parent == output / "_reports" and report.name == f"run-{row['run_id']}.html"
    page = report.read_text(encoding="utf-8")
    assert len(page.encode()) < 2_000_000
    assert EXTERNAL.search(page) is None  # opens from disk with nothing fetched
    svgs = re.findall(r"<svg.*?</svg>", page, re.DOTALL)
    assert len(svgs) == 8  # sources, removed, kept, languages, entities, topics, stories, time
    plotted = " ".join(svgs)
    # the seeds are one story of five articles, new in this run
    assert "1 stories touched by this run: 1 new, 0 grown; 0 merged" in page
    [story] = read_dataset(output, "stories")
    assert f"({story['story_id'][:6]})" in plotted and story["article_count"] == 5
    for data in ("000_f18e94bea9b18e7b.txt", "caption", "Hamas", "politics", "en", "kept",
                 "ExtractEntities"):
        assert data in plotted, data


def test_trends_over_the_last_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Three runs that keep two run reports: the oldest goes, and can be written again."""
    output, config = tmp_path / "out", tmp_path / "keep-two.yaml"
    config.write_text("keep_run_reports: 2\n", encoding="utf-8")
    summaries = [run(capsys, "--input", f"{folder}/*.txt", "--output", str(output),
                     "--config", str(config))[-1] for folder in seeds_in_three_runs(tmp_path)]
    assert [s.endswith(" older deleted)") for s in summaries] == [False, False, True]
    assert summaries[-1].endswith(" (1 older deleted)")
    kept = sorted(p.name for p in (output / "_reports").glob("run-*.html"))
    runs = sorted(row["run_id"] for row in read_dataset(output, "runs"))
    assert kept == [f"run-{run_id}.html" for run_id in runs[1:]]
    assert cli.main(["report", str(output), "--run", runs[0]]) == 0
    assert (output / "_reports" / f"run-{runs[0]}.html").exists()
    capsys.readouterr()
    assert cli.main(["report", str(output), "--last", "3"]) == 0
    trend = Path(capsys.readouterr().out.strip().rsplit(": ", 1)[1])
    page = trend.read_text(encoding="utf-8")
    table_rows = re.findall(r"<tr><td>(\d{8}T\d{12}Z)</td><td>(\d+)</td>", page)
    assert [run_id for run_id, _ in table_rows] == runs
    assert [int(n) for _, n in table_rows] == [2, 2, 1]  # articles written per run
    assert len(re.findall(r"<svg", page)) == 3
    for run_id in runs:  # every run is a point on the x axis of each trend
        assert page.count(run_id[:15]) >= 3
    assert EXTERNAL.search(page) is None
    assert cli.main(["report", str(output), "--run", "nope"]) == 2


def test_progress_lines_and_quiet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pages = tmp_path / "pages"
    pages.mkdir()
    for number in range(12):
        shutil.copy(FIXTURES / "html" / "council.html", pages / f"page-{number:02d}.html")
    config = tmp_path / "progress.yaml"
    config.write_text("progress_s: 0.2\n", encoding="utf-8")
    lines = run(capsys, "--config", str(config), "--input", f"{pages}/*.html",
                "--output", str(tmp_path / "out"))
    progress = [line for line in lines if line.startswith("newsbeam: progress ")]
    assert progress and all(re.search(r"inputs read \d+, records parsed \d+, articles written "
                                      r"\d+, errors \d+; [\d.]+ records/s", p) for p in progress)
    quiet = run(capsys, "--config", str(config), "--quiet", "--input", f"{pages}/*.html",
                "--output", str(tmp_path / "quiet"))
    assert len(quiet) == 1 and quiet[0].startswith("newsbeam: inputs seen 12")


def test_a_plot_keeps_any_script_as_text_and_escapes_markup() -> None:
    from pipeline import report

    headline = "国务院常务会议部署稳就业措施 <b>&"
    svg = report.bar_plot("Biggest stories", [(headline, 3.0), ("Second", 1.5)], "articles")
    assert "国务院常务会议部署稳就业措施 &lt;b&gt;&amp;" in svg and "<b>" not in svg
    widths = [float(w) for w in re.findall(r"<rect [^>]*width='([\d.]+)'", svg)]
    assert len(widths) == 2 and widths[0] == 2 * widths[1]  # bars to scale
    assert ">3<" in svg and ">1.5<" in svg  # each bar's value
    lines = report.line_plot("seconds", ["20261205T000000000000Z", "20261205T010000000000Z"],
                             {"wall time": [2.0, 4.0]})
    assert lines.count("<circle") == 2 and "wall time" in lines
