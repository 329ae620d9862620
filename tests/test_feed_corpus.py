"""Every file of feedparser's own test corpus (2,107 ill-formed, oddly encoded and well-formed
feeds; 2,108 files with its LICENSE) goes through newsbeam's feed reading without a crash or
a hang, and ends as documents or
errors rows."""

from __future__ import annotations

import signal
from collections import Counter

import pytest
from apache_beam.io import fileio
from apache_beam.io.filesystems import FileSystems
from conftest import SHARED_BENCHMARKS, require_shared

from transforms.core.failures import ERRORS
from transforms.core.records import RawDocument
from transforms.sources.files import ReadInputFile

pytestmark = pytest.mark.slow
CORPUS = SHARED_BENCHMARKS / "feedparser"
SECONDS_PER_FILE = 10


def _too_slow(_signum: int, _frame: object) -> None:
    raise TimeoutError("feed reading hung")


def test_every_corpus_file_ends_as_documents_or_errors() -> None:
    require_shared(CORPUS)
    files = FileSystems.match([f"{CORPUS}/**"])[0].metadata_list
    files = [m for m in files if m.path.endswith((".xml", ".json"))]
    assert len(files) == 2107
    reader = ReadInputFile(max_bytes=5_000_000)
    outcomes: Counter[str] = Counter()
    previous = signal.signal(signal.SIGALRM, _too_slow)
    try:
        for metadata in files:
            signal.alarm(SECONDS_PER_FILE)
            outputs = list(reader.process(fileio.ReadableFile(metadata)))
            signal.alarm(0)
            assert outputs, metadata.path
            for output in outputs:
                if isinstance(output, RawDocument):
                    outcomes["documents"] += 1
                else:
                    assert output.tag == ERRORS, metadata.path
                    assert output.value.source == metadata.path
                    outcomes["errors"] += 1
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert outcomes["documents"] > 500 and outcomes["errors"] > 1000, outcomes
