"""Bugs are not bad input: expected rejections are errors rows and the run goes on; unexpected
exceptions are recorded too, and past their limit the run fails and commits nothing."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import SEEDS, read_dataset

import transforms.clean
import transforms.write
from pipeline import cli
from transforms.core import metrics
from transforms.core.failures import ERRORS, BadInput, FailureLimits, StageDoFn
from transforms.core.settings import ConfigError


class Picky(StageDoFn):
    stage = "picky"

    def handle(self, element: str) -> Any:
        if element == "bad":
            raise BadInput("bad input, as expected")
        if element == "bug":
            return {}["missing"]
        yield element.upper()


def test_expected_and_unexpected_failures_become_rows() -> None:
    dofn = Picky()
    assert list(dofn.process("ok")) == ["OK"]
    [bad] = list(dofn.process("bad"))
    assert (bad.tag, bad.value.error_type, bad.value.message) == (
        ERRORS, "BadInput", "bad input, as expected")
    [bug] = list(dofn.process("bug"))
    assert (bug.tag, bug.value.stage, bug.value.error_type) == (ERRORS, "picky", "KeyError")
    assert bug.value.message.startswith("'missing' (at test_failures.py:")


def unexpected(stage: str, failed: int, seen: int) -> Counter[str]:
    return Counter({metrics.seen_by(stage): seen,
                    metrics.unexpected_in(stage, "KeyError", "clean.py:10"): failed})


@pytest.mark.parametrize(("failed", "seen", "breached"), [
    (0, 100, False),
    (1, 100, False),  # 1% of 100 is the limit, not past it
    (2, 100, True),  # 2% of the records
    (10, 5000, False),
    (11, 5000, True),  # more than 10
    (1, 5, True),  # 20% of a small run
])
def test_limit_is_a_count_or_a_share(failed: int, seen: int, breached: bool) -> None:
    breach = FailureLimits(max_count=10, max_share=0.01).breach(unexpected("clean", failed, seen))
    assert (breach is not None) == breached
    if breached:
        assert breach.startswith(f"stage clean: {failed} of {seen} records failed with an "
                                 "unexpected exception")
        assert breach.endswith(f"most often KeyError at clean.py:10 ({failed}x)")


def test_limits_are_validated() -> None:
    with pytest.raises(ConfigError, match="limits.max_unexpected_failure_share' must be between"):
        FailureLimits(max_share=1.5)


def copy_seeds(folder: Path) -> Path:
    folder.mkdir()
    for seed in SEEDS.glob("*.txt"):
        shutil.copy(seed, folder / seed.name)
    return folder


@pytest.mark.slow
def test_a_stage_that_fails_on_every_record_fails_the_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    def broken_clean(article: Any, rules: Any) -> Any:
        return {}[article.article_id]  # a coding error: a KeyError on every record

    monkeypatch.setattr(transforms.clean, "clean_article", broken_clean)
    inputs, output = copy_seeds(tmp_path / "in"), tmp_path / "out"
    status = cli.main(["run", "--input", f"{inputs}/*.txt", "--output", str(output)])
    last_line = capsys.readouterr().err.strip().splitlines()[-1]
    assert status == cli.EXIT_RUN_FAILED == 1
    assert last_line.startswith(
        "newsbeam: the run failed, nothing committed: stage clean: 5 of 5 records failed with "
        "an unexpected exception (limit: more than 10, or more than 1%); most often KeyError "
        "at test_failures.py:")
    assert "(5x); its files and errors rows are left in" in last_line
    committed = [p.name for p in output.iterdir() if not p.name.startswith("_")]
    assert committed == []  # nothing committed: no dataset folder at all


@pytest.mark.slow
def test_one_bad_file_among_good_ones_still_finishes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inputs, output = copy_seeds(tmp_path / "in"), tmp_path / "out"
    (inputs / "broken.txt").write_bytes(b"")
    status = cli.main(["run", "--input", f"{inputs}/*.txt", "--output", str(output)])
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert status == cli.EXIT_OK == 0
    assert "articles written 5" in summary and "errors by stage: sources 1;" in summary
    [error] = read_dataset(output, "errors")
    assert (Path(error["source"]).name, error["stage"], error["error_type"]) == (
        "broken.txt", "sources", "BadInput")
    assert len(read_dataset(output, "articles")) == 5


@pytest.mark.slow
def test_a_failing_step_outside_the_stages_fails_the_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    def broken_row(*_args: Any) -> Any:
        raise RuntimeError("row builder broke")

    monkeypatch.setattr(transforms.write, "article_row", broken_row)
    inputs, output = copy_seeds(tmp_path / "in"), tmp_path / "out"
    status = cli.main(["run", "--input", f"{inputs}/*.txt", "--output", str(output)])
    last_line = capsys.readouterr().err.strip().splitlines()[-1]
    assert status == cli.EXIT_RUN_FAILED
    assert last_line.startswith("newsbeam: the run failed, nothing committed: RuntimeError")
    assert "row builder broke" in last_line
    assert [p.name for p in output.iterdir() if not p.name.startswith("_")] == []
