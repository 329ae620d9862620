"""Nothing lost or doubled: runs and streams killed (SIGKILL) at moments spread over every
phase, each followed by a normal run or a restarted stream, leave every dataset as one clean
run does; two runs started at once on one output write each article once."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, SEEDS, read_dataset, rows, run_cli, seeds_in_three_runs

pytestmark = pytest.mark.slow
DATASETS = ("articles", "entities", "topics", "entity_aliases", "errors")
FS = "apache_beam.io.filesystems:FileSystems"
# (function whose Nth call kills the run, N): reading, parsing, cleaning, NER, topics, writing
# the datasets and the indexes, the manifest, the commit's first, middle and late file moves
# (datasets move before articles, the indexes last), and after the commit before the index
# buckets are merged.
KILL_MOMENTS = [
    ("transforms.sources:ReadInputFile.handle", 1),
    ("transforms.sources:ReadInputFile.handle", 4),
    ("transforms.parse:parse_text", 3),
    ("transforms.clean:clean_article", 5),
    ("transforms.entities:resolve_in_article", 2),
    ("transforms.topics:chosen_topics", 4),
    ("transforms.storage.parquet_files:ParquetFileWriter.finish_bundle", 1),
    ("transforms.storage.parquet_files:ParquetFileWriter.finish_bundle", 4),
    ("transforms.storage.index:write_index_file", 3),
    ("transforms.write:write_manifest", 1),
    (f"{FS}.rename", 1),
    (f"{FS}.rename", 4),
    (f"{FS}.rename", 30),
    ("transforms.storage.index:note_committed_run", 1),
]


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple]]:
    output = tmp_path_factory.mktemp("clean") / "out"
    assert run_cli("--output", str(output)).returncode == 0
    return {dataset: rows(output, dataset) for dataset in DATASETS}


@pytest.mark.parametrize(("target", "call"), KILL_MOMENTS,
                         ids=[f"{t.split(':')[1]}-{n}" for t, n in KILL_MOMENTS])
def test_a_killed_run_then_a_normal_one_equal_one_clean_run(
        target: str, call: int, clean_run: dict[str, list[tuple]], tmp_path: Path) -> None:
    output = tmp_path / "out"
    killed = subprocess.run([sys.executable, str(REPO / "tests" / "faults.py"), target,
                             str(call), "run", "--output", str(output)],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -9, killed.stderr[-2000:]  # the moment was reached
    after = run_cli("--output", str(output))
    assert after.returncode == 0, after.stderr[-3000:]
    if target.endswith(".rename"):  # killed inside the commit: the next run finished it
        assert "; recovered: 1 interrupted commit(s) finished" in after.stdout
        assert "nothing new (5 files unchanged), nothing committed" in after.stdout
    for dataset in DATASETS:
        assert rows(output, dataset) == clean_run[dataset], dataset
    assert not list((output / "_staging").iterdir())
    assert not list((output / "_lease").iterdir())


# A stream killed during its first batch's graph (reading, topics), during its commit, after
# its commit, and between batches (as the second begins).
# With each: whether the first batch's commit had begun (the restart then reads nothing).
STREAM_KILL_MOMENTS = [
    ("transforms.sources:ReadInputFile.handle", 2, False),
    ("transforms.topics:chosen_topics", 4, False),
    (f"{FS}.rename", 4, True),
    ("transforms.storage.index:note_committed_run", 1, True),
    ("pipeline.run:files_all_read", 2, True),
]


@pytest.mark.parametrize(("target", "call", "committing"), STREAM_KILL_MOMENTS,
                         ids=[f"{t.split(':')[1]}-{n}" for t, n, _ in STREAM_KILL_MOMENTS])
def test_a_killed_stream_then_a_restarted_one_equal_one_clean_run(
        target: str, call: int, committing: bool, clean_run: dict[str, list[tuple]],
        tmp_path: Path) -> None:
    output = tmp_path / "out"
    stream = ["--output", str(output), "--every", "1"]
    killed = subprocess.run([sys.executable, str(REPO / "tests" / "faults.py"), target,
                             str(call), "stream", *stream, "--for", "120"],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -9, killed.stderr[-2000:]  # the moment was reached
    restarted = subprocess.run([sys.executable, "-m", "pipeline", "stream", *stream,
                                "--for", "1"], cwd=REPO, capture_output=True, text=True,
                               timeout=300)
    assert restarted.returncode == 0, restarted.stderr[-3000:]
    if committing:  # the restart finishes the commit, if need be, and reads no file again
        assert "nothing new (5 files unchanged), nothing committed" in restarted.stdout
    for dataset in DATASETS:
        assert rows(output, dataset) == clean_run[dataset], dataset
    assert not list((output / "_staging").iterdir())
    assert not list((output / "_lease").iterdir())


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pipeline", "run", *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=300)
    return process.returncode, out, err


def test_two_runs_at_once_write_each_article_once(tmp_path: Path) -> None:
    first, second, third = seeds_in_three_runs(tmp_path)
    output = tmp_path / "out"
    waiting = tmp_path / "wait.yaml"
    waiting.write_text("lease: {wait_s: 300}\n", encoding="utf-8")
    holder = start("--input", f"{first}/*.txt", "--input", f"{second}/*.txt",
                   "--output", str(output))
    deadline = time.monotonic() + 60
    while not list((output / "_lease").glob("ticket-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    # the same and more inputs, at once: one gives up, one waits for the lease
    gives_up = start("--input", f"{second}/*.txt", "--input", f"{third}/*.txt",
                     "--output", str(output))
    waits = start("--config", str(waiting), "--input", f"{second}/*.txt",
                  "--input", f"{third}/*.txt", "--output", str(output))
    results: dict[str, Any] = {name: finish(process) for name, process in
                               (("holder", holder), ("gives_up", gives_up), ("waits", waits))}
    assert results["holder"][0] == 0, results["holder"][2][-3000:]
    assert "articles written 4" in results["holder"][1]
    code, _, err = results["gives_up"]
    assert code == 3
    assert err.strip().splitlines()[-1].startswith(
        "newsbeam: another run (host ")
    assert "holds the lease on this output (waited 0 s; set lease.wait_s to wait longer)" in err
    assert results["waits"][0] == 0, results["waits"][2][-3000:]
    # the second folder's files were read by the holder: only the third's is read
    assert ("(1 records, 2 files and 0 feeds unchanged), articles written 1, already in "
            "output 0") in results["waits"][1]
    articles = read_dataset(output, "articles")
    assert len(articles) == len({a["article_id"] for a in articles}) == len(list(
        SEEDS.glob("*.txt")))
