"""Beam asks a DoFn for its state and timer specs about fourteen times over its life (when the
ParDo is made, each time the graph is turned into its runner form, when each bundle processor
is built, by the DirectRunner's checks), and each time inspects the signature of every method
the DoFn has: on newsbeam's graph (about 200 ParDos) that is some 80,000 signature reads and
about a second of every run's start-up. The specs of one DoFn object do not change, so they are
remembered per object (weakly: a DoFn that is dropped is forgotten).

`remember_dofn_specs()` is called when transforms.core.failures is imported (the stages' DoFns
build on it), so the launcher and every worker that unpickles a newsbeam DoFn have it; it
changes no result, only how often the same one is computed."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from apache_beam.transforms import userstate

Specs = tuple[set[Any], set[Any]]


def remembering(compute: Callable[[Any], Specs]) -> Callable[[Any], Specs]:
    """`compute` (userstate.get_dofn_specs) computed once per DoFn object; an object that
    cannot be weakly referenced or hashed is computed every time, as before."""
    known: weakref.WeakKeyDictionary[Any, Specs] = weakref.WeakKeyDictionary()

    def specs(dofn: Any) -> Specs:
        try:
            return known[dofn]
        except KeyError:
            found = known[dofn] = compute(dofn)
            return found
        except TypeError:
            return compute(dofn)

    specs.computes = compute  # type: ignore[attr-defined]
    return specs


def remember_dofn_specs() -> None:
    """Installs the remembering version once (is_stateful_dofn and validate_stateful_dofn
    look get_dofn_specs up in their module at every call, so they use it too)."""
    if not hasattr(userstate.get_dofn_specs, "computes"):
        userstate.get_dofn_specs = remembering(userstate.get_dofn_specs)
