"""The build cache on failure: no temporary entry survives an attempt, and a failed build's
additions can be taken back to what the cache held before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from generators.cache import CACHE_DIRNAME, BuildCache
from generators.errors import InputError
from generators.types import Channel, Recording


def _recording(i: int) -> Recording:
    values = np.arange(60, dtype=np.float32).reshape(20, 3) + i
    return Recording("toy", f"r{i}", "1", 10.0,
                     tuple(Channel(f"wrist_acc_{a}", "wrist", "acc", a, "g") for a in "xyz"),
                     values, np.zeros(20, dtype=np.int32), {0: "walking"}, (), {})


def _tree(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


def test_a_failing_read_leaves_no_temporary_entry(tmp_path):
    cache = BuildCache(tmp_path)

    def read():
        yield _recording(0)  # staged in the temporary entry before the error
        raise InputError("data.csv", "expected a number", line=3)

    with pytest.raises(InputError, match="line 3"):
        cache.stage_recordings("k1", "s", read)
    assert list((tmp_path / CACHE_DIRNAME / "recordings").iterdir()) == []


def test_restore_takes_back_what_a_build_added(tmp_path):
    cache = BuildCache(tmp_path)
    cache.stage_recordings("k1", "s", lambda: iter([_recording(0)]))
    (cache.root / "file-hashes.json").write_text('{"a": 1}')
    with cache.locked():
        before = _tree(cache.root)
        state = cache.state()
        cache.stage_recordings("k2", "s", lambda: iter([_recording(1), _recording(2)]))
        (cache.root / "file-hashes.json").write_text('{"a": 1, "b": 2}')
        with cache.new_entry(cache.parts_dir("p1")) as tmp:
            (tmp / "x.parquet").write_bytes(b"half")
            cache.restore(state)
    assert _tree(cache.root) == before


def test_restore_of_a_cache_that_was_not_there_removes_it(tmp_path):
    cache = BuildCache(tmp_path / "out")
    state = cache.state()
    with cache.locked():
        cache.stage_recordings("k1", "s", lambda: iter([_recording(0)]))
        cache.restore(state)
    assert not cache.root.exists()
