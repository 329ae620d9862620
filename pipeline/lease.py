"""The output's lease: one run or compaction at a time on an output, on local disk and on object
stores alike (no locking primitive needed, only files, strongly consistent listings and the
store's own modification times).

A contender writes a ticket file `OUTPUT/_lease/ticket-<id>.json` and keeps a heartbeat file
`alive-<id>` fresh. The holder is the live ticket written first (by the store's time; ties by
name). A ticket is dead when its heartbeat is older than the expiry, or when it names a process
on this host that no longer exists (a killed run need not wait for the expiry); dead tickets
are removed by whoever sees them. The holder checks it still holds the lease before it
commits."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from apache_beam.io.filesystems import FileSystems

from transforms.core.settings import check_above, check_at_least
from transforms.storage.layout import OutputPaths


@dataclass(frozen=True)
class LeaseSettings:
    """Config `lease.*`."""

    wait_s: float = 0.0  # how long a run waits for another run's lease; 0: exit at once
    expiry_s: float = 600.0  # a holder whose heartbeat is older than this has crashed

    def __post_init__(self) -> None:
        check_at_least("lease.wait_s", self.wait_s, 0)
        check_above("lease.expiry_s", self.expiry_s, 0)


class LeaseBusy(Exception):
    """Another run or compaction holds the output's lease."""


class LeaseLost(Exception):
    """This run's lease expired or was taken (its heartbeat stalled past the expiry)."""


class Lease:
    """`with Lease(output, settings, "run"):` holds the output's lease for the block."""

    def __init__(self, output: str, settings: LeaseSettings, purpose: str) -> None:
        self.folder = OutputPaths(output).lease
        self.settings = settings
        self.purpose = purpose
        self.id = f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}"
        self.ticket = f"{self.folder}/ticket-{self.id}.json"
        self.alive = f"{self.folder}/alive-{self.id}"
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def __enter__(self) -> Lease:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self, poll_s: float = 1.0) -> None:
        """Takes the lease, waiting up to settings.wait_s; raises LeaseBusy naming the holder."""
        _write(self.ticket, json.dumps({
            "purpose": self.purpose, "host": socket.gethostname(), "pid": os.getpid(),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds")}).encode())
        _write(self.alive, b"")
        deadline = time.monotonic() + self.settings.wait_s
        while True:
            holder = self._holder()
            if holder == self.ticket:
                self._beat = threading.Thread(target=self._heartbeat, daemon=True,
                                              name="newsbeam-lease")
                self._beat.start()
                return
            if time.monotonic() >= deadline:
                self._remove()
                raise LeaseBusy(f"another {describe_ticket(holder)} holds the lease on this "
                                f"output (waited {self.settings.wait_s:g} s; set lease.wait_s "
                                f"to wait longer)")
            time.sleep(max(0.0, min(poll_s, deadline - time.monotonic())))
            _write(self.alive, b"")

    def check_held(self) -> None:
        """Raises LeaseLost unless this lease is still the holder (call before committing)."""
        if self._holder() != self.ticket:
            raise LeaseLost("this run's lease on the output expired or was taken (its "
                            "heartbeat stalled longer than lease.expiry_s); nothing committed")

    def release(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join()
        self._remove()

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.settings.expiry_s / 5):
            _write(self.alive, b"")

    def _remove(self) -> None:
        existing = [path for path in (self.ticket, self.alive) if FileSystems.exists(path)]
        if existing:
            FileSystems.delete(existing)

    def _holder(self) -> str | None:
        """The live ticket written first; dead tickets (and their heartbeats) are removed."""
        found = {m.path: m for m in FileSystems.match([f"{self.folder}/*"])[0].metadata_list}
        now = time.time()
        live = []
        for path, metadata in found.items():
            name = path.rsplit("/", 1)[1]
            if not name.startswith("ticket-"):
                continue
            alive = f"{self.folder}/alive-{name.removeprefix('ticket-').removesuffix('.json')}"
            beat = found.get(alive, metadata).last_updated_in_seconds
            if path != self.ticket and (now - beat > self.settings.expiry_s
                                        or _process_gone(path)):
                FileSystems.delete([p for p in (path, alive) if p in found])
                continue
            live.append((metadata.last_updated_in_seconds, name, path))
        return min(live)[2] if live else None


def _write(path: str, data: bytes) -> None:
    with FileSystems.create(path) as handle:
        handle.write(data)


def _ticket(path: str) -> dict[str, Any]:
    try:
        with FileSystems.open(path) as handle:
            return json.loads(handle.read())
    except (OSError, ValueError):
        return {}


def _process_gone(path: str) -> bool:
    """The ticket names a process on this host that no longer exists (a killed run)."""
    ticket = _ticket(path)
    if ticket.get("host") != socket.gethostname() or not isinstance(ticket.get("pid"), int):
        return False
    try:
        os.kill(ticket["pid"], 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def describe_ticket(path: str | None) -> str:
    ticket = _ticket(path) if path else {}
    return (f"{ticket.get('purpose', 'run')} (host {ticket.get('host', '?')}, pid "
            f"{ticket.get('pid', '?')}, started {ticket.get('started_at', '?')})")
