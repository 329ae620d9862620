"""Calls with a deadline that cannot outlive it: the call runs in a child process, which is
killed (and replaced on the next call) when it runs late, so a pathological input stops using
CPU at its deadline instead of running on in an abandoned thread.

Children are forked from a fork server that has the call's module imported already, so a
replacement starts in milliseconds, and no child is forked from a process that runs threads
(Beam's workers do)."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from transforms.failures import BadInput, raised_at

STARTUP_TIMEOUT_S = 120.0


class DeadlineExceeded(BadInput):
    """The call ran past its deadline; its process was killed."""


class ChildDied(BadInput):
    """The child process died during the call (a crash in native code, the memory killer)."""


def _serve(connection: Connection, function: Callable[[Any], Any]) -> None:
    """The child's loop: call `function` on each argument received, send back the outcome."""
    connection.send(("ready", None))
    while True:
        try:
            argument = connection.recv()
        except EOFError:  # the parent has gone
            return
        try:
            outcome = ("ok", function(argument))
        except Exception as exc:  # noqa: BLE001 - sent to the parent, which raises it
            exc.raised_at = raised_at(exc)  # the traceback does not cross processes
            outcome = ("error", exc)
        try:
            connection.send(outcome)
        except Exception as exc:  # noqa: BLE001 - an exception that cannot be pickled
            connection.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))


class CallWithDeadline:
    """`submit(argument)` starts `function(argument)` in a child process of its own (started
    on first use), `result(seconds)` returns its result or raises its exception; past the
    deadline the child is killed and DeadlineExceeded raised. `function` must be importable by
    name."""

    def __init__(self, function: Callable[[Any], Any]) -> None:
        self.function = function
        self._process: Any = None
        self._connection: Connection | None = None
        self._submitted_at = 0.0

    def __getstate__(self) -> dict[str, Any]:  # a running child does not travel with the DoFn
        return {"function": self.function, "_process": None, "_connection": None,
                "_submitted_at": 0.0}

    def _start(self) -> None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([self.function.__module__])
        self._connection, child_end = context.Pipe()
        self._process = context.Process(target=_serve, args=(child_end, self.function),
                                        daemon=True, name="newsbeam-deadline-call")
        self._process.start()
        child_end.close()
        # The first child waits for the fork server to import the call's module; the deadline
        # counts from when the child is ready, not from then.
        try:
            ready = self._connection.poll(STARTUP_TIMEOUT_S) and self._connection.recv()
        except (EOFError, OSError):
            ready = None
        if not ready:
            self.stop()
            raise RuntimeError(f"the process for {self.function.__name__} did not start")

    def submit(self, argument: Any) -> None:
        """Starts `function(argument)` in the child and returns at once; `result` collects it.
        One call at a time: collect a call's result before submitting the next."""
        if self._process is None or not self._process.is_alive():
            self.stop()
            self._start()
        self._connection.send(argument)
        self._submitted_at = time.monotonic()

    def result(self, seconds: float) -> Any:
        """The submitted call's result, or its exception raised here; the deadline counts
        from `submit`, so time the caller spent on other work meanwhile counts too."""
        waited = time.monotonic() - self._submitted_at
        if not self._connection.poll(max(0.0, seconds - waited)):
            self.stop()
            raise DeadlineExceeded(f"took longer than {seconds:g} s; stopped")
        try:
            status, value = self._connection.recv()
        except (EOFError, OSError):
            self._process.join(timeout=1)
            code = self._process.exitcode
            self.stop()
            raise ChildDied(f"the process died (exit code {code})") from None
        except Exception as exc:  # noqa: BLE001 - an outcome that cannot be unpickled here
            raise RuntimeError(f"the result could not be read: {exc}") from None
        if status == "error":
            raise value
        return value

    def stop(self) -> None:
        """Kill the child, if any, and wait for it: nothing keeps running after this."""
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join()
            self._process.close()
        if self._connection is not None:
            self._connection.close()
        self._process, self._connection = None, None
