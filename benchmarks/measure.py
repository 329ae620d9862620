"""Time a command and take its peak memory: `python -m benchmarks.measure COMMAND...` runs
COMMAND as its only child and prints the largest resident set (KiB) any process of it reached
(Linux ru_maxrss of reaped descendants), so every measured program is measured the same way."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def seconds_and_peak_mb(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak resident MB) of `command`, run in a measuring child process."""
    started = time.perf_counter()
    measured = subprocess.run([sys.executable, "-m", "benchmarks.measure", *command], cwd=ROOT,
                              check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    return seconds, int(measured.stdout.strip().splitlines()[-1]) / 1024


def main(command: list[str]) -> int:
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
