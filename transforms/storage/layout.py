"""Where a run's files go under OUTPUT: the datasets, the run's staging folder (readers skip
folders starting with "_"), its scratch files and its manifest. Every path is made here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from apache_beam.io.filesystems import FileSystems

MANIFEST = "_manifest.json"
COMMITTING = "_committing"  # in a staging folder: its commit has started (and must finish)
FAILED = "_failed"  # in a staging folder: the run failed; kept for inspection, never committed
STAMP_FORMAT = "%Y%m%dT%H%M%S%fZ"


@dataclass(frozen=True)
class OutputLayout:
    """The output of one run: `root` (config `output`), the run's start time and whether
    datasets are Hive-partitioned by ingest date (config `partition_by_date`)."""

    root: str
    run_time: datetime
    partition_by_date: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", self.root.rstrip("/") or "/")

    @property
    def stamp(self) -> str:
        return self.run_time.strftime(STAMP_FORMAT)

    @classmethod
    def of_staging(cls, staging: str) -> OutputLayout:
        """The layout of the run whose staging folder this is (OUTPUT/_staging/run-<time>)."""
        root, name = staging.rstrip("/").rsplit("/_staging/", 1)
        run_time = datetime.strptime(name.removeprefix("run-"), STAMP_FORMAT)
        return cls(root, run_time.replace(tzinfo=UTC))

    def staging_folders(self, kind: str) -> list[str]:
        """The staging folders of every run ("run") or compaction ("compact") left under
        OUTPUT/_staging/, found through their files (object stores have no folders)."""
        prefix = f"{self.root}/_staging/"
        files = FileSystems.match([f"{prefix}{kind}-*/**"])[0].metadata_list
        return sorted({m.path[:m.path.index("/", len(prefix))] for m in files})

    def dataset(self, name: str) -> str:
        return f"{self.root}/{name}"

    def dataset_files(self, name: str) -> str:
        """A glob of every Parquet file a dataset holds."""
        return f"{self.dataset(name)}/**.parquet"

    @property
    def staging(self) -> str:
        """Where the run writes before it commits."""
        return f"{self.root}/_staging/run-{self.stamp}"

    @property
    def manifest(self) -> str:
        return f"{self.staging}/{MANIFEST}"

    def marker(self, name: str) -> str:
        """A marker file in the run's staging folder (COMMITTING, FAILED)."""
        return f"{self.staging}/{name}"

    def staged_prefix(self, name: str) -> str:
        """Prefix of the run's files of a dataset, inside the staging folder."""
        folder = f"{self.staging}/{name}"
        if self.partition_by_date:
            folder += f"/ingest_date={self.run_time:%Y-%m-%d}"
        return f"{folder}/part-{self.stamp}"

    def scratch_prefix(self, name: str) -> str:
        """Files the run writes for itself to read back later (never committed, deleted with
        the staging folder)."""
        return f"{self.staging}/_scratch/{name}/part"

    def index_relative(self, name: str, bucket: str) -> str:
        """A bucket of an index, relative to the output (and to the staging folder)."""
        return f"_index/{name}/bucket={bucket}"

    def index_bucket(self, name: str, bucket: str) -> str:
        return self.committed(self.index_relative(name, bucket))

    def index_root(self, name: str) -> str:
        return f"{self.root}/_index/{name}"

    def relative_to_staging(self, path: str) -> str:
        return path[len(self.staging) + 1:]

    def staged(self, relative: str) -> str:
        return f"{self.staging}/{relative}"

    def committed(self, relative: str) -> str:
        return f"{self.root}/{relative}"
