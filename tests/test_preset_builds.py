"""Every preset builds rows from files in its dataset's original layout."""

from __future__ import annotations

import numpy as np
import pytest

from flows.config import make_config
from generators import presets, text
from generators.dataset import items_to_table
from generators.pipeline import cut, describe, recordings
from tests.test_readers import WRITERS
from validation import semantic


@pytest.mark.parametrize("preset", [p for p in presets.names() if p != "uci_har"])
def test_preset_generates_valid_rows_from_its_layout(preset, tmp_path):
    loaded = presets.load(preset)
    expected = WRITERS[loaded.reader](tmp_path, np.random.default_rng(3))
    subject = expected[-1].subject
    # Small fixture files: shrink the windows so that some fit, keep everything else.
    cfg = make_config(preset, input=tmp_path, test_subjects=subject)
    cfg = type(cfg)(**{**cfg.__dict__, "stage1_window": (5, 20), "stage2_window": 16,
                       "stage2_stride": 8, "classes": None})
    packs = text.load_packs()
    rows = 0
    for rec in recordings(cfg):
        assert rec.sample_rate_hz == loaded.sample_rate_hz
        if loaded.channels is not None:
            assert [c.name for c in rec.channels] == list(loaded.channels)
        windows = cut(rec, cfg)
        assert {w.split for w in windows} <= {"test" if rec.subject == subject else "train"}
        table = items_to_table(describe(rec, cfg, packs).items, rec, cfg.trend_params)
        accepted, rejected = semantic.check_table(table)
        assert rejected.num_rows == 0, rejected.column("reason").to_pylist()[:3]
        rows += accepted.num_rows
    assert rows > 0
