"""HTTP against real servers on 127.0.0.1: retries, Retry-After, redirects, caps, conditional
GET, robots.txt, politeness grouping."""

from __future__ import annotations

import dataclasses
import gzip
import socket
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import FIXTURES, LOCAL_HTTP
from httpserver import page, serve

from transforms.core.failures import ERRORS
from transforms.core.records import RawDocument
from transforms.sources import http as fetch
from transforms.sources.fetching import FetchFeed, FetchPages, host_key
from transforms.sources.http import (
    FetchError,
    HttpClient,
    check_public_host,
    fetch_robots,
    retry_after_seconds,
)
from transforms.sources.settings import FeedSettings

SETTINGS = dataclasses.replace(LOCAL_HTTP, retries=2, backoff_s=0.25, max_backoff_s=10.0,
                               max_bytes=50_000, user_agent="newsbeam-test/1.0",
                               per_host_concurrency=2)
RSS = (FIXTURES / "feeds" / "world.rss").read_bytes()
NOW = datetime(2026, 1, 2, tzinfo=UTC)


def client(**changes: object) -> tuple[HttpClient, list[float]]:
    waits: list[float] = []
    return HttpClient(dataclasses.replace(SETTINGS, **changes), sleep=waits.append), waits


def test_plain_get_sends_the_user_agent() -> None:
    with serve({"/a": page("<p>hello</p>")}) as server:
        http, waits = client()
        response = http.get(f"{server.base}/a")
    assert (response.status, response.body) == (200, b"<p>hello</p>")
    assert server.requests[0][1]["user-agent"] == "newsbeam-test/1.0"
    assert waits == []


def test_server_errors_are_retried_with_exponential_backoff() -> None:
    def flaky(_headers: dict, hit: int) -> tuple:
        return (500, {}, b"oops") if hit < 3 else (200, {"Content-Type": "text/html"}, b"ok")

    with serve({"/flaky": flaky}) as server:
        http, waits = client()
        assert http.get(f"{server.base}/flaky").body == b"ok"
    assert server.hits["/flaky"] == 3
    assert waits == [0.25, 0.5]


def test_429_honours_retry_after() -> None:
    def busy(_headers: dict, hit: int) -> tuple:
        return (429, {"Retry-After": "7"}, b"") if hit == 1 else (200, {}, b"fine")

    with serve({"/busy": busy}) as server:
        http, waits = client()
        assert http.get(f"{server.base}/busy").body == b"fine"
    assert waits == [7.0]
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0


def test_other_4xx_is_not_retried() -> None:
    with serve({}) as server:
        http, waits = client()
        with pytest.raises(FetchError, match="HTTP 404"):
            http.get(f"{server.base}/missing")
    assert server.hits["/missing"] == 1 and waits == []


def test_retries_run_out_on_persistent_5xx() -> None:
    with serve({"/down": page("down", status=503)}) as server:
        http, waits = client()
        with pytest.raises(FetchError, match="HTTP 503"):
            http.get(f"{server.base}/down")
    assert server.hits["/down"] == 3 and waits == [0.25, 0.5]


def test_slow_server_times_out_after_retries() -> None:
    slow = page("late", **{"X-Test-Delay": "1.5"})
    with serve({"/slow": slow}) as server:
        http, waits = client(read_timeout_s=0.3, retries=1)
        with pytest.raises(FetchError, match="timed out after 2 attempts"):
            http.get(f"{server.base}/slow")
    assert server.hits["/slow"] == 2 and waits == [0.25]


def test_redirects_are_followed_up_to_the_limit() -> None:
    routes = {"/old": page("", status=301, Location="/older"),
              "/older": page("", status=302, Location="/new"),
              "/new": page("<p>here</p>"),
              "/loop": page("", status=302, Location="/loop")}
    with serve(routes) as server:
        http, _ = client()
        assert http.get(f"{server.base}/old").body == b"<p>here</p>"
        with pytest.raises(FetchError, match="more than 3 redirects"):
            http.get(f"{server.base}/loop")
    assert server.hits["/loop"] == 4


def test_redirect_to_a_private_address_is_refused() -> None:
    with serve({"/new": page("<p>inside</p>")}) as server:
        routes_target = f"{server.base}/new"
        with serve({"/go": page("", status=302, Location=routes_target)}) as outer:
            http, _ = client(allow_private_hosts=False)
            with pytest.raises(FetchError, match="--allow-private-hosts"):
                http.get(f"{outer.base}/go")
    assert server.hits["/new"] == 0


