"""Production builds: cache hits, template re-render from cached reads, SIGKILL resume,
identical bytes on every task runner, and a cron schedule that fires on a real server."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from flows.build import is_transient, run_build
from flows.config import make_config
from generators import pipeline
from generators.cache import CACHE_DIRNAME, DONE
from generators.dataset import file_sha256, read_stage
from generators.errors import InputError
from generators.publish import RUN_KEYS

REPO = Path(__file__).resolve().parents[1]
#: Two recordings of the embedded sample (a train and a test user), stage 2, two classes:
#: small enough to build in seconds, with two tasks so a kill can land between them. The
#: pass-rate floor is off because these tests are about orchestration, not the checks.
SMALL = dataclasses.replace(
    make_config("uci_har", stage="2", reader_options={"experiments": [1, 5]},
                trend_method="sensorllm"),
    classes=(1, 4), min_pass_rate=0.0)
N_RECORDINGS = 2


def _boom(*_args, **_kwargs):
    raise AssertionError("this stage should have been served from the cache")


def _digests(dataset_dir: Path) -> dict[str, str]:
    return {str(p.relative_to(dataset_dir)): file_sha256(p)
            for p in sorted(dataset_dir.rglob("*.parquet"))}


def _manifest(dataset_dir: Path) -> dict:
    m = json.loads((dataset_dir / "manifest.json").read_text())
    return {k: v for k, v in m.items() if k not in RUN_KEYS}


def _finished_parts(out: Path) -> list[Path]:
    """Markers of finished cache entries (not of the hidden ones still being filled)."""
    return sorted(p for p in (out / CACHE_DIRNAME / "parts").glob(f"*/{DONE}")
                  if not p.parent.name.startswith("."))


@pytest.fixture(scope="module")
def first(prefect_server, tmp_path_factory) -> tuple[Path, dict]:
    """One cold build of ``SMALL`` (1 thread): the reference for every other test."""
    out = tmp_path_factory.mktemp("first")
    return out, run_build(SMALL, out=str(out))


def test_cold_build_misses_every_recording(first):
    out, summary = first
    assert summary["warnings"] == []  # SMALL's test subject 3 is in experiment 5
    # The demo's recordings are shorter than a shard: one shard (one task) each.
    assert summary["cache"] == {"recordings": N_RECORDINGS, "shards": N_RECORDINGS, "hits": 0,
                                "misses": N_RECORDINGS}
    assert not summary["up_to_date"]
    manifest = _manifest(out / SMALL.dataset)
    assert set(manifest["files"]) == set(_digests(out / SMALL.dataset))
    assert manifest["files"] == _digests(out / SMALL.dataset)
    assert len(_finished_parts(out)) == N_RECORDINGS


def test_rebuild_reads_and_renders_nothing(first, monkeypatch):
    out, summary = first
    before = (out / SMALL.dataset / "manifest.json").read_bytes()
    monkeypatch.setattr(pipeline, "recordings", _boom)
    monkeypatch.setattr(pipeline, "describe", _boom)
    again = run_build(SMALL, out=str(out))
    assert again["cache"]["hits"] == N_RECORDINGS
    assert again["up_to_date"]
    assert again["counts"] == summary["counts"]
    assert (out / SMALL.dataset / "manifest.json").read_bytes() == before


def test_template_change_rerenders_from_cached_recordings(first, tmp_path, monkeypatch):
    out, summary = first
    shutil.copytree(out / CACHE_DIRNAME, tmp_path / CACHE_DIRNAME)
    overlay = tmp_path / "templates"
    overlay.mkdir()
    text = (REPO / "templates" / "activity.yaml").read_text()
    version = int(re.search(r"^version: (\d+)", text, re.M)[1])
    (overlay / "activity.yaml").write_text(
        re.sub(r"^version: \d+", f"version: {version + 1}", text, flags=re.M))
    monkeypatch.setattr(pipeline, "recordings", _boom)  # raw files must not be read again
    changed = run_build(dataclasses.replace(SMALL, templates_dir=str(overlay)), out=str(tmp_path))
    assert changed["cache"]["misses"] == N_RECORDINGS
    assert changed["counts"] == summary["counts"]
    rows = read_stage(tmp_path / SMALL.dataset, 2, columns=["qa_type", "template_version"])
    versions = {v for q, v in zip(rows["qa_type"].to_pylist(),
                                  rows["template_version"].to_pylist()) if q == "activity"}
    assert versions == {str(version + 1)}


def test_absent_test_subjects_are_told_not_silently_left_out():
    from generators.publish import split_warnings

    cfg = dataclasses.replace(SMALL, test_subjects=("3", "99"))
    assert split_warnings(cfg, ["1", "3"]) == [
        "test subjects ['99'] are not among the recordings' subjects ['1', '3']"]
    assert split_warnings(dataclasses.replace(cfg, test_subjects=("99",)), ["1", "3"]) == [
        "test subjects ['99'] are not among the recordings' subjects ['1', '3']; the test "
        "split is empty"]
    assert split_warnings(dataclasses.replace(cfg, test_subjects=()), ["1"]) == []


def test_missing_input_fails_before_the_flow_starts(tmp_path, monkeypatch):
    import flows.build

    monkeypatch.setattr(flows.build, "build_dataset", _boom)  # no flow, no Prefect API
    with pytest.raises(InputError, match="input path does not exist") as caught:
        run_build(dataclasses.replace(SMALL, input=str(tmp_path / "typo")), out=str(tmp_path))
    assert caught.value.path == str(tmp_path / "typo")


@pytest.mark.e2e
def test_template_mistake_stops_the_build_before_describing(tmp_path, monkeypatch):
    overlay = tmp_path / "templates"
    overlay.mkdir()
    text = (REPO / "templates" / "counting.yaml").read_text()
    version = int(re.search(r"^version: (\d+)", text, re.M)[1])
    text = re.sub(r"^version: \d+", f"version: {version + 1}", text, flags=re.M)
    (overlay / "counting.yaml").write_text(
        text.replace("name: count\n    question: \"Count", "name: count\n    question: \"Count "
                     "{{ n_segmnts }}", 1))
    monkeypatch.setattr(pipeline, "recordings", _boom)
    monkeypatch.setattr(pipeline, "describe", _boom)
    with pytest.raises(InputError) as caught:
        run_build(dataclasses.replace(SMALL, templates_dir=str(overlay)), out=str(tmp_path / "out"))
    assert caught.value.path == str(overlay / "counting.yaml")
    assert caught.value.field == "variant count"
    assert "undeclared variable 'n_segmnts'" in caught.value.message
    assert not (tmp_path / "out" / SMALL.dataset).exists()


_KILLED_BUILD = """
import dataclasses, sys
from flows.build import run_build
from flows.config import make_config
cfg = dataclasses.replace(
    make_config("uci_har", stage="2", reader_options={"experiments": [1, 5]},
                trend_method="sensorllm"),
    classes=(1, 4), min_pass_rate=0.0)
