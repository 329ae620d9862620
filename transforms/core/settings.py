"""What every stage's settings object shares: the error for a value that cannot be used, range
checks that name the config key, and backends chosen by name from a registry."""

from __future__ import annotations

from typing import Any


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the key and what was expected."""


def choose(registry: dict[str, Any], name: str, key: str) -> Any:
    """A backend looked up by name; an unknown name lists the valid choices."""
    if name not in registry:
        raise ConfigError(f"unknown {key} {name!r}; valid choices: {', '.join(sorted(registry))}")
    return registry[name]


def check_at_least(key: str, value: float, low: float) -> None:
    if value < low:
        raise ConfigError(f"config key {key!r} must be >= {low:g}, got {value!r}")


def check_above(key: str, value: float, low: float) -> None:
    if value <= low:
        raise ConfigError(f"config key {key!r} must be > {low:g}, got {value!r}")


def check_fields(settings: object, section: str, at_least: dict[str, float] | None = None,
                 above: dict[str, float] | None = None) -> None:
    """Range checks of a settings object's fields, each named `section.field` in errors."""
    for field, low in (at_least or {}).items():
        check_at_least(f"{section}.{field}", getattr(settings, field), low)
    for field, low in (above or {}).items():
        check_above(f"{section}.{field}", getattr(settings, field), low)


def check_between(key: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ConfigError(f"config key {key!r} must be between {low:g} and {high:g}, "
                          f"got {value!r}")
