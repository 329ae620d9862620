"""HTTP for feeds and article pages: timeouts, retries with
exponential backoff (on timeouts, connection errors, 429 and 5xx, honouring Retry-After; never
on other 4xx), redirects followed by hand so every hop is checked against private addresses, a
cap on body size after decompression, a User-Agent naming newsbeam, and robots.txt."""

from __future__ import annotations

import ipaddress
import socket
import time
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from transforms.core.failures import BadInput
from transforms.core.settings import check_at_least, check_fields

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class FetchError(BadInput):
    """A URL that could not be fetched; the message says why (status, timeout, cap, ...).
    `status`: the HTTP status that ended it, None for timeouts, connection and DNS failures."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class HttpSettings:
    """Config `http.*`, with `limits.max_input_bytes` (max_bytes) and `allow_private_hosts`."""

    connect_timeout_s: float = 10.0
    read_timeout_s: float = 30.0
    retries: int = 3
    backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    max_redirects: int = 5
    max_bytes: int = 5_000_000
    user_agent: str = "newsbeam/0.1 (news ingestion; +https://pypi.org/project/newsbeam/)"
    allow_private_hosts: bool = False
    politeness_delay_s: float = 1.0
    per_host_concurrency: int = 2
    respect_robots: bool = True

    def __post_init__(self) -> None:
        check_fields(self, "http", above={"connect_timeout_s": 0, "read_timeout_s": 0},
                     at_least={"retries": 0, "backoff_s": 0, "max_backoff_s": 0,
                               "max_redirects": 0, "politeness_delay_s": 0,
                               "per_host_concurrency": 1})
        check_at_least("limits.max_input_bytes", self.max_bytes, 1)


@dataclass(frozen=True)
class Response:
    url: str  # after redirects
    status: int
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""


def check_public_host(url: str) -> str:
    """The address to connect to for `url`: its host resolved once, refused when any address
    it resolves to is loopback, private, link-local or multicast. The caller connects to this
    very address, so a DNS answer that changes after the check cannot redirect the request."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"not an http(s) URL: {url}")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(f"cannot resolve {parts.hostname}: {exc.strerror}") from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    for address in addresses:
        if not address.is_global or address.is_multicast:
            raise FetchError(f"{parts.hostname} resolves to non-public address {address}; pass "
                             "--allow-private-hosts to fetch from it")
    if not addresses:
        raise FetchError(f"cannot resolve {parts.hostname}: no address")
    return str(addresses[0])


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """Retry-After as seconds: either a number of seconds or an HTTP date."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None


class HttpClient:
    """One urllib3 pool per worker (made in a DoFn's setup, never pickled)."""

    def __init__(self, settings: HttpSettings, sleep: Callable[[float], None] = time.sleep):
        import urllib3  # only where HTTP is used

        self.settings = settings
        self.sleep = sleep
        self._urllib3 = urllib3
        self.pool = urllib3.PoolManager()

    def get(self, url: str, headers: dict[str, str] | None = None) -> Response:
        """GET with retries and checked redirects; 304 comes back as a Response too."""
        for _ in range(self.settings.max_redirects + 1):
            response = self._get_with_retries(url, headers or {})
            if response.status not in REDIRECT_STATUSES:
                if response.status >= 400:
                    raise FetchError(f"HTTP {response.status} from {url}", response.status)
                return response
            location = response.headers.get("location")
            if not location:
                raise FetchError(f"HTTP {response.status} without a Location from {url}")
            url = urljoin(url, location)
        raise FetchError(f"more than {self.settings.max_redirects} redirects")

    def _get_with_retries(self, url: str, headers: dict[str, str]) -> Response:
        settings = self.settings
        errors = self._urllib3.exceptions
        for attempt in range(settings.retries + 1):
            delay = min(settings.max_backoff_s, settings.backoff_s * 2 ** attempt)
            try:
                response = self._get_once(url, headers)
            except (errors.TimeoutError, errors.ProtocolError, errors.NewConnectionError,
                    errors.ConnectTimeoutError, errors.ReadTimeoutError) as exc:
                if attempt == settings.retries:
                    reason = "timed out" if "timed out" in str(exc).lower() else "failed"
                    raise FetchError(f"{reason} after {attempt + 1} attempts: "
                                     f"{type(exc).__name__}") from None
                self.sleep(delay)
                continue
            if response.status not in RETRY_STATUSES or attempt == settings.retries:
                return response
            wait = retry_after_seconds(response.headers.get("retry-after"), time.time())
            self.sleep(min(settings.max_backoff_s, wait if wait is not None else delay))
        raise AssertionError("unreachable")

    def _connection_pool(self, url: str) -> tuple[Any, str, str]:
        """(pool, path, Host header) for `url`. Unless private hosts are allowed, the pool
        connects to the address check_public_host approved (every attempt and every redirect
        hop is checked anew), with the Host header and the TLS server name of the URL's host."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(f"not an http(s) URL: {url}")
        host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
        address, pool_kwargs = host, {}
        if not self.settings.allow_private_hosts:
            address = check_public_host(url)
            if parts.scheme == "https":
                pool_kwargs = {"server_hostname": host, "assert_hostname": host}
        pool = self.pool.connection_from_host(address, port, parts.scheme,
                                              pool_kwargs=pool_kwargs)
        path = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        return pool, path, parts.netloc.rsplit("@", 1)[-1]

    def _get_once(self, url: str, headers: dict[str, str]) -> Response:
        timeout = self._urllib3.Timeout(connect=self.settings.connect_timeout_s,
                                        read=self.settings.read_timeout_s)
        pool, path, host_header = self._connection_pool(url)
        raw = pool.urlopen("GET", path, headers={"Host": host_header,
                                                 "User-Agent": self.settings.user_agent,
                                                 **headers},
                           redirect=False, retries=False, preload_content=False,
                           timeout=timeout, assert_same_host=False)
        complete = False
        try:
            body = bytearray()
            if raw.status == 200:
                try:
                    for chunk in raw.stream(64 * 1024, decode_content=True):
                        body += chunk
                        if len(body) > self.settings.max_bytes:
                            raise FetchError(f"body larger than limits.max_input_bytes="
                                             f"{self.settings.max_bytes} at {url}")
                except self._urllib3.exceptions.DecodeError:  # the server's fault, not ours
                    encoding = raw.headers.get("content-encoding", "")
                    raise FetchError(f"body not decodable as its Content-Encoding "
                                     f"{encoding!r} says at {url}") from None
                complete = True
            return Response(url, raw.status, {k.lower(): v for k, v in raw.headers.items()},
                            bytes(body))
        finally:
            if complete:
                raw.release_conn()
            else:  # an unread body must not reach the next request on this connection
                raw.close()


def is_url(location: str) -> bool:
    return urlsplit(location).scheme in ("http", "https")


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


# What a site's robots.txt says for this run: its text, or why the whole site is disallowed.
RobotsVerdict = tuple[str | None, str]


def fetch_robots(client: HttpClient, origin: str) -> RobotsVerdict:
    """A site's robots.txt as RFC 9309 (2.3.1) reads it: fetched (redirects followed), its
    rules; a 4xx other than 429, no rules (everything allowed); a 5xx or a 429 after the
    retries, a timeout or a connection failure, the site unreachable: all of it disallowed
    for this run."""
    try:
        return client.get(f"{origin}/robots.txt").body.decode("utf-8", "replace"), ""
    except FetchError as exc:
        if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
            return "", ""
        return None, f"robots.txt of {origin} is unreachable ({exc}), so the site is " \
                     "disallowed for this run"


class RobotsRules:
    """The robots.txt verdicts of a run's sites (fetched once per site per run), parsed once
    per worker."""

    def __init__(self, verdicts: dict[str, RobotsVerdict], user_agent: str) -> None:
        self.verdicts = verdicts
        self.user_agent = user_agent
        self.parsers: dict[str, urllib.robotparser.RobotFileParser] = {}

    def check(self, url: str) -> None:
        """Raises FetchError, saying why, unless `url` may be fetched."""
        origin = origin_of(url)
        text, unreachable = self.verdicts.get(
            origin, (None, f"robots.txt of {origin} could not be checked"))
        if text is None:
            raise FetchError(unreachable)
        if origin not in self.parsers:
            self.parsers[origin] = urllib.robotparser.RobotFileParser()
            self.parsers[origin].parse(text.splitlines())
        if not self.parsers[origin].can_fetch(self.user_agent, url):
            raise FetchError(f"robots.txt disallows {url} for {self.user_agent}")
