"""A run's manifest: the list of its finished files, relative to its staging folder. The write
stage writes it last; the launcher adds the files it writes after the pipeline and commits
what it lists (pipeline/commit.py)."""

from __future__ import annotations

import json

from apache_beam.io.filesystems import FileSystems

from transforms.core.schemas import DATASETS
from transforms.storage.layout import OutputLayout
from transforms.storage.parquet_files import write_dataset_file


def write_manifest(files: list[str], layout: OutputLayout, datasets: list[str]
                   ) -> OutputLayout:
    """Lists the run's finished files, relative to its staging folder, for the commit;
    a dataset that got no rows gets an empty file with its schema, so every dataset a run
    writes can be read. Returns the layout, for the commit."""
    files = list(files)
    for dataset in datasets:
        prefix = layout.staged_prefix(dataset)
        if not any(file.startswith(f"{prefix}-") for file in files):
            path = f"{prefix}-empty.parquet"
            write_dataset_file(path, dataset, DATASETS[dataset].empty_table())
            files.append(path)
    with FileSystems.create(layout.manifest) as handle:
        relative = sorted(layout.relative_to_staging(file) for file in files)
        handle.write(json.dumps({"files": relative}, indent=1).encode())
    return layout


def manifest_files(layout: OutputLayout) -> list[str]:
    """The run's finished files, relative to its staging folder."""
    with FileSystems.open(layout.manifest) as handle:
        return json.loads(handle.read())["files"]


def add_to_manifest(layout: OutputLayout, paths: list[str]) -> None:
    """Lists more staged files (written by the launcher after the pipeline) for the commit."""
    files = manifest_files(layout) + [layout.relative_to_staging(path) for path in paths]
    with FileSystems.create(layout.manifest) as handle:
        handle.write(json.dumps({"files": sorted(files)}, indent=1).encode())
