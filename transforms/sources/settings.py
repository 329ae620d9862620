"""The sources stage's settings: the inputs to match and the feeds to read."""

from __future__ import annotations

from dataclasses import dataclass

from transforms.core.settings import ConfigError
from transforms.sources.http import HttpSettings, is_url

FEED, SITEMAP = "feed", "sitemap"


@dataclass(frozen=True)
class FeedSettings:
    """One `feeds` or `sitemaps` entry: where, a name for it, whether each new entry's page
    is fetched (a sitemap's always are), and how many entries a run takes (0: all)."""

    url: str
    name: str = ""
    fetch_pages: bool = True
    max_items: int = 0
    kind: str = FEED  # or SITEMAP: set by the config section the entry is in

    def __post_init__(self) -> None:
        if self.kind not in (FEED, SITEMAP):
            raise ConfigError(f"entry {self.url!r}: kind must be {FEED!r} or {SITEMAP!r}")
        if self.kind == SITEMAP:
            object.__setattr__(self, "fetch_pages", True)
        if self.max_items < 0:
            raise ConfigError(f"feeds entry {self.url!r}: 'max_items' must be >= 0, "
                              f"got {self.max_items}")
        if not self.name:
            object.__setattr__(self, "name", self.url)


@dataclass(frozen=True)
class SourceSettings:
    """Config `inputs`, `feeds` and, through `http`, `http.*`, `limits.max_input_bytes` and
    `allow_private_hosts`. Feed files are read like inputs; only feed URLs are fetched."""

    inputs: tuple[str, ...]
    feeds: tuple[FeedSettings, ...]
    http: HttpSettings

    @property
    def patterns(self) -> list[str]:
        """Globs to read: the inputs, and the feeds that are files."""
        return list(self.inputs) + [f.url for f in self.feeds
                                    if f.kind == FEED and not is_url(f.url)]

    @property
    def feed_urls(self) -> list[FeedSettings]:
        """What the fetching steps read: feeds by URL, and sitemaps (by URL or path: a
        sitemap's pages are always fetched)."""
        return [f for f in self.feeds if is_url(f.url) or f.kind == SITEMAP]
