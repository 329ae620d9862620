"""The runs dataset: one row per run, written with the run's datasets (its counts are the
summary line's), and read back for the reports."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import datetime
from importlib.metadata import version
from typing import Any

import pyarrow as pa
from apache_beam.io.filesystems import FileSystems

from transforms.core import metrics
from transforms.core.schemas import RUNS
from transforms.storage.layout import OutputLayout, OutputPaths
from transforms.storage.manifest import manifest_files
from transforms.storage.parquet_files import read_dataset_files, write_dataset_file


def config_hash(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def errors_by_reason(staged_errors: list[str]) -> list[dict[str, Any]]:
    counts = Counter((row["stage"], row["error_type"])
                     for row in read_dataset_files(staged_errors, "errors").select(
                         ["stage", "error_type"]).to_pylist())
    return [{"stage": stage, "error_type": kind, "count": n}
            for (stage, kind), n in sorted(counts.items())]


def runs_row(layout: OutputLayout, config: dict[str, Any], runner: str, mode: str,
             totals: Counter[str], finished_at: datetime, seconds: float,
             staged_errors: list[str], stage_seconds: dict[str, float]) -> dict[str, Any]:
    """The run's row of the runs dataset; its counts are the summary line's. `mode`: "run",
    or "stream" for a stream's batch."""
    unexpected = metrics.unexpected_by_stage(totals)
    return {
        "run_id": layout.stamp, "started_at": layout.run_time, "finished_at": finished_at,
        "runner": runner, "mode": mode, "newsbeam_version": version("newsbeam"),
        "config_hash": config_hash(config), "inputs": list(config["inputs"]),
        "feeds": [feed["url"] for feed in config["feeds"]],
        "inputs_seen": totals[metrics.INPUTS], "records": totals[metrics.RECORDS],
        "articles_written": totals[metrics.ARTICLES_WRITTEN],
        "skipped_existing": totals[metrics.SKIPPED_EXISTING],
        "errors": sum(metrics.errors_by_stage(totals).values()),
        "unexpected_failures": sum(sum(places.values()) for places in unexpected.values()),
        "seconds": seconds,
        "counters": [{"name": name, "value": value} for name, value in sorted(totals.items())],
        "errors_by_reason": errors_by_reason(staged_errors),
        "stage_seconds": [{"stage": stage, "seconds": s}
                          for stage, s in sorted(stage_seconds.items(), key=lambda i: -i[1])],
    }


def stage_runs_row(layout: OutputLayout, row: dict[str, Any]) -> str:
    """Writes the run's row into its staging folder; returns the file's path (for the
    manifest, so the row is committed with the run's datasets)."""
    path = f"{layout.staged_prefix('runs')}-run.parquet"
    write_dataset_file(path, "runs", pa.Table.from_pylist([row], schema=RUNS))
    return path


def read_runs(output: str) -> list[dict[str, Any]]:
    """Every run's row, oldest first."""
    pattern = OutputPaths(output).dataset_files("runs")
    files = [m.path for m in FileSystems.match([pattern])[0].metadata_list]
    rows = read_dataset_files(files, "runs").to_pylist()
    return sorted(rows, key=lambda row: row["started_at"])


def written_counts(layout: OutputLayout) -> tuple[Counter[str], list[str]]:
    """A window's counters as its staged files tell them (a streaming runner's counters are
    the job's, not a window's): articles written, errors by stage; and its errors files."""
    staged = [layout.staged(path) for path in manifest_files(layout)]
    totals: Counter[str] = Counter()
    articles = [path for path in staged if "/articles/" in path]
    totals[metrics.ARTICLES_WRITTEN] = read_dataset_files(articles, "articles",
                                                          ["article_id"]).num_rows
    errors = [path for path in staged if "/errors/" in path]
    for stage in read_dataset_files(errors, "errors", ["stage"]).column("stage").to_pylist():
        totals[metrics.errors_of(stage)] += 1
    return totals, errors
