"""WARC archives as input: each HTML response record is a page; other records are skipped and
counted; a damaged archive keeps the records before the damage and gives one errors row."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from conftest import SEEDS, read_dataset, run_cli
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from transforms.core.failures import BadInput
from transforms.core.records import RawDocument
from transforms.sources.decode import Gunzip
from transforms.sources.warc import DamagedArchive, warc_documents


def _seed_page(seed: Path) -> bytes:
    title, _, body = seed.read_text(encoding="utf-8").partition("\n")
    paragraphs = "".join(f"<p>{line}</p>" for line in body.splitlines() if line.strip())
    return (f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
            f"{paragraphs}</article></body></html>").encode()


def _record(writer: WARCWriter, url: str, kind: str, payload: bytes,
            content_type: str = "text/html; charset=utf-8", status: str = "200 OK") -> None:
    headers = (StatusAndHeaders(f"GET {url} HTTP/1.1", [], is_http_request=True)
               if kind == "request" else
               StatusAndHeaders(status, [("Content-Type", content_type)], protocol="HTTP/1.1"))
    writer.write_record(writer.create_warc_record(url, kind, payload=io.BytesIO(payload),
                                                  http_headers=headers))


def damaged_archive(gzipped: bool) -> bytes:
    """Three seed pages, a request, a PDF response, then a record cut off half-way."""
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=gzipped)
    for number, seed in enumerate(sorted(SEEDS.glob("*.txt"))[:3]):
        _record(writer, f"https://news.example.org/story/{number}", "response", _seed_page(seed))
    _record(writer, "https://news.example.org/story/0", "request", b"")
    _record(writer, "https://news.example.org/report.pdf", "response", b"%PDF-1.7 ...",
            content_type="application/pdf")
    last = buffer.tell()
    _record(writer, "https://news.example.org/story/cut", "response", b"<p>cut</p>" * 400)
    whole = buffer.getvalue()
    return whole[:last + (len(whole) - last) // 2]


@pytest.mark.parametrize("gzipped", [False, True])
def test_pages_before_the_damage_are_read_and_the_rest_skipped(gzipped: bool) -> None:
    data = damaged_archive(gzipped)
    stream = Gunzip(io.BytesIO(data)) if gzipped else io.BytesIO(data)
    pages, skipped = [], []
    with pytest.raises(DamagedArchive, match="damaged after|cut off"):
        for page in warc_documents("news.warc", stream, 1_000_000, skipped.append):
            pages.append(page)
    assert [p.url for p in pages] == [f"https://news.example.org/story/{n}" for n in range(3)]
    assert all(isinstance(p, RawDocument) and p.kind == "html" for p in pages)
    assert pages[0].fetched_at is not None and pages[0].fetched_at.tzinfo is not None
    assert skipped == ["request", "application/pdf"]


def test_the_http_headers_charset_is_honoured() -> None:
    text = "Новости: правительство объявило о новом бюджете"
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=False)
    _record(writer, "https://news.example.ru/1", "response",
            f"<html><body><p>{text}</p></body></html>".encode("cp1251"),
            content_type="text/html; charset=windows-1251")
    _record(writer, "https://news.example.ru/gone", "response", b"<html>moved</html>",
            status="301 Moved Permanently")
    skipped: list[str] = []
    [page] = warc_documents("ru.warc", io.BytesIO(buffer.getvalue()), 100_000, skipped.append)
    assert not isinstance(page, BadInput) and text in page.content
    assert skipped == ["status 301"]


def test_a_warc_input_gives_its_pages_counts_and_one_errors_row(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    archive = tmp_path / "in" / "CC-NEWS-20240503.warc.gz"
    archive.write_bytes(damaged_archive(gzipped=True))
    output = tmp_path / "out"
    result = run_cli("--input", str(archive), "--output", str(output))
    assert result.returncode == 0, result.stderr[-3000:]
    articles = read_dataset(output, "articles")
    assert sorted(a["url"] for a in articles) == [
        f"https://news.example.org/story/{n}" for n in range(3)]
    assert all(a["source"].endswith("CC-NEWS-20240503.warc.gz") for a in articles)
    [error] = read_dataset(output, "errors")
    assert error["stage"] == "sources" and "damaged after 5 records" in error["message"]
    [run] = read_dataset(output, "runs")
    counters = {c["name"]: c["value"] for c in run["counters"]}
    assert counters["sources.warc_records_skipped"] == 2
