"""A small HTTP server on 127.0.0.1 for tests: fixed or scripted answers by path, a count of
requests per path, and a clean stop."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# (status, headers, body); a route may also be a function of (request headers, hit number).
Answer = tuple[int, dict[str, str], bytes]
Route = tuple[int, str, bytes] | Callable[[dict[str, str], int], Answer]


@dataclass
class Server:
    base: str
    hits: Counter[str] = field(default_factory=Counter)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)


def page(body: bytes | str, content_type: str = "text/html; charset=utf-8",
         status: int = 200, **headers: str) -> Route:
    data = body.encode() if isinstance(body, str) else body
    return lambda _headers, _hit: (status, {"Content-Type": content_type, **headers}, data)


def page_of(seed: Path) -> str:
    """A text seed (title line, then paragraphs) as an article's HTML page."""
    title, _, body = seed.read_text(encoding="utf-8").partition("\n")
    paragraphs = "".join(f"<p>{p}</p>" for p in body.split("\n\n") if p.strip())
    return (f"<html lang='en'><head><title>{title}</title></head><body><article>"
            f"<h1>{title}</h1>{paragraphs}</article></body></html>")


@contextmanager
def serve(routes: dict[str, Route]) -> Iterator[Server]:
    """Serve `routes` until the block ends; unknown paths get 404."""
    server_state = Server(base="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            server_state.hits[self.path] += 1
            headers = {k.lower(): v for k, v in self.headers.items()}
            server_state.requests.append((self.path, headers))
            route = routes.get(self.path)
            if route is None:
                status, answer_headers, body = 404, {"Content-Type": "text/plain"}, b"missing"
            elif callable(route):
                status, answer_headers, body = route(headers, server_state.hits[self.path])
            else:
                status, content_type, body = route
                answer_headers = {"Content-Type": content_type}
            delay = float(answer_headers.pop("X-Test-Delay", 0))
            if delay:
                time.sleep(delay)
            self.send_response(status)
            for name, value in answer_headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server_state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
