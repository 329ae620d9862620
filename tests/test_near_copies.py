"""Near copies: re-headlined and lightly edited copies point to the first copy, within a run
and across runs; different reports of one event do not."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURES, SEEDS, read_dataset

from pipeline import cli
from transforms.near_copies import NearCopySettings, signature, similarity

SETTINGS = NearCopySettings()


def seed(prefix: str) -> str:
    [path] = SEEDS.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


def republished(text: str, headline: str, extra: str = "") -> str:
    """The same body under another headline, one word changed, maybe a line added."""
    body = text.split("\n", 1)[1].replace("Hamas", "HAMAS", 1)
    return f"{headline}\n{body}\n{extra}"


def packed(text: str) -> bytes:
    return signature(text, SETTINGS).tobytes()


def test_signatures_tell_copies_from_reports_of_the_same_event() -> None:
    original = seed("001")
    assert similarity(packed(original), packed(original)) == 1.0
    copy = republished(original, "Another headline", "A line the republisher added.")
    assert similarity(packed(original), packed(copy)) >= SETTINGS.threshold
    for other in ("000", "002", "003", "004"):  # five outlets, one event: not copies
        assert similarity(packed(original), packed(seed(other))) < 0.2
    assert signature("too short", SETTINGS) is None


@pytest.mark.slow
def test_copies_point_to_the_first_copy_within_and_across_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "out"
    assert cli.main(["run", "--output", str(output)]) == 0
    ids = {Path(a["source"]).name[:3]: a["article_id"] for a in read_dataset(output, "articles")}
    assert all(a["duplicate_of"] is None for a in read_dataset(output, "articles"))
    later = tmp_path / "later"
    later.mkdir()
    (later / "a_copy.txt").write_text(republished(seed("001"), "Hamas chief on Syria"))
    (later / "b_copy.txt").write_text(republished(seed("001"), "Another headline",
                                                  "One more line."))
    (later / "c_original.txt").write_text(seed("003").replace("Hamas officials", "Officials", 1)
                                          .split("\n", 1)[1])  # a new article: its own body
    (later / "d_copy.txt").write_text(republished(seed("003"), "Copied in the same run"))
    news = (FIXTURES / "languages" / "en.txt").read_text(encoding="utf-8")
    (later / "e_first.txt").write_text(news)  # new in this run, and copied in this run
    (later / "f_copy.txt").write_text(republished(news, "Pension plan unveiled"))
    assert cli.main(["run", "--input", f"{later}/*.txt", "--output", str(output)]) == 0
    capsys.readouterr()
    rows = {Path(a["source"]).name: a for a in read_dataset(output, "articles")}
    # across runs: both copies of seed 001 name it, not each other
    assert rows["a_copy.txt"]["duplicate_of"] == ids["001"]
    assert rows["b_copy.txt"]["duplicate_of"] == ids["001"]
    # seed 003 of the first run is the first copy of both later versions of it
    assert rows["d_copy.txt"]["duplicate_of"] == ids["003"]
    assert rows["c_original.txt"]["duplicate_of"] == ids["003"]
    # within a run: the first copy (by source, no publication times here) is the original
    assert rows["e_first.txt"]["duplicate_of"] is None
    assert rows["f_copy.txt"]["duplicate_of"] == rows["e_first.txt"]["article_id"]
