"""Child processes that end with the harqa process that started them, however it ends.

A build starts processes of its own: Prefect's API server, process-pool and local Dask
workers. When the build is killed (``kill -9``, the OOM killer), nothing runs in it to stop
them, so each child holds a *lifeline*: a thread that waits for the build's process to end
and then ends its own. The build names itself in ``LIFELINE_ENV``, which every child
inherits.
"""

from __future__ import annotations

import os
import runpy
import select
import sys
import threading
import time
from contextlib import contextmanager
from typing import Iterator

#: Environment variable naming the PID whose end ends the children.
LIFELINE_ENV = "HARQA_LIFELINE_PID"
#: Exit status of a child ended by its lifeline.
EXIT_CODE = 70


def hold(pid: int | None = None) -> None:
    """End this process (at once, ``os._exit``) when process ``pid`` ends.

    Args:
        pid: The process to outlive by no more than a moment; default ``LIFELINE_ENV``.
            Nothing is held when neither names one.
    """
    pid = pid or int(os.environ.get(LIFELINE_ENV, 0))
    if pid:
        threading.Thread(target=_exit_after, args=(pid,), name="harqa-lifeline",
                         daemon=True).start()


def _exit_after(pid: int) -> None:
    try:
        fd = os.pidfd_open(pid)  # readable once the process has ended (Linux ≥ 5.3)
    except ProcessLookupError:
        os._exit(EXIT_CODE)
    except (AttributeError, OSError):  # no pidfd: ask every half second
        while _alive(pid):
            time.sleep(0.5)
        os._exit(EXIT_CODE)
    select.select([fd], [], [])
    os._exit(EXIT_CODE)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@contextmanager
def children_hold() -> Iterator[None]:
    """Children started in the block hold this process's lifeline (they inherit
    ``LIFELINE_ENV``; each calls :func:`hold` when it starts)."""
    previous = os.environ.get(LIFELINE_ENV)
    os.environ[LIFELINE_ENV] = str(os.getpid())
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(LIFELINE_ENV, None)
        else:
            os.environ[LIFELINE_ENV] = previous


def dask_setup(worker: object) -> None:
    """Dask's preload hook: a local cluster's worker holds the build's lifeline."""
    hold()


if __name__ == "__main__":
    # python -m flows.lifeline PID MODULE [ARG...]: run MODULE as `python -m` would, for
    # no longer than process PID lives.
    hold(int(sys.argv[1]))
    sys.argv = sys.argv[2:]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
