"""Shared fixtures: the real data directory and one Prefect test server per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

# Prefect binds its console log handlers to sys.stderr when it first sets up logging. Done
# here, that is the session's stream; done first inside a CliRunner test (test_cli.py run
# alone: `harqa build` imports the flow), it would be the runner's, closed when that test
# ends, and every later flow's log line would fail on the closed file.
from prefect.logging.configuration import setup_logging  # noqa: E402

setup_logging()

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SAMPLE = REPO / "generators" / "sample" / "uci_har"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real recordings); tests that need it skip where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not available")
    return SHARED_DATA


@pytest.fixture(scope="session")
def prefect_server():
    """One ephemeral Prefect API for the whole session (it costs ~10 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
