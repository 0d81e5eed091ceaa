"""Shared fixtures (the real data directory, one Prefect test server per session) and the
``e2e`` tier: every test that uses that server."""

from __future__ import annotations

import functools
import itertools
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


def described_sample(method: str = "robust", recording: int = 0) -> tuple:
    """(recording, build config, rows) of the embedded sample's recording number
    ``recording`` described with trend ``method`` and default settings, once per session.

    Several modules check the same generated rows; they share these and must not change
    them (the rows are frozen; leave the recording's arrays alone).
    """
    return _described(method, recording)


@functools.cache
def _described(method: str, recording: int) -> tuple:
    from generators import pipeline, text
    from generators.config import BuildConfig

    cfg = BuildConfig(trend_method=method)
    rec = next(itertools.islice(pipeline.recordings(cfg), recording, None))
    return rec, cfg, tuple(pipeline.describe(rec, cfg, text.load_packs()).items)


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
