"""Commands that run no flow start no Prefect API: neither in process nor as a child."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests.conftest import SAMPLE

runner = CliRunner()


@pytest.fixture(scope="module")
def built(prefect_server, tmp_path_factory) -> Path:
    """A small dataset (two recordings, stage 2) built by a flow on the session's API."""
    from flows.build import run_build
    from flows.config import make_config

    cfg = dataclasses.replace(make_config("uci_har", stage="2",
                                          reader_options={"experiments": [1, 5]}),
                              classes=(1, 4), min_pass_rate=0.0)
    return Path(run_build(cfg, out=str(tmp_path_factory.mktemp("built")))["path"])


@pytest.fixture
def server_starts(monkeypatch) -> list:
    """No ``PREFECT_API_URL``, as for a user without a server; each start of Prefect's
    ephemeral API server (ours, :class:`flows.api_server.LifelineServer`, included) is
    recorded instead of made."""
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, temporary_settings

    starts: list = []
    monkeypatch.setattr(SubprocessASGIServer, "start", lambda self, *a, **kw: starts.append(self))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        yield starts


def _series_csv(ws: Path) -> Path:
    path = ws / "series.csv"
    path.write_text("x\n" + "\n".join(str(i % 7) for i in range(200)) + "\n")
    return path


def _servers() -> set[int]:
    import psutil

    return {p.pid for p in psutil.Process().children(recursive=True)
            if "uvicorn" in " ".join(p.cmdline())}


@pytest.mark.parametrize("args", [
    ["datasets"],
    ["inspect", "--input", str(SAMPLE)],
    ["templates", "list"],
    ["templates", "lint"],
    ["templates", "preview", "trend_summary", "--n", "1"],
], ids=["datasets", "inspect", "templates-list", "templates-lint", "templates-preview"])
def test_a_command_without_a_flow_starts_no_prefect_server(args, server_starts):
    before = _servers()
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert server_starts == [] and _servers() <= before


def test_trends_starts_no_prefect_server(tmp_path, server_starts):
    result = runner.invoke(app, ["trends", "--input", str(_series_csv(tmp_path)), "--rate", "50"])
    assert result.exit_code == 0, result.output
    assert server_starts == []


@pytest.mark.parametrize("args", [
    lambda d, ws: ["validate", str(d)],
    lambda d, ws: ["export", str(d), "--format", "jsonl", "--out", str(ws / "x")],
], ids=["validate", "export"])
def test_a_command_on_a_dataset_starts_no_prefect_server(built, args, tmp_path, server_starts):
    before = _servers()  # the session's test API, which built the dataset
    result = runner.invoke(app, args(built, tmp_path))
    assert result.exit_code == 0, result.output
    assert server_starts == [] and _servers() <= before