run_build(cfg, out=sys.argv[1])
"""


def _api_env() -> dict:
    from prefect.settings import get_current_settings

    env = dict(os.environ, PYTHONPATH=str(REPO))
    env["PREFECT_API_URL"] = get_current_settings().api.url  # the test server, not a new one
    return env


@pytest.mark.parametrize(("exc", "retried"), [
    (OSError(errno.ENOSPC, "No space left on device"), False),
    (OSError(errno.EDQUOT, "Disk quota exceeded"), False),
    (OSError(errno.ENAMETOOLONG, "File name too long"), False),
    (PermissionError(errno.EACCES, "Permission denied"), False),
    (OSError(errno.EROFS, "Read-only file system"), False),
    (FileNotFoundError(errno.ENOENT, "No such file or directory"), False),
    (InputError("a.csv", "expected a number", line=3), False),
    (ValueError("a bug"), False),
    (OSError(errno.EIO, "Input/output error"), True),
    (OSError(errno.ESTALE, "Stale file handle"), True),
    (BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable"), True),
    (TimeoutError(), True),
    (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), True),
])
def test_only_what_may_pass_is_retried(exc, retried):
    assert is_transient(exc) is retried


@pytest.mark.parametrize("moment", ["after_first_part", "while_staging"])
def test_sigkill_then_rerun_gives_the_uninterrupted_dataset(first, tmp_path, moment):
    ref_out, _ = first
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_BUILD, str(tmp_path)],
                            env=_api_env(), cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    staging = tmp_path / f".{SMALL.dataset}.staging"
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and proc.poll() is None:
            if moment == "after_first_part" and _finished_parts(tmp_path):
                break
            if moment == "while_staging" and any(staging.rglob("*.parquet")):
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the build ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    # Readers see no dataset at all, never a partial one.
    assert not (tmp_path / SMALL.dataset).exists()
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == []
    resumed = run_build(SMALL, out=str(tmp_path))
    assert resumed["cache"]["hits"] >= 1
    assert _digests(tmp_path / SMALL.dataset) == _digests(ref_out / SMALL.dataset)
    assert _manifest(tmp_path / SMALL.dataset) == _manifest(ref_out / SMALL.dataset)
    assert not staging.exists()


def _cmdline(proc) -> str:
    import psutil

    try:
        return " ".join(proc.cmdline())
    except psutil.Error:  # ended, or a zombie
        return ""


@pytest.mark.e2e
@pytest.mark.parametrize("args", [[], ["--workers", "2", "--pool", "process"],
                                  ["--dask-local", "2"]], ids=["threads", "processes", "dask"])
def test_a_killed_build_leaves_no_process_running(tmp_path, args):
    import psutil

    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("PREFECT_API_URL", None)  # the build starts its own API server, as a user's does
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "flows.cli", "build", "--out", str(out),
                             *args], env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    build = psutil.Process(proc.pid)
    try:
        # Killed once its API server is up and, with workers, once one has written a
        # part (so the pool or cluster is running, not still starting).
        deadline, descendants = time.monotonic() + 600, []
        while time.monotonic() < deadline and proc.poll() is None:
            descendants = build.children(recursive=True)
            server = any("uvicorn" in _cmdline(p) for p in descendants)
            if server and (not args or _finished_parts(out)):
                break
            time.sleep(0.2)
        descendants = build.children(recursive=True)
        assert proc.poll() is None, "the build ended before it could be killed"
        assert len(descendants) >= (1 if not args else 3)  # the server (+ 2 workers)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    _, alive = psutil.wait_procs(descendants, timeout=20)
    left = [(p.pid, _cmdline(p)[:100]) for p in alive]
    for p in alive:
        p.kill()
    assert left == []


@pytest.mark.parametrize("runner", [{"workers": 2, "pool": "thread"},
                                    {"workers": 2, "pool": "process"},
                                    {"dask_local": 2}], ids=["threads", "processes", "dask"])
def test_every_runner_writes_the_same_bytes(first, tmp_path, runner):
    ref_out, _ = first
    out = tmp_path / "out"
    shutil.copytree(ref_out, out)
    shutil.rmtree(out / CACHE_DIRNAME / "parts")  # recompute every part on this runner
    summary = run_build(SMALL, out=str(out), **runner)
    assert summary["cache"]["misses"] == N_RECORDINGS
    # Up to date means: the recomputed parts equal the published ones byte for byte.
    assert summary["up_to_date"]
    markers = [json.loads(p.read_text()) for p in _finished_parts(out)]
    recomputed = {rel: d for m in markers for rel, d in m["files"].items()}
    assert recomputed == _digests(ref_out / SMALL.dataset)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout_s: float, what: str, procs=()):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for p in procs:
            assert p.poll() is None, f"{p.args[:4]} exited with {p.returncode} while waiting for {what}"
        value = predicate()
        if value:
            return value
        time.sleep(2)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.slow
@pytest.mark.e2e
def test_cron_schedule_fires_on_a_local_server(tmp_path):
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = dict(os.environ, PYTHONPATH=str(REPO), PREFECT_HOME=str(tmp_path / "prefect-home"),
               PREFECT_API_URL=api, PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="5",
               PREFECT_RUNNER_POLL_FREQUENCY="5")
    log = open(tmp_path / "server.log", "wb")
    server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host",
                               "127.0.0.1", "--port", str(port)], env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    served = None
    try:
        _wait(lambda: _healthy(api), 180, "the Prefect server", [server])
        params = {"preset": "uci_har", "out": str(tmp_path / "out"), "stage": "2",
                  "reader_options": {"experiments": [1]}, "trend_method": "sensorllm",
                  "min_pass_rate": 0.0}
        script = ("import json, sys; from flows.serve import serve_build; "
                  "serve_build(json.loads(sys.argv[1]), '* * * * *', 'harqa-test')")
        served = subprocess.Popen([sys.executable, "-c", script, json.dumps(params)], env=env,
                                  cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        deployment = _wait(lambda: _deployment(api, "harqa-test"), 120, "the deployment",
                           [server, served])
        assert deployment["schedules"][0]["schedule"]["cron"] == "* * * * *"
        run = _wait(lambda: _completed_run(api, deployment["id"]), 420,
                    "a scheduled run to complete", [server, served])
        assert run["auto_scheduled"]
        assert (tmp_path / "out" / "uci_har" / "manifest.json").is_file()
    finally:
        if served is not None:
            _stop(served)
        _stop(server)
        log.close()


def _healthy(api: str) -> bool:
    try:
        return httpx.get(f"{api}/health", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def _deployment(api: str, name: str) -> dict | None:
    found = httpx.post(f"{api}/deployments/filter",
                       json={"deployments": {"name": {"any_": [name]}}}, timeout=10).json()
    return found[0] if found else None


def _completed_run(api: str, deployment_id: str) -> dict | None:
    runs = httpx.post(f"{api}/flow_runs/filter", timeout=10, json={
        "deployments": {"id": {"any_": [deployment_id]}},
        "flow_runs": {"state": {"type": {"any_": ["COMPLETED", "FAILED", "CRASHED"]}}},
    }).json()
    for run in runs:
        assert run["state"]["type"] == "COMPLETED", f"scheduled run ended {run['state']}"
        return run
    return None


def test_prefect_yaml_declares_the_demo_and_every_preset():
    import importlib
    import inspect

    import yaml
    from prefect.client.schemas.schedules import CronSchedule

    from generators import presets

    spec = yaml.safe_load((REPO / "prefect.yaml").read_text())
    deployments = {d["name"]: d for d in spec["deployments"]}
    assert set(deployments) == {"demo", *presets.names()}
    for d in deployments.values():
        module, name = d["entrypoint"].split(":")
        flow = getattr(importlib.import_module(module.removesuffix(".py").replace("/", ".")), name)
        inspect.signature(flow.fn).bind(**d["parameters"])
        assert d["parameters"]["preset"] in presets.names()
        assert d["schedules"] and all(CronSchedule(cron=s["cron"]) for s in d["schedules"])
        assert d["work_pool"]["name"] == "harqa-local"
    assert "input" not in deployments["demo"]["parameters"]  # the embedded sample
