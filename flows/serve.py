"""Scheduled builds (``harqa serve``) and the CLI's progress display of a running build."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

class NoServerError(RuntimeError):
    """Schedules need a Prefect server, and none is configured."""


def serve_build(parameters: dict, cron: str, name: str) -> None:
    """Serve ``build_preset`` with ``parameters`` on a cron schedule until interrupted.

    The deployment and its schedule live on the Prefect server named by
    ``PREFECT_API_URL``; its scheduler creates the runs and this process executes them.

    Args:
        parameters: Parameters of :func:`flows.build.build_preset`.
        cron: Cron expression (``"0 3 * * *"``).
        name: Deployment name.

    Raises:
        NoServerError: ``PREFECT_API_URL`` is not set (an ephemeral API never fires
            schedules).
    """
    from prefect.client.schemas.schedules import CronSchedule
    from prefect.settings import get_current_settings

    if not get_current_settings().api.url:
        raise NoServerError(
            "schedules need a running Prefect server: start one with `prefect server start` "
            "and point harqa at it with "
            "`prefect config set PREFECT_API_URL=http://127.0.0.1:4200/api`")
    try:
        CronSchedule(cron=cron)
    except ValueError as exc:
        raise ValueError(f"--cron {cron!r} is not a valid cron expression") from exc
    from flows.build import build_preset

    build_preset.serve(name=name, cron=cron, parameters=parameters,
                       description=f"harqa build of preset {parameters.get('preset')}",
                       tags=["harqa"], pause_on_shutdown=False, limit=1)


class _ProgressHandler(logging.Handler):
    """Moves a rich progress bar on the build's per-shard records."""

    def __init__(self, progress: Progress, job: int) -> None:
        super().__init__()
        self.progress, self.job = progress, job

    def emit(self, record: logging.LogRecord) -> None:
        self.progress.update(self.job, completed=getattr(record, "done", 0),
                             total=getattr(record, "total", None))


@contextmanager
def recording_progress(console: Console, description: str) -> Iterator[None]:
    """Show a progress bar of finished shards (recording spans) while the block runs a build."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("shards"), TimeElapsedColumn())
    from flows.build import PROGRESS_LOGGER

    logger = logging.getLogger(PROGRESS_LOGGER)
    with Progress(*columns, console=console, transient=True) as progress:
        handler = _ProgressHandler(progress, progress.add_task(description, total=None))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        try:
            yield
        finally:
            logger.removeHandler(handler)
