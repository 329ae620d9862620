"""Runs `newsbeam COMMAND ARGS` with one function made to kill the process (SIGKILL, no
clean-up of any kind) on its Nth call: `python tests/faults.py MODULE:ATTRIBUTE N COMMAND
ARGS...`, where ATTRIBUTE may be Class.method and COMMAND is run or stream. Used by the
fault-injection tests."""

from __future__ import annotations

import functools
import importlib
import os
import signal
import sys
from typing import Any


def kill_on_call(target: str, call: int) -> None:
    module_name, attribute = target.split(":")
    owner: Any = importlib.import_module(module_name)
    *path, name = attribute.split(".")
    for part in path:
        owner = getattr(owner, part)
    real = getattr(owner, name)
    calls = {"count": 0}

    @functools.wraps(real)  # Beam reads the signature of what it maps
    def killing(*args: Any, **kwargs: Any) -> Any:
        calls["count"] += 1
        if calls["count"] == call:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)

    setattr(owner, name, staticmethod(killing) if isinstance(
        owner.__dict__.get(name), staticmethod) else killing)


if __name__ == "__main__":  # HTML extraction's child processes import this module too
    kill_on_call(sys.argv[1], int(sys.argv[2]))
    from pipeline.cli import main

    sys.exit(main(sys.argv[3:]))
