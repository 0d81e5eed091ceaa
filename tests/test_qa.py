"""QA builders: facts on signals with known answers, row ids, and golden renderings."""

from __future__ import annotations

import json

import numpy as np
import pytest

from generators.features import summarize
from generators.qa import (QA_TYPES, QAContext, build_items, builders_for_stage, example_context,
                           facts_for, lint_contexts)
from generators.qa._common import correlation_words, humanize, same_sensor_pairs, sensor_name
from generators.registry import UnknownNameError
from generators.text import load_packs
from generators.types import Channel, Window

PACKS = load_packs()
ACC = tuple(Channel(f"waist_acc_{a}", "waist", "acc", a, "g") for a in "xyz")
GYRO = tuple(Channel(f"waist_gyro_{a}", "waist", "gyro", a, "rad/s") for a in "xyz")


def context(values, channels=ACC, rate=10.0, activity="WALKING_UPSTAIRS", stage=1) -> QAContext:
    values = np.asarray(values, dtype=np.float32).reshape(len(values), -1)
    window = Window("ds/rec/1/0-9", "rec", "1", 0, len(values), activity, 2, "train", stage)
    summaries = tuple(summarize(values[:, i], rate, ch, "sensorllm") for i, ch in enumerate(channels))
    return QAContext("ds", window, values, channels, rate, summaries, ("WALKING",), 0)


# A rise over 0.0–0.2 s, flat 0.2–0.3 s, fall 0.3–0.4 s (10 Hz).
RISE_FLAT_FALL = [[0.0, 1, 5], [1.0, 1, 4], [2.0, 1, 3], [2.0, 1, 2], [1.0, 1, 1]]


def test_trend_summary_facts_on_known_signal():
    facts = list(facts_for("trend_summary", context(RISE_FLAT_FALL)))
    assert [f.channels for f in facts] == [("waist_acc_x",), ("waist_acc_y",), ("waist_acc_z",)]
    assert facts[0].values == {
        "sensor": "waist x-axis accelerometer", "unit": "g", "start_s": 0.0, "end_s": 0.4,
        "n_trends": 3, "n_changes": 3,
        "times": [{"dir": "down", "seconds": 0.1}, {"dir": "up", "seconds": 0.2},
                  {"dir": "steady", "seconds": 0.1}],
        "overall": "up"}
    # A single segment: the seed states no overall trend.
    assert facts[1].values["n_changes"] == 1 and facts[1].values["overall"] is None
    assert facts[2].values["times"] == [{"dir": "down", "seconds": 0.4}]


def test_overall_trend_is_sign_of_summed_differences():
    facts = next(facts_for("trend_summary", context([[0.0], [3.0], [-1.0]], ACC[:1])))
    assert facts.values["overall"] == "down"
    facts = next(facts_for("trend_summary", context([[0.0], [3.0], [0.0]], ACC[:1])))
    assert facts.values["overall"] == "steady"


def test_trend_analysis_facts_on_known_signal():
    values = [[0.0], [1.0], [0.0], [1.0], [2.0], [2.0]]
    facts = next(facts_for("trend_analysis", context(values, ACC[:1])))
    assert facts.values["segments"] == [
        {"t0": 0.0, "t1": 0.1, "dir": "up"}, {"t0": 0.1, "t1": 0.2, "dir": "down"},
        {"t0": 0.2, "t1": 0.4, "dir": "up"}, {"t0": 0.4, "t1": 0.5, "dir": "steady"}]
    assert facts.values["counts"] == [{"dir": "up", "n": 2}, {"dir": "down", "n": 1},
                                      {"dir": "steady", "n": 1}]
    assert facts.values["n_trends"] == 3


def test_activity_facts_on_known_signal():
    t = np.arange(20)
    values = np.stack([t, 2 * t, -t, np.sin(t), np.cos(t), np.ones(20)], axis=1).astype(float)
    facts = next(facts_for("activity", context(values, ACC + GYRO, rate=20.0, stage=2)))
    v = facts.values
    assert facts.channels == tuple(c.name for c in ACC + GYRO)
    assert (v["n_channels"], v["n_samples"], v["duration_s"]) == (6, 20, 1.0)
    assert v["activity"] == "walking upstairs"
    assert v["channels"][0]["mean"] == 9.5 and v["channels"][0]["std"] == round(np.std(t), 3)
    pairs = [(p["a"], p["b"], p["r"], p["relation"]) for p in v["correlations"]]
    assert pairs[:3] == [
        ("waist x-axis accelerometer", "waist y-axis accelerometer", 1.0, "strong positive"),
        ("waist x-axis accelerometer", "waist z-axis accelerometer", -1.0, "strong negative"),
        ("waist y-axis accelerometer", "waist z-axis accelerometer", -1.0, "strong negative")]
    assert len(pairs) == 6  # three acc pairs, three gyro pairs; never acc with gyro
    assert pairs[4][2:] == (0.0, "negligible")  # constant gyro z: r defined as 0
    json.dumps(v)


@pytest.mark.parametrize("r, words", [
    (0.7, ("strong", "positive")), (0.69, ("moderate", "positive")), (-0.4, ("moderate", "negative")),
    (0.39, ("weak", "positive")), (-0.2, ("weak", "negative")), (0.19, ("negligible", "positive")),
    (0.0, ("negligible", "zero"))])
