"""`newsbeam compact OUTPUT`: merge the small files frequent runs leave into files of a target
size, partition by partition, so warehouse scans stay fast; and merge every index bucket into
one file.

Crash safety: merged files are written under OUTPUT/_staging/compact-<time>/ (readers skip it),
then a journal lists, for each merged file, where it goes and which files it replaces; only then
are merged files moved in and the replaced files deleted. Whatever moment a compaction stops
at, every row is still in the dataset; the next compaction (or a rerun) first completes a
journalled one, so a row is never left there twice, and drops a staging folder that never got
its journal. While one runs, a reader may briefly see a merged file beside the files it
replaces; runs and compactions must not run at the same time on one output."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from pipeline.build import INDEX_KINDS
from transforms.core.schemas import DATASETS
from transforms.storage.index import bucket_files_under, merge_bucket
from transforms.storage.layout import STAMP_FORMAT, OutputPaths
from transforms.storage.parquet_files import read_dataset_files, write_dataset_file

JOURNAL = "_journal.json"
DEFAULT_TARGET_MB = 128


@dataclass
class Compaction:
    """What a compaction did, for its summary line."""

    files_before: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    files_after: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    buckets_merged: int = 0
    # files rewritten alone to gain the columns their dataset has gained since
    files_upgraded: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def summary(self) -> str:
        merged = ", ".join(f"{name} {self.files_before[name]} -> {self.files_after[name]} files"
                           for name in sorted(self.files_before)) or "nothing to merge"
        upgraded = sum(self.files_upgraded.values())
        return (f"newsbeam compact: {merged}; index buckets merged {self.buckets_merged}"
                + (f"; {upgraded} files given the current columns" if upgraded else ""))


def _files_by_partition(output: OutputPaths, dataset: str) -> dict[str, list[Any]]:
    """Each partition folder of a dataset -> its files' metadata, in name order."""
    found = FileSystems.match([output.dataset_files(dataset)])[0].metadata_list
    partitions: dict[str, list[Any]] = defaultdict(list)
    for metadata in sorted(found, key=lambda m: m.path):
        partitions[metadata.path.rsplit("/", 1)[0]].append(metadata)
    return partitions


def _outdated(metadata: Any, dataset: str) -> bool:
    """Whether a file was written before some of the dataset's columns existed (a reader
    taking its schema from that file would not see them)."""
    with FileSystems.open(metadata.path) as handle:
        names = pq.ParquetFile(handle).schema_arrow.names
    return not set(DATASETS[dataset].names) <= set(names)


def _groups_to_merge(files: list[Any], target_bytes: int, dataset: str) -> list[list[Any]]:
    """The partition's small files packed into groups of at most target_bytes (in name order,
    so files of neighbouring runs go together); a group of one file is left alone, unless
    the file lacks columns the dataset has now: rewritten, it gets them (null, or empty
    lists), and every file of the dataset reads with one schema."""
    groups: list[list[Any]] = [[]]
    for metadata in files:
        if metadata.size_in_bytes >= target_bytes:
            continue
        if groups[-1] and sum(m.size_in_bytes for m in groups[-1]) + metadata.size_in_bytes > (
                target_bytes):
            groups.append([])
        groups[-1].append(metadata)
    return [group for group in groups if len(group) > 1 or (
        group and _outdated(group[0], dataset))] + [
        [metadata] for metadata in files
        if metadata.size_in_bytes >= target_bytes and _outdated(metadata, dataset)]


def _write_merged(paths: list[str], dataset: str, target: str) -> None:
    """The rows of `paths`, in order, as one file at `target` (row groups of about
    ROW_GROUP_BYTES)."""
    write_dataset_file(target, dataset, read_dataset_files(paths, dataset))


def _apply(journal_path: str) -> None:
    """Moves a journal's merged files in and deletes the files they replace; then the
    compaction's staging folder. Safe to repeat from any point."""
    with FileSystems.open(journal_path) as handle:
        entries = json.loads(handle.read())["merged"]
    for entry in entries:
        if FileSystems.exists(entry["staged"]):
            FileSystems.rename([entry["staged"]], [entry["target"]])
        replaced = [path for path in entry["replaces"] if FileSystems.exists(path)]
        if replaced:
            FileSystems.delete(replaced)
    FileSystems.delete([journal_path.rsplit("/", 1)[0]])


def recover(output: OutputPaths) -> int:
    """Completes journalled compactions an interruption left, and removes the staging folders
    of those stopped before their journal; returns how many were completed. The launcher
    calls it, under the lease, before a run or a compaction."""
    completed = 0
    for folder in output.staging_folders("compact"):
        journal = f"{folder}/{JOURNAL}"
        if FileSystems.exists(journal):
            _apply(journal)
            completed += 1
        else:
            FileSystems.delete([folder])
    return completed


def compact(output: str, datasets: list[str] | None = None,
            target_mb: int = DEFAULT_TARGET_MB) -> Compaction:
    """Merges the small files of `datasets` (all when None) and every index bucket; the
    launcher holds the lease and has recovered interrupted compactions."""
    paths = OutputPaths(output)
    stamp = datetime.now(UTC).strftime(STAMP_FORMAT)
    report = Compaction()
    staging = paths.staging("compact", stamp)
    entries = []
    for dataset in datasets or list(DATASETS):
        for folder, files in _files_by_partition(paths, dataset).items():
            report.files_before[dataset] += len(files)
            report.files_after[dataset] += len(files)
            for group in _groups_to_merge(files, target_mb * 1024 * 1024, dataset):
                name = f"part-compact-{stamp}-{uuid.uuid4().hex[:12]}.parquet"
                relative = f"{folder[len(paths.root) + 1:]}/{name}"
                group_paths = [m.path for m in group]
                _write_merged(group_paths, dataset, f"{staging}/{relative}")
                entries.append({"staged": f"{staging}/{relative}",
                                "target": paths.committed(relative), "replaces": group_paths})
                report.files_after[dataset] -= len(group) - 1
                report.files_upgraded[dataset] += len(group) == 1
    if entries:
        with FileSystems.create(f"{staging}/{JOURNAL}") as handle:
            handle.write(json.dumps({"merged": entries}, indent=1).encode())
        _apply(f"{staging}/{JOURNAL}")
    for kind in INDEX_KINDS.values():
        folders = {path.rsplit("/", 1)[0] for path in bucket_files_under(
            paths.index_root(kind.name))}
        report.buckets_merged += sum(merge_bucket(folder, kind, max_files=1)
                                     for folder in sorted(folders))
    return report
