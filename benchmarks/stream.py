"""`newsbeam stream` under a steady arrival of news: a server on 127.0.0.1 publishes feed
entries (each with its page) and a writer drops .txt and .html files into a watched folder,
in turn, at a set rate; `newsbeam stream --every 15` runs for the whole time.

Printed per rate: the latency from an item's publication to its batch's commit (the
finished_at of the batch's runs row; the files move within milliseconds after), items lost
(published before the last batch began and in neither articles/ nor errors/) and doubled,
the stream's resident memory at batch 10 and at its last batch, its open file descriptors and
child processes at both, and the backlog when it stops (items published and not committed).
The texts are the ECB+ documents (`../shared/benchmarks/ecbplus`), each item one with a line
of its own on top, so every item is a distinct article.

    make bench-stream    (or: python -m benchmarks.stream [--minutes 10] [--rates 60 600])
"""

from __future__ import annotations

import argparse
import html
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds

from benchmarks.corpora import ecbplus_texts
from benchmarks.measure import ROOT

EVERY_S = 15
FEED_ENTRIES = 300  # the feed lists the newest this many entries, as real feeds list a window
KINDS = ("feed", "txt", "html")


def page_html(title: str, text: str) -> str:
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n") if p.strip())
    return (f"<html lang='en'><head><title>{html.escape(title)}</title></head><body><article>"
            f"<h1>{html.escape(title)}</h1>{paragraphs}</article></body></html>")


class Publisher(threading.Thread):
    """Publishes item n at start + n / rate: a feed entry with its page, a .txt file or an
    .html file, in turn; records when each became visible."""

    def __init__(self, rate_per_min: int, seconds: float, inbox: Path, texts: list[str]
                 ) -> None:
        super().__init__(daemon=True)
        self.interval = 60.0 / rate_per_min
        self.seconds = seconds
        self.inbox = inbox
        self.texts = texts
        self.published: dict[str, float] = {}  # item key (url or path) -> epoch seconds
        self.entries: list[tuple[int, float]] = []  # feed entries: (n, published)
        self.pages: dict[str, bytes] = {}
        self.base = ""
        self.lock = threading.Lock()

    def item(self, n: int) -> tuple[str, str]:
        text = self.texts[n % len(self.texts)]
        return f"Item {n}: {text.split(chr(10), 1)[0][:80]}", f"Item {n} of the stream.\n{text}"

    def run(self) -> None:
        started = time.time()
        n = 0
        while (due := started + n * self.interval) < started + self.seconds:
            time.sleep(max(0.0, due - time.time()))
            title, text = self.item(n)
            kind = KINDS[n % len(KINDS)]
            if kind == "feed":
                with self.lock:
                    self.pages[f"/news/{n}"] = page_html(title, text).encode()
                    self.entries.append((n, time.time()))
                    self.published[f"{self.base}/news/{n}"] = time.time()
            else:
                path = self.inbox / f"item-{n}.{kind}"
                temporary = self.inbox / f".item-{n}.part"  # written, then renamed in
                temporary.write_text(text if kind == "txt" else page_html(title, text),
                                     encoding="utf-8")
                os.replace(temporary, path)
                self.published[str(path)] = time.time()
            n += 1

    def feed(self) -> tuple[bytes, str]:
        with self.lock:
            newest = self.entries[-FEED_ENTRIES:]
        items = "".join(
            f"<item><title>Item {n}</title><link>{self.base}/news/{n}</link>"
            f"<guid>{self.base}/news/{n}</guid><pubDate>"
            f"{format_datetime(datetime.fromtimestamp(at, UTC))}</pubDate></item>"
            for n, at in reversed(newest))
        body = (f"<?xml version='1.0'?><rss version='2.0'><channel><title>Bench</title>"
                f"<link>{self.base}/</link><description>d</description>{items}</channel></rss>")
        return body.encode(), f'"{len(self.entries)}"'


