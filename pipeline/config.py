"""Config: configs/default.yaml, overridden key by key by a user file, checked for unknown keys
and types on load; then one frozen settings object per stage, each validating its values."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import yaml

from pipeline.lease import LeaseSettings
from transforms.clean import BoilerplateRules, CleanSettings
from transforms.core.failures import FailureLimits
from transforms.core.settings import ConfigError, check_above, check_at_least
from transforms.entities import EntitySettings
from transforms.keyphrases import KeyphraseSettings
from transforms.near_copies import NearCopySettings
from transforms.parse import ParseSettings
from transforms.resources.topic_model import TopicHead, load_topic_head
from transforms.sources.http import HttpSettings
from transforms.sources.settings import SITEMAP, FeedSettings, SourceSettings
from transforms.storage.layout import OutputLayout
from transforms.stories.settings import StorySettings
from transforms.topics import (
    EncoderSettings,
    ModelSettings,
    ScoringSettings,
    TopicSettings,
    VectorSettings,
)

__all__ = ["ConfigError", "RunSettings", "StreamSettings", "feed_entry", "load_config",
           "run_settings"]
T = TypeVar("T")
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "configs" / "default.yaml"
DATA_FILE_KEYS = (("clean", "boilerplate"), ("topics", "lexicon"), ("entities", "aliases"))


# libyaml's safe loader where PyYAML was built with it: the lexicon and boilerplate files
# take about 0.25 s a run to read in pure Python, a tenth of that with it.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)  # noqa: S506
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config {path} must be a mapping of keys to values")
    return data


# Mappings whose keys are the user's to choose (a language, a label), not config keys.
OPEN_MAPPINGS = frozenset({"entities.models", "entities.label_aliases"})
# Keys that may be set to null (their comment in default.yaml says what null means).
NULLABLE = frozenset({"topics.vectors.package", "topics.encoder.package"})
# Keys that were renamed: the old name -> what to write instead.
RENAMED = {"entities.model": "entities.models (a model per language, e.g. "
                             "entities: {models: {en: en_core_web_sm}})",
           "extraction": "parse (the parse stage's section: trafilatura's options, timeout_s, "
                         "pages_ahead)",
           "limits.extraction_timeout_s": "parse.timeout_s",
           "limits.extraction_pages_ahead": "parse.pages_ahead",
           "min_words": "clean.min_words",
           "boilerplate": "clean.boilerplate",
           "topics.keyphrases": "keyphrases.limit (and keyphrases.languages)",
           "topics.min_score": "topics.scoring.min_score",
           "topics.max_topics": "topics.scoring.max_topics"}


def _merge(defaults: dict[str, Any], overrides: dict[str, Any], where: str = "") -> dict[str, Any]:
    """Defaults with overrides applied; unknown keys and wrong types are errors."""
    merged = dict(defaults)
    for key, value in overrides.items():
        name = f"{where}{key}"
        if name in RENAMED:
            raise ConfigError(f"config key {name!r} was renamed: use {RENAMED[name]}")
        if key not in defaults:
            raise ConfigError(f"unknown config key {name!r}; valid keys here: "
                              f"{', '.join(sorted(defaults))}")
        default = defaults[key]
        if value is None and name in NULLABLE:
            merged[key] = None
            continue
        if isinstance(default, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"config key {name!r} must be a mapping")
            if name in OPEN_MAPPINGS:
                if not all(isinstance(k, str) and isinstance(v, str | None)
                           for k, v in value.items()):
                    raise ConfigError(f"config key {name!r} must map names to names (null "
                                      "removes a default entry)")
                merged[key] = {k: v for k, v in {**default, **value}.items() if v is not None}
                continue
            merged[key] = _merge(default, value, f"{name}.")
            continue
        expected = (int, float) if isinstance(default, float) else type(default)
        if isinstance(value, bool) and not isinstance(default, bool) or not isinstance(
                value, expected):
            raise ConfigError(f"config key {name!r} must be {type(default).__name__}, "
                              f"got {type(value).__name__} {value!r}")
        merged[key] = value
    return merged


def _resolve_data_files(config: dict[str, Any], base: Path, overrides: dict[str, Any]) -> None:
    """Load the data files a config names; paths are relative to the file that set them."""
    for keys in DATA_FILE_KEYS:
        parent, source = config, overrides
        for key in keys[:-1]:
            parent, source = parent[key], source.get(key, {})
        leaf = keys[-1]
        if isinstance(parent[leaf], str):
            folder = base if leaf in source else DEFAULT_CONFIG.parent
            parent[leaf] = _read_yaml(folder / parent[leaf])


# A feeds entry's keys and their types, as FeedSettings has them (its defaults fill the rest;
# only `url` has none, and is a string).
FEED_KEYS = {field.name: str if field.default is dataclasses.MISSING else type(field.default)
             for field in dataclasses.fields(FeedSettings) if field.name != "kind"}


def feed_entry(value: Any) -> dict[str, Any]:
    """A `feeds` or `sitemaps` entry as a mapping: a bare string is a URL or a path."""
    entry = {"url": value} if isinstance(value, str) else value
    if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
        raise ConfigError(f"each feeds entry must be a URL, a path or a mapping with 'url'; "
                          f"got {value!r}")
    for key, kind in FEED_KEYS.items():
        if key in entry and not isinstance(entry[key], kind):
            raise ConfigError(f"feeds entry {entry['url']!r}: {key!r} must be {kind.__name__}")
    unknown = set(entry) - set(FEED_KEYS)
    if unknown:
        raise ConfigError(f"feeds entry {entry['url']!r}: unknown key(s) {sorted(unknown)}; "
                          f"valid keys: {', '.join(FEED_KEYS)}")
    return dict(entry)


def load_config(path: str | None = None) -> dict[str, Any]:
    """The effective config: defaults, then the user's file; data files loaded in place."""
    defaults = _read_yaml(DEFAULT_CONFIG)
    overrides = _read_yaml(Path(path)) if path else {}
    config = _merge(defaults, overrides)
    _resolve_data_files(config, Path(path).resolve().parent if path else DEFAULT_CONFIG.parent,
                        overrides)
    config["feeds"] = [feed_entry(f) for f in config["feeds"]]
    config["sitemaps"] = [feed_entry(f) for f in config["sitemaps"]]
    run_settings(config)  # every value checked now, before anything runs
    return config


