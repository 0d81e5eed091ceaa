"""Shared fixtures (the real data directory, one Prefect test server per session) and the
``e2e`` tier: every test that uses that server."""

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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that runs a flow (it uses ``prefect_server``, directly or through a
    fixture) as ``e2e``; ``-m "not e2e and not model"`` is the inner loop."""
    for item in items:
        if "prefect_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def prefect_server():
    """One ephemeral Prefect API for the whole session (it costs ~10 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
