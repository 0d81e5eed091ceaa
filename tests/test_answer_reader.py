"""The answer reader on the class names users bring: every preset's, and punctuation and
non-ASCII; a swapped name is still caught."""

from __future__ import annotations

import importlib
import re

import numpy as np
import pyarrow as pa
import pytest

from generators import dataset, pipeline, presets, qa, text
from generators.config import BuildConfig
from generators.readers import capture24
from generators.types import Channel, Recording
from validation import semantic
from validation.checks._signal import activity_words

USER_NAMES = ["knees bending (crouching)", "Rock & Roll", "sit/stand", "rock 'n' roll",
              'say "cheese"', "Café au lait", "Fußball üben", "步行", "jump-rope (fast), then rest",
              "a.b; c"]
"""A tabular spec's class names: brackets, & / ' ", commas, stops and non-ASCII."""


def _preset_names(name: str) -> list[str]:
    """The official class names a preset's reader gives its labels."""
    preset = presets.load(name)
    if preset.reader == "capture24":
        return list(capture24.scheme_labels(preset.reader_options["scheme"])[1].values())
    if preset.reader == "uci_har":
        labels = pipeline.SAMPLE_DIR / "uci_har" / "activity_labels.txt"
        return [line.split(None, 1)[1] for line in labels.read_text().splitlines() if line]
    return list(importlib.import_module(f"generators.readers.{preset.reader}")
                .LABEL_NAMES.values())


CLASS_SETS = {**{p: _preset_names(p) for p in presets.names()}, "user": USER_NAMES}


def _table(names: list[str]) -> pa.Table:
    """Stage-2 activity and transition rows of a recording that runs through every class
    in turn (a transition window at every change)."""
    rate, run = 20.0, 48
    n = run * len(names)
    t = np.arange(n) / rate
    noise = np.random.default_rng(0).standard_normal((n, 3))
    values = np.stack([1.0 + 0.2 * np.sin(2 * np.pi * 1.3 * t), 0.1 * np.sin(2 * np.pi * t),
                       0.05 * np.cos(2 * np.pi * 0.7 * t)], axis=1) + 0.01 * noise
    channels = tuple(Channel(f"wrist_acc_{a}", "wrist", "acc", a, "g") for a in "xyz")
    rec = Recording("user", "r1", "1", rate, channels, values.astype(np.float32),
                    np.repeat(np.arange(1, len(names) + 1), run).astype(np.int32),
                    {i: name for i, name in enumerate(names, start=1)})
    cfg = BuildConfig(dataset="user", reader="uci_har", classes=None, sample_rate_hz=rate,
                      stages=(2,), stage2_window=32, stage2_stride=16)
    packs = text.load_packs()
    items = [it for ctx in pipeline.contexts(rec, cfg, pipeline.cut(rec, cfg))
             for it in qa.build_items(ctx, ["activity", "transition"], packs,
                                      cfg.trend_method, cfg.seed)]
    return dataset.items_to_table(items, rec, cfg.trend_params)


def _only_wrong(table: pa.Table, i: int, answer: str) -> list[str]:
    """The checks that reject the table with row ``i``'s answer replaced (no other row may
    be rejected)."""
    answers = table["answer"].to_pylist()
    answers[i] = answer
    _, bad = semantic.check_table(table.set_column(
        table.schema.get_field_index("answer"), "answer", pa.array(answers, pa.string())))
    assert bad["row_id"].to_pylist() == [table["row_id"][i].as_py()], bad["reason"].to_pylist()
    return bad["check"].to_pylist()


@pytest.mark.parametrize("which", sorted(CLASS_SETS))
def test_every_class_name_reads_back_and_a_swap_is_caught(which):
    """Activity and transition answers naming every class of every preset, and names with
    ( ) & / ' " , . ; and non-ASCII, pass; another class (or none of them) is rejected."""
    names = CLASS_SETS[which]
    table = _table(names)
    types, answers = table["qa_type"].to_pylist(), table["answer"].to_pylist()
    said = sorted({a.lower() for a, q in zip(answers, types) if q == "activity"})
    assert len(said) == len(names)  # every class is named by some row
    _, rejected = semantic.check_table(table)
    assert rejected.num_rows == 0, rejected["reason"].to_pylist()[:3]
    i = types.index("activity")
    other = next(a for a in said if a != answers[i].lower())
    assert _only_wrong(table, i, other) == ["activity.label"]
    assert _only_wrong(table, i, "swimming") == ["activity.structure"]
    for j, row in enumerate(table.to_pylist()):
        if row["qa_type"] != "transition":
            continue
        first, second = activity_words(row["activity"]), activity_words(row["next_activity"])
        if first not in second and second not in first:
            break
    other = next(a for a in said if not {a} & {first, second}
                 and a not in first + second and first not in a and second not in a)
    swapped = re.sub(rf"(?<!\w){re.escape(second)}(?!\w)", other, row["answer"], flags=re.I)
    assert swapped != row["answer"]
    assert _only_wrong(table, j, swapped) == ["transition.label"]
