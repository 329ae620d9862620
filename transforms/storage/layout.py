"""Every path under OUTPUT is made here, in two kinds: OutputPaths, where everything that
outlives a run lies (the datasets, the indexes, the lease, the reports, the staging folders of
every run and compaction), and OutputLayout, where one run writes (its staging folder, which
readers skip, its scratch files, its manifest and its markers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindows, IntervalWindow

MANIFEST = "_manifest.json"
COMMITTING = "_committing"  # in a staging folder: its commit has started (and must finish)
FAILED = "_failed"  # in a staging folder: the run failed; kept for inspection, never committed
STAMP_FORMAT = "%Y%m%dT%H%M%S%fZ"


@dataclass(frozen=True)
class OutputPaths:
    """The output's own paths (config `output`): what stages read of earlier runs, and what
    the launcher keeps beside the datasets."""

    root: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", self.root.rstrip("/") or "/")

    def dataset(self, name: str) -> str:
        return f"{self.root}/{name}"

    def dataset_files(self, name: str) -> str:
        """A glob of every Parquet file a dataset holds."""
        return f"{self.dataset(name)}/**.parquet"

    def committed(self, relative: str) -> str:
        return f"{self.root}/{relative}"

    def index_root(self, name: str) -> str:
        return f"{self.root}/_index/{name}"

    def index_bucket(self, name: str, bucket: str) -> str:
        return self.committed(index_relative(name, bucket))

    @property
    def last_run(self) -> str:
        """The time of the last committed run (see storage.index.next_run_time)."""
        return f"{self.root}/_index/_last_run"

    @property
    def lease(self) -> str:
        return f"{self.root}/_lease"

    @property
    def reports(self) -> str:
        return f"{self.root}/_reports"

    def write_check(self, token: str) -> str:
        """A file written and deleted before a run, to tell that OUTPUT can be written."""
        return f"{self.root}/.newsbeam-write-check-{token}"

    def staging(self, kind: str, stamp: str) -> str:
        """The staging folder of a run ("run") or a compaction ("compact") started at stamp."""
        return f"{self.root}/_staging/{kind}-{stamp}"

    def staging_folders(self, kind: str) -> list[str]:
        """The staging folders of every run ("run") or compaction ("compact") left under
        OUTPUT/_staging/, found through their files (object stores have no folders)."""
        prefix = f"{self.root}/_staging/"
        files = FileSystems.match([f"{prefix}{kind}-*/**"])[0].metadata_list
        return sorted({m.path[:m.path.index("/", len(prefix))] for m in files})


def run_time_in(window: object, run_time: datetime) -> datetime:
    """The time of the run an element belongs to: a batch run's own (`run_time`, its elements
    in the global window), or in the unbounded graph of a stream, its fixed window's start
    (each window is committed as a run of its own)."""
    if isinstance(window, IntervalWindow):
        return window.start.to_utc_datetime(has_tz=True)
    return run_time


class CombinePerRun(beam.PTransform):
    """A global combine, once per run: in a batch run's global window, as CombineGlobally
    (an empty run gives the combine's default); in the fixed windows of a stream's unbounded
    graph (each window a run of its own), once per window that has elements (an empty window
    gives nothing, where a default would need the window's end to be known)."""

    def __init__(self, combine_fn: beam.CombineFn) -> None:
        super().__init__()
        self.combine_fn = combine_fn

    def expand(self, pcoll: beam.PCollection) -> beam.PCollection:
        combine = beam.CombineGlobally(self.combine_fn)
        if not isinstance(pcoll.windowing.windowfn, GlobalWindows):
            combine = combine.without_defaults()
        return pcoll | "CombineGlobally" >> combine


def index_relative(name: str, bucket: str) -> str:
    """A bucket of an index, relative to the output (and to a run's staging folder)."""
    return f"_index/{name}/bucket={bucket}"


@dataclass(frozen=True)
class OutputLayout:
    """Where one run writes: under `root` (config `output`), named by the run's start time,
    its datasets Hive-partitioned by ingest date or not (config `partition_by_date`)."""

    root: str
    run_time: datetime
    partition_by_date: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", self.root.rstrip("/") or "/")

    @property
    def output(self) -> OutputPaths:
        return OutputPaths(self.root)

    @property
    def stamp(self) -> str:
        return self.run_time.strftime(STAMP_FORMAT)

    def in_window(self, window: object) -> OutputLayout:
        """This run's layout, or in the unbounded graph, that of the window's own run."""
        run_time = run_time_in(window, self.run_time)
        return self if run_time == self.run_time else OutputLayout(
            self.root, run_time, self.partition_by_date)

    @classmethod
    def of_staging(cls, staging: str) -> OutputLayout:
        """The layout of the run whose staging folder this is (OUTPUT/_staging/run-<time>)."""
        root, name = staging.rstrip("/").rsplit("/_staging/", 1)
        run_time = datetime.strptime(name.removeprefix("run-"), STAMP_FORMAT)
        return cls(root, run_time.replace(tzinfo=UTC))

    @property
    def staging(self) -> str:
        """Where the run writes before it commits."""
        return self.output.staging("run", self.stamp)

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

    def staged_index_bucket(self, name: str, bucket: str) -> str:
        return self.staged(index_relative(name, bucket))

    def relative_to_staging(self, path: str) -> str:
        return path[len(self.staging) + 1:]

    def staged(self, relative: str) -> str:
        return f"{self.staging}/{relative}"