@pytest.mark.parametrize("route", [
    page(b"x" * 60_000),
    page(gzip.compress(b"\0" * 5_000_000), **{"Content-Encoding": "gzip"}),
], ids=["plain", "gzip-bomb"])
def test_body_over_the_cap_is_refused(route: object) -> None:
    with serve({"/big": route}) as server:
        http, _ = client()
        with pytest.raises(FetchError, match="larger than limits.max_input_bytes=50000"):
            http.get(f"{server.base}/big")


def test_body_the_server_encoded_wrongly_is_a_fetch_error() -> None:
    with serve({"/feed": page(b"not gzip at all", "application/rss+xml",
                              **{"Content-Encoding": "gzip"})}) as server:
        http, _ = client()
        with pytest.raises(FetchError, match="not decodable as its Content-Encoding 'gzip'"):
            http.get(f"{server.base}/feed")


def feed(url: str, **changes: object) -> FeedSettings:
    return FeedSettings(**{"url": url, "name": "test", "fetch_pages": False, "max_items": 0,
                           **changes})


def test_conditional_get_uses_last_validators() -> None:
    stamp = "Tue, 05 Mar 2024 10:15:00 GMT"

    def with_etag(headers: dict, _hit: int) -> tuple:
        if headers.get("if-none-match") == '"v1"' and headers.get("if-modified-since") == stamp:
            return 304, {"ETag": '"v1"'}, b""
        return 200, {"Content-Type": "application/rss+xml", "ETag": '"v1"',
                     "Last-Modified": stamp}, RSS

    with serve({"/feed.xml": with_etag}) as server:
        fetcher = FetchFeed(dataclasses.replace(SETTINGS, retries=0), NOW)
        url = f"{server.base}/feed.xml"
        first = list(fetcher.process(feed(url), {}))
        [state] = [o.value for o in first if getattr(o, "tag", None) == "feed_state"]
        assert (state["etag"], state["last_modified"]) == ('"v1"', stamp)
        second = list(fetcher.process(feed(url), {url: state}))
    assert len([o for o in first if isinstance(o, RawDocument)]) == 2
    assert second == []
    assert server.requests[1][1]["if-none-match"] == '"v1"'


def test_unchanged_body_is_not_read_again_even_with_wrong_validators() -> None:
    answer = page(RSS, "application/rss+xml", ETag='"changes-every-time"')
    with serve({"/feed.xml": answer}) as server:
        fetcher = FetchFeed(dataclasses.replace(SETTINGS, retries=0), NOW)
        url = f"{server.base}/feed.xml"
        first = list(fetcher.process(feed(url), {}))
        [state] = [o.value for o in first if getattr(o, "tag", None) == "feed_state"]
        second = list(fetcher.process(feed(url), {url: state}))
    assert [getattr(o, "tag", None) for o in second] == ["feed_state"]


def test_entries_that_want_pages_and_max_items() -> None:
    with serve({"/feed.xml": page(RSS, "application/rss+xml")}) as server:
        fetcher = FetchFeed(dataclasses.replace(SETTINGS, retries=0), NOW)
        outputs = list(fetcher.process(feed(f"{server.base}/feed.xml", fetch_pages=True,
                                            max_items=1), {}))
    assert [getattr(o, "tag", None) for o in outputs] == ["feed_state", "needs_page"]
    assert outputs[1].value.url == "https://news.example.org/world/storm-schools"


def test_malformed_feed_over_http_is_an_error_row() -> None:
    with serve({"/bad.xml": page("<html><body>no feed</body></html>")}) as server:
        fetcher = FetchFeed(dataclasses.replace(SETTINGS, retries=0), NOW)
        outputs = list(fetcher.process(feed(f"{server.base}/bad.xml"), {}))
    errors = [o.value for o in outputs if getattr(o, "tag", None) == ERRORS]
    assert len(errors) == 1 and errors[0].stage == "sources" and "feed" in errors[0].message


def test_pages_respect_robots_and_become_html_documents() -> None:
    article = (FIXTURES / "html" / "council.html").read_bytes()
    routes = {"/robots.txt": page("User-agent: *\nDisallow: /private/\n", "text/plain"),
              "/news/1": page(article), "/private/2": page(article),
              "/file.pdf": page(b"%PDF", "application/pdf")}
    with serve(routes) as server:
        entries = [RawDocument("feed", "html", "<p>summary</p>", url=f"{server.base}{path}",
                               title=f"entry {path}") for path in ("/news/1", "/private/2",
                                                                   "/file.pdf")]
        fetcher = FetchPages(SETTINGS)
        fetcher.setup()
        verdicts = {server.base: fetch_robots(fetcher.client, server.base)}
        outputs = list(fetcher.process((("host", 0), entries), verdicts))
    documents = [o for o in outputs if isinstance(o, RawDocument)]
    errors = {o.value.source: o.value.message for o in outputs if getattr(o, "tag", None)}
    assert [d.url for d in documents] == [f"{server.base}/news/1"]
    assert documents[0].kind == "html" and "Council approves" in documents[0].content
    assert documents[0].title == "entry /news/1"
    assert "robots.txt disallows" in errors[f"{server.base}/private/2"]
    assert "not an HTML page" in errors[f"{server.base}/file.pdf"]
    assert server.hits["/robots.txt"] == 1 and server.hits["/private/2"] == 0


