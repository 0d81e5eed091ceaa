"""Where a build's tasks run: the task runner for a pool or Dask cluster, and the one
Prefect API that all of its processes share."""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from flows import lifeline
from generators.errors import InputError


def task_runner(workers: int = 1, pool: str = "thread", dask_address: str | None = None,
                dask_local: int | None = None) -> TaskRunner:
    """The task runner for a build.

    Args:
        workers: Local pool size.
        pool: ``thread`` or ``process`` (the local pool's kind).
        dask_address: ``tcp://HOST:PORT`` of a running Dask scheduler.
        dask_local: Start a local Dask cluster of this many single-threaded worker processes.

    Returns:
        A Prefect task runner; the processes of a local pool or cluster hold the build's
        lifeline (:mod:`flows.lifeline`).

    Raises:
        InputError: ``pool`` is neither ``thread`` nor ``process``.
    """
    if dask_address or dask_local:
        from prefect_dask import DaskTaskRunner

        if dask_address:
            return DaskTaskRunner(address=dask_address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": dask_local, "threads_per_worker": 1,
                                              "processes": True, "dashboard_address": None,
                                              "preload": ["flows.lifeline"]})
    if pool not in ("thread", "process"):
        raise InputError("--pool", f"expected thread or process, got {pool!r}")
    if pool == "process":
        return ProcessPoolTaskRunner(max_workers=workers, initializer=lifeline.hold)
    return ThreadPoolTaskRunner(max_workers=workers)


@contextmanager
def shared_api(timeout_s: int = 120) -> Iterator[str]:
    """Make every worker talk to one Prefect API.

    Without a configured ``PREFECT_API_URL`` each worker process would start its own
    ephemeral server; this starts one, which ends with this process however it ends
    (:class:`flows.api_server.LifelineServer`), and points the settings (which travel
    with each task) and the environment (which spawned workers inherit) at it. Like
    Prefect's own ephemeral server it serves until the process exits (Prefect's exit hook
    stops it after the last logs are sent), and Prefect's clients reuse it.

    Yields:
        The API URL in use.
    """
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    url = get_current_settings().api.url
    if url:
        yield url
        return
    from flows.api_server import LifelineServer

    server = LifelineServer()
    server.start(timeout=timeout_s)
    previous = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = server.api_url
    try:
        with temporary_settings({PREFECT_API_URL: server.api_url}):
            yield server.api_url
    finally:
        if previous is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = previous
