"""The commit: a finished run's files move from its staging folder into the datasets and
indexes, in an order that keeps readers consistent, resumably; and recovery of what an
interrupted run or compaction left, under the output's lease."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from pipeline.build import INDEX_KINDS
from pipeline.compact import recover as recover_compactions
from pipeline.lease import Lease, LeaseSettings
from pipeline.runs import runs_row, stage_runs_row, written_counts
from transforms.storage.index import merge_touched_buckets, note_committed_run
from transforms.storage.layout import COMMITTING, FAILED, OutputLayout, OutputPaths
from transforms.storage.manifest import add_to_manifest, manifest_files


def _commit_order(relative: str) -> int:
    """Rows an article links to move before the article; the indexes last of all: a reader
    who sees an article sees its entity and topic rows, and an id is only ever skipped once
    its article is in."""
    if relative.startswith("_index/"):
        return 2
    return 1 if relative.startswith("articles/") else 0


def commit_run(layout: OutputLayout) -> list[str]:
    """Move a finished run's files (those its manifest lists) from its staging folder into the
    datasets and indexes; returns where they went. Every file is complete before it moves, so
    readers never see a partial one, and a file a failed attempt left behind is never
    committed. A marker written first makes the commit resumable: a commit interrupted at any
    point is finished by the next run (recover_runs)."""
    with FileSystems.create(layout.marker(COMMITTING)) as handle:
        handle.write(b"the manifest's files are moving into the output\n")
    return _finish_commit(layout)


def _finish_commit(layout: OutputLayout) -> list[str]:
    """Moves whatever of the manifest's files is still in the staging folder (safe to repeat
    from any point), then removes the folder."""
    relative = sorted(manifest_files(layout), key=_commit_order)
    for path in relative:
        staged, target = layout.staged(path), layout.output.committed(path)
        if not FileSystems.exists(staged):
            continue  # moved before an interruption
        if FileSystems.exists(target):  # copied before an interruption (object stores)
            FileSystems.delete([staged])
            continue
        folder = target.rsplit("/", 1)[0]
        if not FileSystems.exists(folder):
            FileSystems.mkdirs(folder)
        FileSystems.rename([staged], [target])
    FileSystems.delete([layout.staging])
    return [layout.output.committed(path) for path in relative]


def recover_runs(output: OutputPaths) -> tuple[list[tuple[OutputLayout, list[str]]], int]:
    """Finishes the commits that an interrupted run left half done and removes the staging
    folders of runs that never began their commit (their work is done again by the next run);
    folders of failed runs (marked FAILED) stay for inspection. Call it while holding the
    output's lease. Returns (each finished run's layout and files, how many runs were
    undone)."""
    finished, undone = [], 0
    for staging in output.staging_folders("run"):
        earlier = OutputLayout.of_staging(staging)
        if FileSystems.exists(earlier.marker(COMMITTING)):
            finished.append((earlier, _finish_commit(earlier)))
        elif not FileSystems.exists(earlier.marker(FAILED)):
            FileSystems.delete([staging])
            undone += 1
    return finished, undone


def finish_commit(layout: OutputLayout, committed: list[str]) -> None:
    """What follows a run's files into the output: its time for the next runs, and the
    merging of the index buckets it added to."""
    note_committed_run(layout)
    merge_touched_buckets(committed, INDEX_KINDS)


def recover_output(output: str) -> str:
    """Finishes or undoes what interrupted runs and compactions left (under the lease);
    returns a note for the summary line, empty when there was nothing."""
    paths = OutputPaths(output)
    finished, undone = recover_runs(paths)
    for earlier, committed in finished:
        finish_commit(earlier, committed)
    compactions = recover_compactions(paths)
    done = [f"{n} {what}" for n, what in ((len(finished), "interrupted commit(s) finished"),
                                         (undone, "unfinished run(s) removed"),
                                         (compactions, "interrupted compaction(s) finished"))
            if n]
    return f"; recovered: {', '.join(done)}" if done else ""


class CommitWindows(beam.DoFn):
    """In a stream's unbounded graph: each window whose manifest is written (its layout) is
    committed as a run, on the worker, under the output's lease (taken for the commit only:
    the job has no launcher that lives as long as it), with its runs row (mode "stream"; its
    counts are what its files hold). A window committed before (its staging folder gone, its
    time noted) is not committed twice; an interrupted commit is finished by the next run's or
    stream's recovery, as a run's is."""

    def __init__(self, config: dict[str, Any], runner: str, lease: LeaseSettings) -> None:
        self.config = config
        self.runner = runner
        self.lease = LeaseSettings(wait_s=max(lease.wait_s, 300.0), expiry_s=lease.expiry_s)

    def process(self, layout: OutputLayout) -> Iterator[str]:
        started = time.monotonic()
        with Lease(layout.root, self.lease, "stream window"):
            if not FileSystems.exists(layout.manifest):  # committed already (a retry)
                return
            if FileSystems.exists(layout.marker(COMMITTING)):  # a retry of a commit begun
                committed = _finish_commit(layout)
            else:
                totals, staged_errors = written_counts(layout)
                row = runs_row(layout, self.config, self.runner, "stream", totals,
                               datetime.now(UTC), time.monotonic() - started, staged_errors, {})
                add_to_manifest(layout, [stage_runs_row(layout, row)])
                committed = commit_run(layout)
            finish_commit(layout, committed)
        yield layout.stamp
