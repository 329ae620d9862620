"""What Beam computes again and again, remembered: the same answers, computed once."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.coders import VarIntCoder
from apache_beam.options.pipeline_options import (
    PipelineOptions,
    StandardOptions,
    TypeOptions,
)
from apache_beam.transforms import userstate
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec

import transforms.core.failures  # noqa: F401 - installs the remembering versions
from transforms.core.beam_memo import remembering

COUNT = ReadModifyWriteStateSpec("count", VarIntCoder())
_COUNT = beam.DoFn.StateParam(COUNT)


class Counting(beam.DoFn):
    def process(self, element, count=_COUNT):
        yield element


class Plain(beam.DoFn):
    def process(self, element):
        yield element


def test_specs_are_computed_once_per_dofn_and_answers_do_not_change():
    calls: list[object] = []

    def compute(dofn):
        calls.append(dofn)
        return userstate.get_dofn_specs.computes(dofn)

    specs = remembering(compute)
    stateful, plain = Counting(), Plain()
    assert specs(stateful) == ({COUNT}, set())
    assert specs(stateful) == ({COUNT}, set())
    assert specs(plain) == (set(), set())
    assert calls == [stateful, plain]


def test_beam_uses_it_and_still_tells_stateful_from_plain():
    assert hasattr(userstate.get_dofn_specs, "computes")
    assert userstate.is_stateful_dofn(Counting())
    assert not userstate.is_stateful_dofn(Plain())
    assert not userstate.is_stateful_dofn(beam.Map(lambda x: x).fn)


def test_an_unhashable_dofn_is_computed_every_time():
    class Unhashable(Plain):
        __hash__ = None  # type: ignore[assignment]

    calls: list[object] = []
    specs = remembering(lambda dofn: calls.append(dofn) or (set(), set()))
    dofn = Unhashable()
    assert specs(dofn) == (set(), set())
    assert specs(dofn) == (set(), set())
    assert len(calls) == 2


def test_an_options_view_is_made_once_and_shares_the_options_values():
    options = PipelineOptions(["--runner=DirectRunner", "--no_pipeline_type_check"])
    standard = options.view_as(StandardOptions)
    assert options.view_as(StandardOptions) is standard
    assert standard.runner == "DirectRunner"
    assert options.view_as(TypeOptions).pipeline_type_check is False
    standard.streaming = True  # a value set through one view is seen by the others
    assert options.view_as(StandardOptions).streaming is True
    assert PipelineOptions(["--runner=DirectRunner"]).view_as(StandardOptions) is not standard
    assert PipelineOptions.view_as.computes(options, StandardOptions).streaming is True