def serve(publisher: Publisher) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            status, content_type, body, headers = 404, "text/plain", b"missing", {}
            if self.path == "/feed.xml":
                body, etag = publisher.feed()
                if self.headers.get("If-None-Match") == etag:
                    status, body = 304, b""
                else:
                    status, content_type = 200, "application/rss+xml"
                headers = {"ETag": etag}
            elif self.path in publisher.pages:
                status, content_type, body = 200, "text/html; charset=utf-8", \
                    publisher.pages[self.path]
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a client that closed its keep-alive connection: nothing to report

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def process_state(pid: int) -> dict[str, float]:
    """Resident MB, open file descriptors and child processes (all descendants) of `pid`."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kb = int(next(line.split()[1] for line in status.splitlines()
                      if line.startswith("VmRSS:")))
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1]
                                               .split()[1])
            except (OSError, IndexError, ValueError):
                continue
    family, grew = {pid}, True
    while grew:
        found = {child for child, parent in parents.items() if parent in family}
        grew = not found <= family
        family |= found
    return {"rss_mb": rss_kb / 1024, "fds": len(os.listdir(f"/proc/{pid}/fd")),
            "children": len(family) - 1}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def measure(rate: int, seconds: float, texts: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="newsbeam-stream-") as temp:
        inbox, output = Path(temp) / "inbox", Path(temp) / "out"
        inbox.mkdir()
        config = Path(temp) / "bench.yaml"
        config.write_text("http: {politeness_delay_s: 0.0, per_host_concurrency: 4}\n"
                          "progress_s: 0\nstream: {compact_every_s: 180}\n")
        publisher = Publisher(rate, seconds, inbox, texts)
        server = serve(publisher)
        publisher.base = f"http://127.0.0.1:{server.server_address[1]}"
        command = [sys.executable, "-m", "pipeline", "stream", "--config", str(config),
                   "--feed", f"{publisher.base}/feed.xml", "--input", f"{inbox}/*.txt",
                   "--input", f"{inbox}/*.html", "--output", str(output), "--every",
                   str(EVERY_S), "--for", str(seconds), "--allow-private-hosts"]
        stream = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True)
        publisher.start()
        batches: list[tuple[float, dict[str, float]]] = []
        for line in stream.stdout:
            if line.startswith("newsbeam stream: batch "):
                batches.append((time.time(), process_state(stream.pid)))
        stream.wait()
        server.shutdown()
        publisher.join(timeout=5)
        return tally(rate, publisher, output, batches, stream.returncode)


def tally(rate: int, publisher: Publisher, output: Path,
          batches: list[tuple[float, dict[str, float]]], status: int) -> dict[str, Any]:
    runs = {row["started_at"]: row["finished_at"].timestamp() for row in ds.dataset(
        output / "runs", partitioning="hive").to_table(
            columns=["started_at", "finished_at"]).to_pylist()}
    articles = ds.dataset(output / "articles", partitioning="hive").to_table(
        columns=["source", "url", "ingested_at"]).to_pylist()
    errors = ds.dataset(output / "errors", partitioning="hive").to_table(
        columns=["source"]).column("source").to_pylist() if (output / "errors").exists() else []
    committed: dict[str, list[float]] = {}
    for row in articles:
        key = row["url"] if row["url"] in publisher.published else row["source"]
        committed.setdefault(key, []).append(runs[row["ingested_at"]])
    last_batch_began = max(runs).timestamp() if runs else 0.0
    latency_at = sorted((publisher.published[key], min(times) - publisher.published[key])
                        for key, times in committed.items() if key in publisher.published)
    latencies = [latency for _, latency in latency_at]
    half = len(latencies) // 2
    missing = [key for key in publisher.published if key not in committed]
    lost = [key for key in missing if publisher.published[key] < last_batch_began
            and key not in errors]
    at_10 = batches[min(9, len(batches) - 1)][1] if batches else {}
    at_end = batches[-1][1] if batches else {}
    return {"rate": rate, "status": status, "published": len(publisher.published),
            "committed": len(committed), "batches": len(batches),
            "p50": percentile(latencies, 0.5), "p95": percentile(latencies, 0.95),
            "p95_first": percentile(latencies[:half], 0.95),
            "p95_second": percentile(latencies[half:], 0.95),
            "max": max(latencies, default=float("nan")), "lost": len(lost),
            "doubled": sum(len(times) - 1 for times in committed.values()),
            "errors": len(errors), "backlog": len(missing), "at_10": at_10, "at_end": at_end}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench-stream")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rates", type=int, nargs="+", default=[60, 600])
    args = parser.parse_args(argv)
    texts = list(ecbplus_texts().values())
    results = [measure(rate, args.minutes * 60, texts) for rate in args.rates]
    print(f"newsbeam stream --every {EVERY_S} for {args.minutes:g} min per rate; items in turn "
          f"a feed entry with its page, a .txt file, an .html file; "
          f"{platform.python_version()}, {os.cpu_count()} cores")
    print(f"{'items/min':>9} {'published':>9} {'committed':>9} {'batches':>7} {'p50 s':>6} "
          f"{'p95 s':>6} {'p95 1st/2nd half':>16} {'max s':>6} {'lost':>4} {'doubled':>7} "
          f"{'errors':>6} "
          f"{'RSS@10 MB':>9} {'RSS end':>7} {'fds@10/end':>10} {'children@10/end':>15} "
          f"{'backlog':>7} {'exit':>4}")
    for r in results:
        ten, end = r["at_10"], r["at_end"]
        print(f"{r['rate']:>9} {r['published']:>9} {r['committed']:>9} {r['batches']:>7} "
              f"{r['p50']:>6.1f} {r['p95']:>6.1f} "
              f"{r['p95_first']:>7.1f}/{r['p95_second']:<8.1f} {r['max']:>6.1f} {r['lost']:>4} "
              f"{r['doubled']:>7} {r['errors']:>6} {ten.get('rss_mb', 0):>9.0f} "
              f"{end.get('rss_mb', 0):>7.0f} "
              f"{ten.get('fds', 0):>5}/{end.get('fds', 0):<4} "
              f"{ten.get('children', 0):>7}/{end.get('children', 0):<7} "
              f"{r['backlog']:>7} {r['status']:>4}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
