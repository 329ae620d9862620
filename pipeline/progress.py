"""Progress lines while a run works."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

from transforms.core import metrics


class Progress(threading.Thread):
    """A line every `every_s` seconds while the run works: records read, parsed and written so
    far, and the rate. Counts come from the metrics module's counters: the runner's live
    metrics where it has them, else what this process has counted (in-process runners)."""

    def __init__(self, every_s: float, counts_here: bool) -> None:
        """`counts_here`: the runner runs the pipeline in this process (so what this process
        counts is the run's progress)."""
        super().__init__(daemon=True, name="newsbeam-progress")
        self.every_s = every_s
        self.counts_here = counts_here
        self.result: Any = None
        self._stop_event = threading.Event()
        self._baseline = metrics.local_tally()
        self._began = time.monotonic()

    def __enter__(self) -> Progress:
        if self.every_s > 0:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join()

    def counts(self) -> Counter[str]:
        if self.result is not None:
            try:
                return metrics.totals(self.result)
            except Exception:  # noqa: BLE001 - a runner without live metrics: count locally
                pass
        return metrics.local_tally() - self._baseline

    def line(self) -> str:
        elapsed = time.monotonic() - self._began
        counts = self.counts()
        if not counts and not self.counts_here:
            return (f"newsbeam: progress {elapsed:.0f} s: running (this runner reports its "
                    f"counts when it finishes)")
        errors = sum(metrics.errors_by_stage(counts).values())
        return (f"newsbeam: progress {elapsed:.0f} s: inputs read {counts[metrics.INPUTS]}, "
                f"records parsed {counts[metrics.RECORDS]}, articles written "
                f"{counts[metrics.ARTICLES_WRITTEN]}, errors {errors}; "
                f"{counts[metrics.RECORDS] / max(elapsed, 1e-9):.1f} records/s")

    def run(self) -> None:
        while not self._stop_event.wait(self.every_s):
            print(self.line(), flush=True)
