"""The command line's bad-input catalogue: every command refuses bad input with one line
naming what is wrong, a fixed exit code, nothing new on disk and no process left running.

Each row is a :class:`Case`. To add one, append it to ``CASES`` (fast: run in-process by
typer's ``CliRunner``) or ``PROCESS_CASES`` (run as a real ``harqa`` process, when what
matters is the process: its stderr, its exit status, the processes it started). Reader-level
cases (a malformed file of each format) live in ``tests/test_bad_input.py``; here each
command is driven as a user would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from typer.testing import CliRunner

from flows.cli import app
from generators.dataset import file_sha256
from tests.conftest import REPO, SAMPLE

runner = CliRunner()


@dataclass(frozen=True)
class Case:
    """One bad invocation.

    Attributes:
        id: Test id.
        args: Given the case's workspace (an empty directory; ``<ws>/out`` is the ``--out``
            to use, ``<ws>/in`` a place for inputs), writes what the case needs there and
            returns the command line (without ``harqa``).
        code: Expected exit code (2: bad input, 1: a dataset that fails validation).
        words: Text the one output line must contain.
        flow: The command reaches a Prefect flow (the session's test API is started first,
            so the case does not start an ephemeral server of its own). Other cases run
            with no ``PREFECT_API_URL``, as for a user without a server, whether or not an
            earlier test started the session's.
    """

    id: str
    args: Callable[[Path], list[str]]
    code: int
    words: tuple[str, ...]
    flow: bool = False


def _file(ws: Path, rel: str, content: str) -> Path:
    path = ws / "in" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    return path


def _broken_hapt(ws: Path) -> Path:
    """A HAPT folder whose gyro file has a word in its last line."""
    _file(ws, "hapt/RawData/labels.txt", "1 1 5 1 10\n")
    _file(ws, "hapt/activity_labels.txt", "5 STANDING\n")
    _file(ws, "hapt/RawData/acc_exp01_user01.txt", "0 0 0\n" * 20)
    _file(ws, "hapt/RawData/gyro_exp01_user01.txt", "0 0 0\n" * 19 + "0 zero 0\n")
    return ws / "in" / "hapt"


def _csv(ws: Path) -> Path:
    return _file(ws, "series.csv", "t,x\n0,1\n1,2\n2,3\n3,2\n")


def _out(ws: Path) -> str:
    return str(ws / "out")


def _after(command: str, ws: Path) -> list[str]:
    """What a command needs after its dataset argument."""
    return ["--format", "jsonl", "--out", _out(ws)] if command == "export" else []


def _unbuilt(ws: Path) -> Path:
    """A dataset whose manifest lists a part that is not there."""
    return _file(ws, "ds/manifest.json", json.dumps(
        {"files": {"stage1/train/p.parquet": "0" * 64}, "counts": {"stage1/train": 3}})).parent


def _used_out(ws: Path) -> str:
    """An output root that holds an earlier dataset and cache (stand-ins: a failed build
    must leave them byte for byte)."""
    out = ws / "out"
    (out / ".harqa-cache" / "parts" / "k0").mkdir(parents=True)
    (out / ".harqa-cache" / "parts" / "k0" / "_done.json").write_text('{"files": {}}')
    (out / ".harqa-cache" / "file-hashes.json").write_text("{}")
    (out / "uci_har").mkdir()
    (out / "uci_har" / "manifest.json").write_text('{"files": {}}')
    return str(out)


CASES = [
    # build: settings refused before any work starts.
    Case("build-unknown-preset", lambda ws: ["build", "--preset", "nope", "--out", _out(ws)],
         2, ("unknown preset 'nope'; known: ",)),
    Case("build-stage", lambda ws: ["build", "--stage", "3", "--out", _out(ws)],
         2, ("--stage must be 1, 2 or all",)),
    Case("build-name-escapes", lambda ws: ["build", "--name", "../elsewhere", "--out", _out(ws)],
         2, ("dataset name '../elsewhere'",)),
    Case("build-missing-input",
         lambda ws: ["build", "--input", str(ws / "nowhere"), "--out", _out(ws)],
         2, ("nowhere: input path does not exist",)),
    Case("build-format", lambda ws: ["build", "--format", "yaml", "--out", _out(ws)],
         2, ("expected text or json, got 'yaml'",)),
    Case("build-pool", lambda ws: ["build", "--pool", "banana", "--out", _out(ws)],
         2, ("--pool", "expected thread or process, got 'banana'")),
    Case("build-unknown-option", lambda ws: ["build", "--sead", "1", "--out", _out(ws)],
         2, ("No such option: --sead",)),
    Case("build-not-a-number", lambda ws: ["build", "--seed", "one", "--out", _out(ws)],
         2, ("Invalid value for '--seed'",)),
    # Rich would read '[/]' in a path as markup and eat the message.
    Case("build-markup-in-path",
         lambda ws: ["build", "--input", str(ws / "in" / "a[/]b"), "--out", _out(ws)],
         2, ("a[/]b: input path does not exist",)),
    Case("build-unknown-trend-method",
         lambda ws: ["build", "--trend-method", "bogus", "--out", _out(ws)],
         2, ("unknown trend method 'bogus'; known: robust, sensorllm",)),
    Case("build-shard-zero", lambda ws: ["build", "--shard-s", "0", "--out", _out(ws)],
         2, ("shard_s", "positive")),
    Case("build-shard-negative", lambda ws: ["build", "--shard-s", "-5", "--out", _out(ws)],
         2, ("shard_s", "positive")),
    # build: bad input found by the reader inside the flow; --out stays as it was.
    Case("build-reader-error",
         lambda ws: ["build", "--input", str(_broken_hapt(ws)), "--out", _out(ws)],
         2, ("gyro_exp01_user01.txt, line 20, field 'column 2': expected a number",),
         flow=True),
    Case("build-reader-error-used-out",
         lambda ws: ["build", "--input", str(_broken_hapt(ws)), "--out", _used_out(ws)],
         2, ("gyro_exp01_user01.txt, line 20", "expected a number"), flow=True),
    # datasets / inspect
    Case("datasets-format", lambda ws: ["datasets", "--format", "yaml"],
         2, ("expected text or json, got 'yaml'",)),
    Case("inspect-missing-input", lambda ws: ["inspect", "--input", str(ws / "nowhere")],
         2, ("nowhere",)),
    Case("inspect-unknown-preset",
         lambda ws: ["inspect", "--preset", "nope", "--input", str(SAMPLE)],
         2, ("unknown preset or reader 'nope'",)),
    Case("inspect-format", lambda ws: ["inspect", "--input", str(SAMPLE), "--format", "yaml"],
         2, ("expected text or json, got 'yaml'",)),
    Case("inspect-markup-in-path", lambda ws: ["inspect", "--input", str(ws / "[bold]x[/]")],
         2, ("[bold]x[/]",)),
    Case("inspect-reader-error", lambda ws: ["inspect", "--input", str(_broken_hapt(ws))],
         2, ("gyro_exp01_user01.txt, line 20", "expected a number")),
    # trends
    Case("trends-rate-nan", lambda ws: ["trends", "--input", str(_csv(ws)), "--rate", "nan"],
         2, ("--rate",)),
    Case("trends-rate-inf", lambda ws: ["trends", "--input", str(_csv(ws)), "--rate", "inf"],
         2, ("--rate", "from 0.001 to 1e+06 Hz, got inf")),
    Case("trends-rate-tiny", lambda ws: ["trends", "--input", str(_csv(ws)), "--rate", "1e-300"],
         2, ("--rate", "from 0.001 to 1e+06 Hz, got 1e-300")),
    Case("trends-rate-zero", lambda ws: ["trends", "--input", str(_csv(ws)), "--rate", "0"],
         2, ("--rate", "got 0")),
    Case("trends-markup-in-path",
         lambda ws: ["trends", "--input", str(ws / "[red]s[/].csv"), "--rate", "50"],
         2, ("[red]s[/].csv", "cannot read CSV")),
    Case("trends-unknown-method",
         lambda ws: ["trends", "--input", str(_csv(ws)), "--rate", "50", "--method", "nope"],
         2, ("unknown trend method 'nope'",)),
    Case("trends-missing-file",
         lambda ws: ["trends", "--input", str(ws / "nowhere.csv"), "--rate", "50"],
         2, ("nowhere.csv", "cannot read CSV")),
    # templates
    Case("templates-preview-n", lambda ws: ["templates", "preview", "counting", "--n", "-3"],
         2, ("greater than or equal to 1",)),
    Case("templates-unknown-command", lambda ws: ["templates", "lnit"],
         2, ("No such command 'lnit'",)),
    Case("templates-preview-unknown", lambda ws: ["templates", "preview", "nope"],
         2, ("unknown QA type 'nope'",)),
    Case("templates-lint-missing-dir", lambda ws: ["templates", "lint", str(ws / "nowhere")],
         2, ("nowhere", "does not exist")),
    Case("templates-lint-a-file", lambda ws: ["templates", "lint", str(_csv(ws))],
         2, ("is a file",)),
    # validate / verify / export / report on what is not a dataset built by harqa build
    Case("validate-format", lambda ws: ["validate", str(ws), "--format", "yaml"],
         2, ("expected text or json, got 'yaml'",)),
    *(Case(f"{command}-{what}", lambda ws, c=command, at=at: [c, str(at(ws)), *_after(c, ws)],
           2, ("no manifest.json; expected a dataset built by harqa build",))
      for command in ("validate", "verify", "export", "report")
      for what, at in (("not-a-dataset", lambda ws: ws), ("a-file", lambda ws: _csv(ws)),
                       ("missing", lambda ws: ws / "nowhere"))),
    Case("export-invalid-dataset",
         lambda ws: ["export", str(_unbuilt(ws)), "--format", "jsonl", "--out", _out(ws)],
         1, ("fails validation: stage1/train/p.parquet: missing (listed in manifest.json)",
             "--allow-invalid")),
    # serve: schedules need a server
    Case("serve-no-server", lambda ws: ["serve", "--cron", "0 3 * * *", "--out", _out(ws)],
         2, ("schedules need a running Prefect server",)),
]


def _tree(root: Path) -> dict[str, str]:
    """Every path under ``root`` (hidden ones too) with its content's digest, to compare
    before/after."""
    return {str(p.relative_to(root)): (file_sha256(p) if p.is_file() else "dir")
            for p in sorted(root.rglob("*"))}


def _one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got {len(lines)}:\n{output}"
    return lines[0]


def _live_children() -> set[int]:
    import psutil

    return {p.pid for p in psutil.Process().children(recursive=True)
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE}


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=[pytest.mark.e2e] * c.flow)
                                  for c in CASES])
def test_cli_refuses_bad_input(case: Case, tmp_path: Path, request):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if case.flow:
        request.getfixturevalue("prefect_server")
    args = case.args(tmp_path)
    before, children = _tree(tmp_path), _live_children()
    with temporary_settings(restore_defaults=set() if case.flow else {PREFECT_API_URL}):
        result = runner.invoke(app, args)
    line = _one_line(result.output)
    assert result.exit_code == case.code, result.output
    assert "Traceback" not in result.output
    for words in case.words:
        assert words in line
    assert _tree(tmp_path) == before, "the command left files behind"
    assert _live_children() <= children, "the command left a process running"


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A 256 KiB tmpfs: the build's first staged recording fills it."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)]
    if subprocess.run(mount, capture_output=True).returncode:
        pytest.skip("mounting a tmpfs needs root")
    yield disk
    subprocess.run(["umount", str(disk)], check=True)


def test_a_full_disk_fails_at_once_and_leaves_nothing(tiny_disk: Path, prefect_server):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterName
    from prefect.client.schemas.sorting import TaskRunSort

    out = tiny_disk / "out"
    result = runner.invoke(app, ["build", "--out", str(out)])
    line = _one_line(result.output)
    assert result.exit_code == 2, result.output
    assert str(out) in line and line.endswith("No space left on device")
    assert list(tiny_disk.iterdir()) == []  # no dataset, cache, staging or temporary entry
    with get_client(sync_client=True) as client:
        [staging] = client.read_task_runs(
            task_run_filter=TaskRunFilter(name=TaskRunFilterName(like_="stage_recordings")),
            sort=TaskRunSort.EXPECTED_START_TIME_DESC, limit=1)
    assert staging.run_count == 1  # no retry of what fails the same way every time


#: Runs a command as a subreaper: whatever it starts and leaves behind becomes this
#: wrapper's child, is reported by PID and command line, and is killed.
_REAPER = """
import ctypes, json, subprocess, sys, time
import psutil
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
deadline, left = time.monotonic() + 5, []
while time.monotonic() < deadline:
    left = [p for p in psutil.Process().children(recursive=True)
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    if not left:
        break
    time.sleep(0.2)
report = [{"pid": p.pid, "cmdline": p.cmdline()} for p in left]
for p in left:
    p.kill()
print(json.dumps({"code": done.returncode, "stdout": done.stdout, "stderr": done.stderr,
                  "left": report}))
"""


def run_harqa(args: list[str], cwd: Path, timeout_s: float = 300) -> dict:
    """Run ``harqa ARGS`` as a process and report its exit code, output and the processes
    it left running (``left``: PID and command line of each, killed afterwards)."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("PREFECT_API_URL", None)  # the command starts its own API, as a user's does
    done = subprocess.run([sys.executable, "-c", _REAPER, sys.executable, "-m", "flows.cli",
                           *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=timeout_s)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


PROCESS_CASES = [
    Case("process-build-pool", lambda ws: ["build", "--pool", "banana", "--out", _out(ws)],
         2, ("--pool", "expected thread or process")),
    Case("process-build-reader-error",
         lambda ws: ["build", "--input", str(_broken_hapt(ws)), "--out", _out(ws)],
         2, ("gyro_exp01_user01.txt, line 20", "expected a number")),
]


@pytest.mark.e2e
@pytest.mark.parametrize("case", PROCESS_CASES, ids=lambda c: c.id)
def test_cli_process_refuses_bad_input(case: Case, tmp_path: Path):
    args = case.args(tmp_path)
    before = _tree(tmp_path)
    done = run_harqa(args, cwd=tmp_path)
    line = _one_line(done["stderr"])
    assert done["code"] == case.code, done["stderr"]
    for words in case.words:
        assert words in line
    assert done["stdout"] == ""
    assert done["left"] == [], "processes left running"
    assert _tree(tmp_path) == before, "the command left files behind"
