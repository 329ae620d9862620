"""Memory on large WARC archives: the same 200 HTML pages (ECB+ documents as pages) in a
gzip WARC padded with image responses to about 100 MB and to about 1 GB, each read by
`newsbeam run --input X.warc.gz` into an empty output. An archive is read a record at a time,
so the peak memory should not grow with its size.

    make bench-warc      (or: python -m benchmarks.warc [--pages N] [--sizes-mb 100 1000])
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.dataset as ds
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from benchmarks.corpora import ecbplus_texts
from benchmarks.measure import seconds_and_peak_mb

IMAGE_MB = 4


def _response(writer: WARCWriter, url: str, body: bytes, content_type: str) -> None:
    headers = StatusAndHeaders("200 OK", [("Content-Type", content_type)], protocol="HTTP/1.1")
    writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                                  http_headers=headers))


def write_archive(path: Path, pages: list[tuple[str, str]], size_mb: int) -> int:
    """Writes the pages between image responses until the file holds about `size_mb` MB;
    returns the number of image records."""
    images = max(0, size_mb // IMAGE_MB)
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=True)
        image = 0
        for number, (doc_id, text) in enumerate(pages):
            title, _, body = text.partition("\n")
            html = (f"<html lang='en'><head><title>{title}</title></head><body><article>"
                    f"<h1>{title}</h1>" + "".join(f"<p>{line}</p>" for line in body.splitlines()
                                                  if line.strip()) + "</article></body></html>")
            _response(writer, f"https://news.example.org/{number}/{doc_id}", html.encode(),
                      "text/html; charset=utf-8")
            for _ in range(images * (number + 1) // len(pages) - image):  # spread evenly
                _response(writer, f"https://news.example.org/img/{image}.jpg",
                          os.urandom(IMAGE_MB << 20), "image/jpeg")
                image += 1
    return image


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--sizes-mb", type=int, nargs="+", default=[100, 1000])
    args = parser.parse_args(argv)
    pages = list(ecbplus_texts().items())[:args.pages]
    rows = []
    with tempfile.TemporaryDirectory(prefix="newsbeam-warc-") as temp:
        for size_mb in args.sizes_mb:
            archive, output = Path(temp) / f"news-{size_mb}.warc.gz", Path(temp) / f"out-{size_mb}"
            started = time.perf_counter()
            images = write_archive(archive, pages, size_mb)
            written_s = time.perf_counter() - started
            seconds, peak = seconds_and_peak_mb(
                [sys.executable, "-m", "pipeline", "run", "--input", str(archive),
                 "--output", str(output), "--quiet"])
            articles = ds.dataset(output / "articles", partitioning="hive").count_rows()
            rows.append((archive.stat().st_size / 2**20, len(pages), images, written_s, seconds,
                         peak, articles))
            archive.unlink()
    print(f"WARC archives, {time.strftime('%Y-%m-%d')}, {platform.node()}, "
          f"{os.cpu_count()} cores; newsbeam run --input X.warc.gz into an empty output")
    print(f"{'archive MB':>10} {'pages':>6} {'images':>7} {'write s':>8} {'run s':>7} "
          f"{'peak MB':>8} {'articles':>9}")
    for size, page_count, images, written_s, seconds, peak, articles in rows:
        print(f"{size:>10.0f} {page_count:>6} {images:>7} {written_s:>8.1f} {seconds:>7.1f} "
              f"{peak:>8.0f} {articles:>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
