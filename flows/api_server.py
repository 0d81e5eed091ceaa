"""Prefect's ephemeral API server, run as a child that ends with the build."""

from __future__ import annotations

import os
import subprocess
import sys

import prefect
from prefect.server.api.server import SubprocessASGIServer
from prefect.settings import get_current_settings


class LifelineServer(SubprocessASGIServer):
    """Prefect's ``SubprocessASGIServer`` whose uvicorn runs under ``python -m
    flows.lifeline``: the command, settings and environment Prefect (3.9) gives it, plus a
    lifeline to this process, so a killed build never leaves its API server running.

    It shares Prefect's registry of ephemeral servers: started first, it is the one that
    Prefect's own clients (an events or log thread outside the flow's settings) get
    instead of starting a second server without a lifeline.
    """

    def _run_uvicorn_command(self) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "flows.lifeline", str(os.getpid()), "uvicorn",
             "--app-dir", str(prefect.__module_path__.parent),
             "--factory", "prefect.server.api.server:create_app", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "error", "--lifespan", "on"],
            env={**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
                 "PREFECT__SERVER_FINAL": "1",
                 **get_current_settings().to_environment_variables(exclude_unset=True)})
