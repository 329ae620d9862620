"""Calls with a deadline that cannot outlive it: the calls run in a child process, which is
killed (and replaced) when one runs late, so a pathological input stops using CPU at its
deadline instead of running on in an abandoned thread.

Several calls may be in flight: the child takes them in order, and a caller that sends work
ahead keeps the child busy while it does other work itself. Each call's deadline counts from
when the child could start it (sent, and the call before it done), so waiting in line does not
count against it.

Children are forked from a fork server that has the call's module imported already, so a
replacement starts in milliseconds, and no child is forked from a process that runs threads
(Beam's workers do)."""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from transforms.core.bad_input import BadInput, raised_at

STARTUP_TIMEOUT_S = 120.0
_END: Any = object()  # what the child's own queues carry when the parent has gone


class DeadlineExceeded(BadInput):
    """The call ran past its deadline; its process was killed."""


class ChildDied(BadInput):
    """The child process died during the call, and again when the call was tried once more in
    a new child (a crash in native code, the memory killer)."""


def _outcome(function: Callable[[Any], Any], argument: Any) -> tuple[str, Any, float]:
    """(status, result or exception, when the call ended on the monotonic clock)."""
    try:
        outcome = ("ok", function(argument))
    except Exception as exc:  # noqa: BLE001 - sent to the parent, which raises it
        exc.raised_at = raised_at(exc)  # the traceback does not cross processes
        outcome = ("error", exc)
    return (*outcome, time.monotonic())


def _serve(inbox: Connection, outbox: Connection, function: Callable[[Any], Any]) -> None:
    """The child's loop: call `function` on each argument received, in order, and send back the
    outcomes. A thread receives the arguments as they come and another sends the outcomes, so
    neither side ever waits for the other to read (a parent sending its next page and a child
    sending a result could otherwise block each other)."""
    arguments: queue.SimpleQueue[Any] = queue.SimpleQueue()
    outcomes: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def receive() -> None:
        while True:
            try:
                arguments.put(inbox.recv())
            except (EOFError, OSError):  # the parent has gone
                arguments.put(_END)
                return

    def send() -> None:
        while (outcome := outcomes.get()) is not _END:
            try:
                outbox.send(outcome)
            except (BrokenPipeError, OSError):  # the parent has gone
                return
            except Exception as exc:  # noqa: BLE001 - an outcome that cannot be pickled
                outbox.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}"),
                             outcome[2]))

    outbox.send(("ready", None, time.monotonic()))
    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    threading.Thread(target=receive, daemon=True).start()
    while (argument := arguments.get()) is not _END:
        outcomes.put(_outcome(function, argument))
    outcomes.put(_END)
    sender.join()


class CallWithDeadline:
    """`submit(argument)` sends `function(argument)` to a child process of its own (started on
    first use) and returns at once; `result(seconds)` returns the oldest submitted call's result
    or raises its exception. Past the deadline the child is killed and DeadlineExceeded raised;
    the calls submitted after that one go to a new child. A child that dies is replaced and the
    call it was on tried once more: what killed it (the memory killer, a leak of an earlier call)
    need not be that call's doing, and only a call that kills a second child is blamed.
    `function` must be importable by name; the fork server that starts the children imports
    its module and the `preload` modules (whose import may load what the calls need, so each
    child starts with it loaded)."""

    def __init__(self, function: Callable[[Any], Any], preload: tuple[str, ...] = ()) -> None:
        self.function = function
        self.preload = preload
        self._process: Any = None
        self._to_child: Connection | None = None
        self._from_child: Connection | None = None
        # (argument, when it was sent, whether it is a retry after its child died)
        self._pending: deque[tuple[Any, float, bool]] = deque()
        self._child_free_at = 0.0  # when the child ended the last call collected

    def __getstate__(self) -> dict[str, Any]:  # a running child does not travel with the DoFn
        return {"function": self.function, "preload": self.preload}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["function"], state.get("preload", ()))

    @property
    def in_flight(self) -> int:
        """Calls submitted and not yet collected."""
        return len(self._pending)

    def oldest(self) -> Any:
        """The argument of the call `result` collects next."""
        return self._pending[0][0]

    def _start(self) -> None:
        context = multiprocessing.get_context("forkserver")
        # the server imports this module and the call's, so a child starts in milliseconds
        context.set_forkserver_preload([__name__, self.function.__module__, *self.preload])
        inbox, self._to_child = context.Pipe(duplex=False)
        self._from_child, outbox = context.Pipe(duplex=False)
        self._process = context.Process(target=_serve, args=(inbox, outbox, self.function),
                                        daemon=True, name="newsbeam-deadline-call")
        self._process.start()
        inbox.close()
        outbox.close()
        # The first child waits for the fork server to import the call's module; deadlines
        # count from when the child is ready, not from then.
        try:
            ready = self._from_child.poll(STARTUP_TIMEOUT_S) and self._from_child.recv()
        except (EOFError, OSError):
            ready = None
        if not ready:
            self.stop()
            raise RuntimeError(f"the process for {self.function.__name__} did not start")

    def _restart(self, start: bool = False) -> None:
        """The child killed; a new one for the calls still waiting, if any (or if `start`)."""
        waiting = [(argument, retry) for argument, _, retry in self._pending]
        self.stop()
        if waiting or start:
            self._start()
            for argument, retry in waiting:
                self._send(argument, retry)

    def _send(self, argument: Any, retry: bool = False) -> None:
        self._to_child.send(argument)
        self._pending.append((argument, time.monotonic(), retry))

    def submit(self, argument: Any) -> None:
        """Sends `function(argument)` to the child; `result` collects the outcomes in order."""
        if self._process is None or not self._process.is_alive():
            self._restart(start=True)
        self._send(argument)

    def result(self, seconds: float) -> Any:
        """The oldest submitted call's result, or its exception raised here. Its deadline counts
        from when the child could start it, so time the caller spent on other work meanwhile
        counts too, and time the call waited behind earlier ones does not."""
        if not self._pending:
            raise RuntimeError("result() without a submitted call")
        argument, sent_at, retry = self._pending[0]
        started = max(sent_at, self._child_free_at)
        if not self._from_child.poll(max(0.0, started + seconds - time.monotonic())):
            self._pending.popleft()
            self._restart()
            raise DeadlineExceeded(f"took longer than {seconds:g} s; stopped")
        try:
            status, value, self._child_free_at = self._from_child.recv()
        except (EOFError, OSError):
            self._process.join(timeout=1)
            code = self._process.exitcode
            if not retry:  # once more, first in line, in a new child
                self._pending[0] = (argument, sent_at, True)
                self._restart()
                return self.result(seconds)
            self._pending.popleft()
            self._restart()
            raise ChildDied(f"the process died (exit code {code}), twice") from None
        except Exception as exc:  # noqa: BLE001 - an outcome that cannot be unpickled here
            self._pending.popleft()
            raise RuntimeError(f"the result could not be read: {exc}") from None
        self._pending.popleft()
        if status == "error":
            raise value
        return value

    def stop(self) -> None:
        """Kill the child, if any, and wait for it: nothing keeps running after this. Calls in
        flight are dropped."""
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join()
            self._process.close()
        for connection in (self._to_child, self._from_child):
            if connection is not None:
                connection.close()
        self._process = self._to_child = self._from_child = None
        self._pending.clear()
        self._child_free_at = 0.0
