"""Where a build's tasks run: the task runner for a pool or Dask cluster, and the one
Prefect API that all of its processes share."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import forkserver
from typing import Iterator

from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from flows import lifeline
from generators.errors import InputError

#: What a process pool's fork server imports before it forks a worker (:mod:`flows.warm`).
WARM_MODULE = "flows.warm"


def start_fork_server() -> None:
    """Start the fork server of :class:`WarmProcessPool` now, in the background.

    It imports :data:`WARM_MODULE` while the build goes on (the API start, staging), once
    per process: later pools fork from the same server. Started inside
    :func:`flows.lifeline.children_hold`, so the workers it forks hold the build's
    lifeline; the server itself ends when this process does.
    """
    multiprocessing.get_context("forkserver").set_forkserver_preload([WARM_MODULE])
    forkserver.ensure_running()


class WarmProcessPool(ProcessPoolTaskRunner):
    """Prefect's process pool, its workers forked from a warm server instead of spawned.

    A spawned worker imports the task module and compiles the packs' templates and
    answer patterns on its own before its first shard; forked from the fork server
    (:func:`start_fork_server`), every worker starts with all of that done once.
    Tasks, their context, logs and events travel as in Prefect's pool.
    """

    def __enter__(self) -> "WarmProcessPool":
        # Entered in each worker too (a task's hydrated context holds its flow's runner):
        # nothing may start here; the server starts with the first worker, if not before.
        super().__enter__()
        spawning = self._executor  # it starts its workers on demand: none is running yet
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([WARM_MODULE])
        self._executor = ProcessPoolExecutor(
            max_workers=self._max_workers, mp_context=context,
            initializer=spawning._initializer, initargs=spawning._initargs)
        spawning.shutdown()
        return self


def task_runner(workers: int = 1, pool: str | None = None, dask_address: str | None = None,
                dask_local: int | None = None) -> TaskRunner:
    """The task runner for a build.

    Args:
        workers: Local pool size.
        pool: ``thread`` or ``process`` (the local pool's kind); default ``process`` for
            more than one worker (describing and checking hold the interpreter lock, so
            threads do not run them at once), else ``thread``.
        dask_address: ``tcp://HOST:PORT`` of a running Dask scheduler.
        dask_local: Start a local Dask cluster of this many single-threaded worker processes.

    Returns:
        A Prefect task runner; the processes of a local pool or cluster fork from the
        warm server (:func:`start_fork_server`) and hold the build's lifeline
        (:mod:`flows.lifeline`).

    Raises:
        InputError: ``pool`` is neither ``thread`` nor ``process``.
    """
    if dask_address or dask_local:
        import dask
        from prefect_dask import DaskTaskRunner

        if dask_address:
            return DaskTaskRunner(address=dask_address)
        # The cluster's workers fork from the warm server too (start_fork_server).
        dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"})
        return DaskTaskRunner(cluster_kwargs={"n_workers": dask_local, "threads_per_worker": 1,
                                              "processes": True, "dashboard_address": None,
                                              "preload": ["flows.lifeline"]})
    pool = pool or ("process" if workers > 1 else "thread")
    if pool not in ("thread", "process"):
        raise InputError("--pool", f"expected thread or process, got {pool!r}")
    if pool == "process":
        return WarmProcessPool(max_workers=workers, initializer=lifeline.hold)
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
