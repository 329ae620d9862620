"""Two answers Beam computes again and again while it builds and runs a graph, remembered:

- A DoFn's state and timer specs. Beam asks for them about fourteen times over a DoFn's life
  (when the ParDo is made, each time the graph is turned into its runner form, when each
  bundle processor is built, by the DirectRunner's checks), and each time reads the signature
  of every method the DoFn has: on newsbeam's graph (about 200 ParDos) some 80,000 signature
  reads. Remembered per DoFn object: 2,842 computations a run of the seeds -> 401.
- A view of the pipeline options (`options.view_as(TypeOptions)`): Beam asks for one at every
  step it applies and every type it checks (about 1,400 times a run), and each view builds an
  argument parser of every Beam option and parses the flags again. Remembered per options
  object and view class; views of one options object share its values, so the same view
  object serves as well as a new one.

Together about 1.4 s of a 7.7 s run of the seeds. `remember()` is called when
transforms.core.failures is imported (the stages' DoFns build on it), so the launcher and
every worker that unpickles a newsbeam DoFn have it; it changes no result, only how often the
same one is computed. Objects that cannot be weakly referenced or hashed are computed every
time, as before."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.transforms import userstate

Specs = tuple[set[Any], set[Any]]


def remembering(compute: Callable[[Any], Specs]) -> Callable[[Any], Specs]:
    """`compute` (userstate.get_dofn_specs) computed once per DoFn object."""
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


def remembering_views(view_as: Callable[[Any, type], Any]) -> Callable[[Any, type], Any]:
    """`view_as` (PipelineOptions.view_as) made once per options object and view class, and
    again if the options' flags were replaced."""
    known: weakref.WeakKeyDictionary[Any, dict[type, Any]] = weakref.WeakKeyDictionary()

    def view(options: Any, cls: type) -> Any:
        try:
            views = known.setdefault(options, {})
        except TypeError:
            return view_as(options, cls)
        found = views.get(cls)
        if found is None or found._flags is not options._flags:
            found = views[cls] = view_as(options, cls)
        return found

    view.computes = view_as  # type: ignore[attr-defined]
    return view


def remember() -> None:
    """Installs both, once (is_stateful_dofn and validate_stateful_dofn look get_dofn_specs up
    in their module at every call, so they use it too)."""
    if not hasattr(userstate.get_dofn_specs, "computes"):
        userstate.get_dofn_specs = remembering(userstate.get_dofn_specs)
    if not hasattr(PipelineOptions.view_as, "computes"):
        PipelineOptions.view_as = remembering_views(PipelineOptions.view_as)