def test_correlation_words(r, words):
    assert correlation_words(r) == words


def test_same_sensor_pairs_skip_other_sensors_and_locations():
    ankle = Channel("ankle_acc_x", "left_ankle", "acc", "x", "g")
    assert same_sensor_pairs(ACC[:2] + GYRO[:1] + (ankle,)) == [(0, 1)]
    assert sensor_name(ankle) == "left-ankle x-axis accelerometer"
    assert humanize("WALKING_UPSTAIRS") == "walking upstairs"


@pytest.mark.parametrize("qa_type", QA_TYPES.names())
def test_every_qa_type_builds_renders_and_has_unique_ids(qa_type):
    items = [i for ctx in lint_contexts() for i in build_items(ctx, [qa_type], PACKS, "sensorllm", 3)]
    assert items, f"{qa_type} made no rows on the example windows"
    assert len({i.row_id for i in items}) == len(items)
    assert all(i.row_id.startswith(f"{i.window.window_id}/{qa_type}/") for i in items)
    assert all(i.template_id.startswith(f"{qa_type}/") for i in items)
    assert all(i.template_version == PACKS[qa_type].version for i in items)
    assert items == [i for ctx in lint_contexts()
                     for i in build_items(ctx, [qa_type], PACKS, "sensorllm", 3)]
    for item in items:
        json.dumps(dict(item.facts))
        assert "{{" not in item.question + item.answer and "{%" not in item.question + item.answer


@pytest.mark.parametrize("qa_type", QA_TYPES.names())
def test_every_qa_type_has_a_stage(qa_type):
    assert QA_TYPES[qa_type].STAGE in (1, 2)
    assert qa_type in builders_for_stage(QA_TYPES[qa_type].STAGE)


def test_missing_pack_is_named():
    with pytest.raises(UnknownNameError, match="trend_summary"):
        build_items(example_context(), ["trend_summary"], {}, "sensorllm", 0)


# Golden renderings: fixed facts + seed, word for word.
def test_golden_trend_summary():
    item = build_items(context(RISE_FLAT_FALL), ["trend_summary"], PACKS, "sensorllm", 0)[0]
    assert item.row_id == "ds/rec/1/0-9/trend_summary/waist_acc_x"
    assert (item.template_id, item.question, item.answer) == GOLDEN["trend_summary"]


def test_golden_trend_analysis():
    item = build_items(context(RISE_FLAT_FALL), ["trend_analysis"], PACKS, "sensorllm", 0)[0]
    assert (item.template_id, item.question, item.answer) == GOLDEN["trend_analysis"]


def test_golden_activity():
    values = np.stack([np.arange(5.0), [0, 1, 0, 1, 0], [2, 2, 2, 2, 3]], axis=1)
    item = build_items(context(values, stage=2), ["activity"], PACKS, "sensorllm", 0)[0]
    assert item.row_id == "ds/rec/1/0-9/activity/all"
    assert (item.template_id, item.question, item.answer) == GOLDEN["activity"]


GOLDEN = {
    'trend_summary': ('trend_summary/what_trends', 'What trends does this time series data show, and how much of the time does each take up?', 'We are looking at the waist x-axis accelerometer between 0.00 and 0.40 seconds. Across three segments, three different trends can be seen. Grouping the segments by trend yields a cumulative 0.10s of falling behaviour, and then rising trends lasting 0.20 seconds in total, and stable segments totalling 0.10 seconds. Considering the whole span, the series shows a rising overall trend.'),
    'trend_analysis': ('trend_analysis/when_rise_fall', 'When does the data segment go up, go down or stay flat?', '0.00-0.20s: increasing\n0.20-0.30s: consistent\n0.30-0.40s: decreasing\nTally of increasing segments: 1\nTally of decreasing segments: 1\nTally of consistent segments: 1'),
    'activity': ('activity/single_answer', "This recording has three channels, each with 5 samples over 0.50 seconds.\nEach channel's level and variability:\nWaist x-axis accelerometer: mean value 2.0 g; standard deviation 1.414 g.\nWaist y-axis accelerometer: mean value 0.4 g; standard deviation 0.49 g.\nWaist z-axis accelerometer: mean value 2.2 g; standard deviation 0.4 g.\nEach channel's trends:\nWaist x-axis accelerometer - rising over 0.40 seconds across one segment.\nWaist y-axis accelerometer - falling over 0.20 seconds, rising over 0.20 seconds across four segments, consistent overall.\nWaist z-axis accelerometer - rising over 0.10 seconds, consistent over 0.30 seconds across two segments, rising overall.\nLast, the correlation of each pair of axes:\nThe waist x-axis accelerometer and waist y-axis accelerometer correlate with r = 0.00, which is negligible.\nThe waist x-axis accelerometer and waist z-axis accelerometer correlate with r = 0.71, which is strong positive.\nThe waist y-axis accelerometer and waist z-axis accelerometer correlate with r = -0.41, which is moderate negative.\nAnswer with one activity: what is happening in this window?", 'walking upstairs'),
}
