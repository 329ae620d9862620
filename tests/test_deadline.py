"""Calls with a deadline, several in flight: each timed from when the child could start it."""

from __future__ import annotations

import multiprocessing.forkserver
import os
import time
from collections.abc import Iterator

import pytest

from transforms.core.deadline import CallWithDeadline, ChildDied, DeadlineExceeded


@pytest.fixture(autouse=True, scope="module")
def own_fork_server() -> Iterator[None]:
    """These calls' fork server preloads `time`; stopped afterwards, so the parser's tests get
    one that preloads the parser (a process has one fork server, its preload set at start)."""
    yield
    multiprocessing.forkserver._forkserver._stop()


def test_calls_waiting_in_line_are_timed_from_when_they_could_start() -> None:
    """Three 0.2 s calls sent at once, each with a 0.35 s deadline: the third ends 0.6 s after
    it was sent, yet none is late, since each could start only when the one before ended."""
    calls = CallWithDeadline(time.sleep)
    started = time.monotonic()
    for _ in range(3):
        calls.submit(0.2)
    assert calls.in_flight == 3
    assert [calls.result(0.35) for _ in range(3)] == [None, None, None]
    assert time.monotonic() - started >= 0.6
    assert calls.in_flight == 0
    calls.stop()


def test_a_late_call_is_stopped_and_the_calls_behind_it_still_run() -> None:
    calls = CallWithDeadline(time.sleep)
    for seconds in (30, 0.01, 0.01):
        calls.submit(seconds)
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded, match="took longer than 0.3 s"):
        calls.result(0.3)
    assert time.monotonic() - started < 1.0
    assert calls.in_flight == 2  # sent again, to a new process
    assert [calls.result(0.3), calls.result(0.3)] == [None, None]
    calls.stop()


def test_an_exception_in_the_call_is_raised_in_order() -> None:
    calls = CallWithDeadline(time.sleep)
    for seconds in (0.01, -1, 0.01):
        calls.submit(seconds)
    assert calls.result(1.0) is None
    with pytest.raises(ValueError, match="must be non-negative"):
        calls.result(1.0)
    assert calls.result(1.0) is None
    calls.stop()


def test_a_child_killed_during_a_call_is_replaced_and_the_call_tried_again() -> None:
    """The memory killer may kill the child on a call that is not to blame: the call runs once
    more in a new child, and returns."""
    calls = CallWithDeadline(time.sleep)
    calls.submit(0.01)
    calls.submit(0.5)
    assert calls.result(5.0) is None
    calls._process.kill()  # during the second call, as the memory killer would
    assert calls.result(5.0) is None
    assert calls.in_flight == 0
    calls.stop()


def test_a_call_that_kills_its_child_twice_is_blamed() -> None:
    calls = CallWithDeadline(os._exit)
    calls.submit(7)
    with pytest.raises(ChildDied, match=r"exit code 7\), twice"):
        calls.result(5.0)
    assert calls.in_flight == 0
    calls.stop()