def test_pages_are_grouped_by_host() -> None:
    first = RawDocument("f", "html", "", url="https://a.example/1")
    other_host = RawDocument("f", "html", "", url="https://b.example/1")
    assert host_key(first, 1) == ("a.example", 0)
    assert host_key(first, 1)[0] != host_key(other_host, 1)[0]
    assert {host_key(RawDocument("f", "html", "", url=f"https://a.example/{n}"), 2)[1]
            for n in range(10)} == {0, 1}


@pytest.mark.parametrize(("robots", "allowed", "reason"), [
    (page("down", status=503), False, "HTTP 503"),  # 5xx after the retries: site disallowed
    (page("slow", **{"X-Test-Delay": "1.5"}), False, "timed out"),  # no answer: disallowed
    (page("busy", status=429), False, "HTTP 429"),  # 429 after the retries: disallowed
    (page("no such file", status=404), True, ""),  # 4xx: no rules, everything allowed
    (page("members only", status=403), True, ""),
])
def test_robots_txt_as_rfc_9309_reads_it(robots: Any, allowed: bool, reason: str) -> None:
    article = (FIXTURES / "html" / "council.html").read_bytes()
    with serve({"/robots.txt": robots, "/news/1": page(article),
                "/news/2": page(article)}) as server:
        fetcher = FetchPages(dataclasses.replace(SETTINGS, read_timeout_s=0.3, retries=1,
                                                 backoff_s=0.01))
        fetcher.setup()
        verdicts = {server.base: fetch_robots(fetcher.client, server.base)}
        entries = [RawDocument("feed", "html", "", url=f"{server.base}/news/{n}")
                   for n in (1, 2)]
        outputs = list(fetcher.process((("host", 0), entries), verdicts))
        hits = dict(server.hits)
    errors = [o.value for o in outputs if getattr(o, "tag", None) == ERRORS]
    if allowed:
        assert [o.url for o in outputs if isinstance(o, RawDocument)] == [
            f"{server.base}/news/1", f"{server.base}/news/2"]
        assert errors == []
    else:  # every page an errors row naming the reason; no page requested
        assert [(e.source, e.stage) for e in errors] == [
            (f"{server.base}/news/{n}", "fetch") for n in (1, 2)]
        assert all(f"robots.txt of {server.base} is unreachable" in e.message
                   and reason in e.message and "disallowed for this run" in e.message
                   for e in errors)
        assert hits.get("/news/1", 0) == hits.get("/news/2", 0) == 0
    assert hits["/robots.txt"] == (1 if allowed else 2)  # once, plus one retry on failure


def test_the_connection_goes_to_the_address_that_was_checked(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: the name resolves to a public address for the check and to a private
    one after. The request goes to the checked address (here refused at connect, so nothing
    leaves this machine), never to the private one: the retry resolves anew, gets the
    private address and is refused before connecting."""
    real_getaddrinfo = socket.getaddrinfo
    answers = ["93.184.216.34", "127.0.0.1", "127.0.0.1", "127.0.0.1"]
    lookups, connects = [], []

    def rebinding_resolver(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "news.rebind.example":
            return real_getaddrinfo(host, port, *args, **kwargs)
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[len(lookups) - 1], port))]

    def refused(address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        connects.append(address)
        raise ConnectionRefusedError("refused in the test")

    monkeypatch.setattr(fetch.socket, "getaddrinfo", rebinding_resolver)
    monkeypatch.setattr("urllib3.util.connection.create_connection", refused)
    http, _ = client(allow_private_hosts=False, retries=1)
    with pytest.raises(FetchError, match="resolves to non-public address 127.0.0.1; pass "
                                         "--allow-private-hosts"):
        http.get("http://news.rebind.example:8080/story")
    assert connects == [("93.184.216.34", 8080)]  # one connection, to the checked address
    assert lookups == ["news.rebind.example"] * 2  # once per connection attempt
    assert check_public_host("http://93.184.216.34:8080/") == "93.184.216.34"