@dataclass(frozen=True)
class StreamSettings:
    """Config `stream.*`: how `newsbeam stream` paces its batches and keeps its output."""

    every_s: float = 60.0  # a batch starts this long after the one before started
    compact_every_s: float = 21600.0  # compaction between batches this often; 0: never
    compact_target_mb: int = 128  # the file size compaction aims for
    max_failed_batches: int = 3  # this many failed batches in a row stop the stream
    remember_ids_s: float = 3600.0  # unbounded graph: how long an id's first sight is kept

    def __post_init__(self) -> None:
        check_above("stream.every_s", self.every_s, 0)
        check_at_least("stream.compact_every_s", self.compact_every_s, 0)
        check_at_least("stream.compact_target_mb", self.compact_target_mb, 1)
        check_at_least("stream.max_failed_batches", self.max_failed_batches, 1)
        check_above("stream.remember_ids_s", self.remember_ids_s, 0)


@dataclass(frozen=True)
class RunSettings:
    """Every stage's settings, built once from the effective config."""

    output: str
    partition_by_date: bool
    progress_s: float  # 0: no progress lines
    keep_run_reports: int  # 0: all
    worker_start_s: float  # the wait for an external pool's first worker
    sources: SourceSettings
    parse: ParseSettings
    clean: CleanSettings
    keyphrases: KeyphraseSettings
    entities: EntitySettings
    topics: TopicSettings
    failures: FailureLimits
    lease: LeaseSettings
    near_copies: NearCopySettings
    stories: StorySettings
    stream: StreamSettings

    def layout(self, run_time: datetime) -> OutputLayout:
        """Where a run started at `run_time` writes."""
        return OutputLayout(self.output, run_time, self.partition_by_date)


def _at_least_zero(key: str, value: float) -> float:
    check_at_least(key, value, 0)
    return value


def section_settings(cls: type[T], section: dict[str, Any], **given: Any) -> T:
    """A stage's settings object from its config section, key by key (the section mirrors the
    class: a nested mapping makes a nested settings object, a list a tuple); `given`: fields
    that do not come from the section as it is (a loaded data file, a value from elsewhere)."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for key, value in section.items():
        if key in given:
            continue
        kind = fields[key].type
        nested = _SETTINGS_CLASSES.get(kind) if isinstance(kind, str) else None
        if nested is not None and isinstance(value, dict):
            value = section_settings(nested, value)
        elif isinstance(value, list):
            value = tuple(value)
        values[key] = value
    return cls(**values, **given)


def topic_head(section: dict[str, Any]) -> TopicHead | None:
    """The trained topic head the config names, read here on the launcher: it travels to the
    workers with the settings (about 30 KB), which need no configs/ folder."""
    model = section_settings(ModelSettings, section)
    return load_topic_head(model.file) if model.enabled else None


def run_settings(config: dict[str, Any]) -> RunSettings:
    """The stages' settings from a loaded config; a value out of range raises ConfigError
    naming its key."""
    limits, clean, entities = config["limits"], config["clean"], config["entities"]
    http = section_settings(HttpSettings, config["http"], max_bytes=limits["max_input_bytes"],
                            allow_private_hosts=config["allow_private_hosts"])
    return RunSettings(
        output=config["output"],
        partition_by_date=config["partition_by_date"],
        progress_s=_at_least_zero("progress_s", config["progress_s"]),
        keep_run_reports=_at_least_zero("keep_run_reports", config["keep_run_reports"]),
        worker_start_s=_at_least_zero("worker_start_s", config["worker_start_s"]),
        sources=SourceSettings(inputs=tuple(config["inputs"]),
                               feeds=tuple(FeedSettings(**f) for f in config["feeds"])
                               + tuple(FeedSettings(**{**f, "kind": SITEMAP})
                                       for f in config["sitemaps"]),
                               http=http),
        parse=section_settings(ParseSettings, config["parse"]),
        clean=section_settings(CleanSettings, clean,
                               boilerplate=BoilerplateRules.from_config(
                                   clean["boilerplate"])),
        keyphrases=section_settings(KeyphraseSettings, config["keyphrases"]),
        entities=section_settings(EntitySettings, entities, aliases=tuple(
            entities["aliases"].get("same_entity") or ())),
        topics=section_settings(TopicSettings, config["topics"],
                                head=topic_head(config["topics"].get("model") or {})),
        failures=FailureLimits(max_count=limits["max_unexpected_failures"],
                               max_share=limits["max_unexpected_failure_share"]),
        lease=section_settings(LeaseSettings, config["lease"]),
        near_copies=section_settings(NearCopySettings, config["near_copies"]),
        stories=section_settings(StorySettings, config["stories"]),
        stream=section_settings(StreamSettings, config["stream"]),
    )


# Settings classes a section may hold as a nested section, by the name its field's type says.
_SETTINGS_CLASSES: dict[str, type] = {cls.__name__: cls for cls in (
    ScoringSettings, VectorSettings, EncoderSettings, ModelSettings)}
