"""Workers started apart from the launcher (`--environment_type=EXTERNAL`: a Beam worker pool,
as Flink and Spark deployments run Python workers). When the pool cannot start a worker that
runs newsbeam (its `python` lacks the package), Beam's runner waits for the worker for ever;
the launcher asks the pool for one worker first and stops with a message instead."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
from apache_beam.options.pipeline_options import PipelineOptions, PortableOptions
from apache_beam.portability.api import beam_fn_api_pb2, beam_fn_api_pb2_grpc, endpoints_pb2


class WorkersCannotStart(Exception):
    """The worker pool started no worker that reached the launcher; the message says what to
    check."""


class _FirstContact(beam_fn_api_pb2_grpc.BeamFnControlServicer):
    """A control service that only notes that a worker connected, then lets it go."""

    def __init__(self) -> None:
        self.connected = threading.Event()

    def Control(self, requests: Iterator[Any], context: Any) -> Iterator[Any]:  # noqa: N802
        self.connected.set()
        return iter(())


def external_pool(options: PipelineOptions) -> str | None:
    """The worker pool's address when workers are external to the launcher, else None."""
    portable = options.view_as(PortableOptions)
    if (portable.environment_type or "").upper() != "EXTERNAL":
        return None
    return portable.environment_config or None


def check_worker_pool(address: str, timeout_s: float) -> None:
    """Asks the pool at `address` for one worker and waits `timeout_s` for it to connect."""
    contact = _FirstContact()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    beam_fn_api_pb2_grpc.add_BeamFnControlServicer_to_server(contact, server)
    port = server.add_insecure_port("localhost:0")
    server.start()
    worker_id = f"newsbeam-check-{uuid.uuid4().hex[:8]}"
    try:
        with grpc.insecure_channel(address) as channel:
            pool = beam_fn_api_pb2_grpc.BeamFnExternalWorkerPoolStub(channel)
            endpoint = endpoints_pb2.ApiServiceDescriptor(url=f"localhost:{port}")
            try:
                response = pool.StartWorker(beam_fn_api_pb2.StartWorkerRequest(
                    worker_id=worker_id, control_endpoint=endpoint,
                    logging_endpoint=endpoint, artifact_endpoint=endpoint,
                    provision_endpoint=endpoint), timeout=timeout_s)
            except grpc.RpcError as exc:
                raise WorkersCannotStart(
                    f"no Beam worker pool answers at {address} ({exc.code().name}): start one "
                    f"with `python -m apache_beam.runners.worker.worker_pool_main "
                    f"--service_port=PORT` and pass --environment_config=HOST:PORT") from None
            if response.error:
                raise WorkersCannotStart(f"the worker pool at {address} could not start a "
                                         f"worker: {response.error.strip().splitlines()[-1]}")
            reached = contact.connected.wait(timeout_s)
            pool.StopWorker(beam_fn_api_pb2.StopWorkerRequest(worker_id=worker_id),
                            timeout=timeout_s)
    finally:
        server.stop(0)
    if not reached:
        raise WorkersCannotStart(
            f"the worker pool at {address} started a worker that did not reach the launcher "
            f"within {timeout_s:g} s: the pool starts workers with the `python` on its PATH, "
            f"which must have newsbeam and its dependencies installed (start the pool with "
            f"the environment's bin folder first on PATH); `worker_start_s` sets the wait")
