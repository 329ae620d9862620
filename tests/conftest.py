"""Shared fixtures: the repository's paths, the default config and compiled cleaning rules."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest

from pipeline.config import RunSettings, load_config, run_settings
from transforms.clean import BoilerplateRules
from transforms.sources.http import HttpSettings

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_BENCHMARKS = REPO.parent / "shared" / "benchmarks"


def require_shared(path: Path) -> Path:
    """A path under ../shared that a test reads: missing, the test fails and says where it
    looked (a skip would let the suite pass without it)."""
    if not path.exists():
        pytest.fail(f"test data not found at {path}: the shared benchmarks belong in "
                    f"../shared/benchmarks beside the repository", pytrace=False)
    return path


# HTTP against the tests' own servers on 127.0.0.1: quick timeouts, no waiting between pages.
LOCAL_HTTP = HttpSettings(connect_timeout_s=2.0, read_timeout_s=2.0, retries=0, backoff_s=0.01,
                          max_backoff_s=0.05, max_redirects=3, max_bytes=100_000,
                          user_agent="newsbeam-test", allow_private_hosts=True,
                          politeness_delay_s=0.0, per_host_concurrency=1)


@pytest.fixture(scope="session")
def config() -> dict[str, Any]:
    return load_config()


@pytest.fixture(scope="session")
def settings(config: dict[str, Any]) -> RunSettings:
    return run_settings(config)


@pytest.fixture(scope="session")
def rules(settings: RunSettings) -> BoilerplateRules:
    return settings.clean.boilerplate


def run_cli(*args: str, cwd: Path = REPO, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m pipeline run ARGS` as a user would run it."""
    return subprocess.run([sys.executable, "-m", "pipeline", "run", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def seeds_in_three_runs(folder: Path) -> list[Path]:
    """The seeds split over three input folders under `folder` (000-001, 002-003, 004); the
    last holds seed 004, whose "Assad" links to the full name only earlier runs saw."""
    folders = []
    for number, names in enumerate((["000", "001"], ["002", "003"], ["004"])):
        run_folder = folder / f"run{number}"
        run_folder.mkdir()
        for name in names:
            [seed] = SEEDS.glob(f"{name}_*.txt")
            shutil.copy(seed, run_folder / seed.name)
        folders.append(run_folder)
    return folders


def read_dataset(output: Path, name: str) -> list[dict[str, Any]]:
    return ds.dataset(output / name, partitioning="hive").to_table().to_pylist()


def rows(output: Path, dataset: str) -> list[tuple]:
    """A dataset's rows without the ingestion time, sorted, for comparing runs."""
    return sorted(tuple((k, repr(v)) for k, v in row.items()
                        if k not in ("ingested_at", "ingest_date"))
                  for row in read_dataset(output, dataset))


def seed_expectations() -> dict[str, Any]:
    import yaml

    return yaml.safe_load((FIXTURES / "seed_expectations.yaml").read_text(encoding="utf-8"))


def check_seed_cleaning(seed: str, title: str, text: str,
                        removed: list[tuple[str, str]]) -> None:
    """Every leftover line of the seed is gone with its reason; every other line is kept."""
    expected = seed_expectations()[seed]
    assert title == expected["title"]
    kept_text = " ".join(text.split())
    for raw_line in (SEEDS / seed).read_text(encoding="utf-8").splitlines():
        line = " ".join(raw_line.split())
        if not line or line == expected["title"]:
            continue
        drops = [s for s in expected["drop"] if line.startswith(s)]
        if drops:
            assert line not in kept_text, f"{seed}: leftover kept: {line!r}"
            reason = expected["drop"][drops[0]]
            assert any(line in r_text and r_reason == reason for r_text, r_reason in removed), (
                f"{seed}: {line!r} not recorded as removed for {reason}")
        else:
            assert line in kept_text, f"{seed}: article line lost: {line!r}"
