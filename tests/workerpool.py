"""A Beam worker pool started apart from the test, as Flink and Spark deployments run Python
workers (`python -m apache_beam.runners.worker.worker_pool_main`), and a clean stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def worker_pool(bin_folder: Path, cwd: Path) -> Iterator[str]:
    """A pool whose workers run the `python` found first in `bin_folder`; yields its
    address for --environment_config."""
    port = _free_port()
    env = {**os.environ, "PATH": os.pathsep.join([str(bin_folder), os.environ["PATH"]])}
    pool = subprocess.Popen([sys.executable, "-m",
                             "apache_beam.runners.worker.worker_pool_main",
                             f"--service_port={port}"], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # its workers join its process group
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if pool.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the worker pool did not start") from None
                time.sleep(0.2)
        yield f"localhost:{port}"
    finally:
        os.killpg(pool.pid, signal.SIGKILL)  # the pool and every worker it started
        pool.wait()
