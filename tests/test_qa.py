"""QA builders: facts on signals with known answers, row ids, and golden renderings."""

from __future__ import annotations

import dataclasses
import json
import re

import numpy as np
import pytest

from generators.features import summarize
from generators.qa import (QA_TYPES, QAContext, build_items, builders_for_stage, example_context,
                           facts_for, lint_contexts)
from generators.qa._common import (correlation_words, humanize,
                                   same_sensor_pairs, sensor_name)
from generators.registry import UnknownNameError
from generators.text import load_packs, render_variant
from generators.trends import overall_direction
from generators.types import Channel, TrendSegment, Window

PACKS = load_packs()
ACC = tuple(Channel(f"waist_acc_{a}", "waist", "acc", a, "g") for a in "xyz")
GYRO = tuple(Channel(f"waist_gyro_{a}", "waist", "gyro", a, "rad/s") for a in "xyz")


def context(values, channels=ACC, rate=10.0, activity="WALKING_UPSTAIRS", stage=1,
            vertical_axes=None, next_activity=None) -> QAContext:
    values = np.asarray(values, dtype=np.float32).reshape(len(values), -1)
    window = Window("ds/rec/1/0-9", "rec", "1", 0, len(values), activity, 2, "train", stage,
                    next_activity, len(values) // 2 if next_activity else None)
    summaries = tuple(summarize(values[:, i], rate, ch, "sensorllm") for i, ch in enumerate(channels))
    return QAContext("ds", window, values, channels, rate, summaries, ("WALKING",), 0,
                     vertical_axes or {})


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


def test_robust_overall_trend_follows_the_fit_not_the_noisy_end_samples():
    """A fall then a hold, whose last raw sample happens to sit above its first."""
    rng = np.random.default_rng(9)
    x = (np.concatenate([np.linspace(0, -0.5, 20, endpoint=False), np.full(80, -0.5)])
         + rng.normal(0, 0.2, 100)).astype(np.float32)
    assert x[-1] > x[0]  # the seed's sum of differences would say "up"
    ctx = context(x[:, None], ACC[:1], rate=50.0)
    summary = summarize(x, 50.0, ACC[0], "robust")
    ctx = dataclasses.replace(ctx, summaries=(summary,))
    facts = next(facts_for("trend_summary", ctx))
    assert [s.direction for s in summary.segments] == ["down", "steady"]
    assert facts.values["overall"] == "down"


def test_robust_overall_trend_ignores_the_drift_of_steady_segments():
    """Hold, fall, hold: the holds drift up (each below the steadiness threshold) by more
    together than the fall drops, yet the window fell and held."""
    segs = (TrendSegment(0.0, 0.5, 0.0, 0.08, "steady", 0.16),
            TrendSegment(0.5, 0.7, 0.08, -0.02, "down", -0.5),
            TrendSegment(0.7, 1.2, -0.02, 0.06, "steady", 0.16))
    assert overall_direction(segs) == "down"


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
    leads = tuple(Channel(f"chest_ecg_lead{k}", "chest", "ecg", f"lead{k}", "mV") for k in (1, 2))
    assert sensor_name(leads[0]) == "chest ECG lead1"  # a lead, not an axis
    assert same_sensor_pairs(leads + ACC) == [(2, 3), (2, 4), (3, 4)]
    assert humanize("WALKING_UPSTAIRS") == "walking upstairs"


@pytest.mark.parametrize("label, words", [("WALKING_UPSTAIRS", "walking upstairs"),
                                          ("SIT_TO_LIE", "the sit-to-lie transition"),
                                          ("stand_to_sit", "the stand-to-sit transition"),
                                          ("LAYING", "laying")])
def test_activity_labels_read_the_same_in_generator_and_check(label, words):
    from validation.checks._signal import activity_words

    assert humanize(label) == activity_words(label) == words


def test_a_window_spanning_an_activity_change_gets_no_single_activity_answer():
    steady, change = lint_contexts()[0], lint_contexts()[3]
    assert change.window.next_activity == "SITTING"
    assert len(list(facts_for("activity", steady))) == 1
    assert list(facts_for("activity", change)) == []
    (t,) = facts_for("transition", change)
    assert (t.values["first"], t.values["second"]) == ("the stand-to-sit transition", "sitting")


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


def test_a_builder_without_stage_is_refused_by_file(tmp_path, monkeypatch):
    import sys

    import generators.qa as qa

    (tmp_path / "nostage.py").write_text("def build(ctx):\n    return iter(())\n")
    monkeypatch.setattr(qa, "__path__", [str(tmp_path)])
    try:
        with pytest.raises(TypeError, match=r"nostage\.py: a QA builder defines STAGE"):
            qa._discover()
    finally:
        sys.modules.pop("generators.qa.nostage", None)
    assert "nostage" not in QA_TYPES


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
    'trend_summary': ('trend_summary/what_trends', 'What trends does this time series data show, and how much of the time does each take up?', 'We are looking at the waist x-axis accelerometer between 0.00 and 0.40 seconds. Across three segments, three different trends can be seen. Grouping the time by trend yields a cumulative 0.10s of falling behaviour, as well as 0.20 seconds of rising behaviour, and 0.10 seconds of stable data. Considering the whole span, the series shows a rising overall trend.'),
    'trend_analysis': ('trend_analysis/when_rise_fall', 'When does the data window go up, go down or stay flat?', '0.00-0.20s: increasing\n0.20-0.30s: flat\n0.30-0.40s: decreasing\nTally of increasing segments: 1\nTally of decreasing segments: 1\nTally of flat segments: 1'),
    'activity': ('activity/single_answer', "This recording has three channels with 5 samples per channel over 0.50 seconds.\nEach channel's level and variability:\nWaist x-axis accelerometer: mean value 2.0 g; standard deviation 1.414 g.\nWaist y-axis accelerometer: mean value 0.4 g; standard deviation 0.49 g.\nWaist z-axis accelerometer: mean value 2.2 g; standard deviation 0.4 g.\nEach channel's trends:\nWaist x-axis accelerometer - rising over 0.40 seconds across one segment.\nWaist y-axis accelerometer - falling over 0.20 seconds, rising over 0.20 seconds across four segments, with no net rise or fall.\nWaist z-axis accelerometer - rising over 0.10 seconds, flat over 0.30 seconds across two segments, rising overall.\nLast, the correlation of each pair of axes:\nThe waist x-axis accelerometer and waist y-axis accelerometer correlate with r = 0.00, which is negligible.\nThe waist x-axis accelerometer and waist z-axis accelerometer correlate with r = 0.71, which is strong positive.\nThe waist y-axis accelerometer and waist z-axis accelerometer correlate with r = -0.41, which is moderate negative.\nAnswer with one activity: what is happening in this window?", 'walking upstairs'),
}


# Known truth for the catalogue types (sensorllm trends, 10 Hz unless stated).
def _facts(qa_type, values, channels=ACC[:1], **kw):
    return [f.values for f in facts_for(qa_type, context(values, channels, **kw))]


def test_change_amount_on_ramp():
    (v,) = _facts("change_amount", [[0.0], [1.0], [2.0], [3.0], [4.0]])
    assert (v["start_value"], v["end_value"], v["change"], v["rate_per_s"], v["direction"]) == \
        (0.0, 4.0, 4.0, 10.0, "up")
    (v,) = _facts("change_amount", [[1.0], [3.0], [1.0]])
    assert (v["change"], v["direction"]) == (0.0, "steady")
    # The rate is the samples' own: 0.01344 / 0.4 s = 0.0336 → 0.034 (the rounded change
    # 0.013 would give 0.0325).
    (v,) = _facts("change_amount", [[0.0], [0.0], [0.0], [0.0], [0.01344]])
    assert (v["change"], v["rate_per_s"]) == (0.013, 0.034)


def test_channel_comparison_scopes_its_correlations_to_one_sensor():
    """Only pairs of one sensor's axes are compared: no question or answer may claim the
    strongest pair of all axes (an accelerometer–gyroscope pair may correlate more)."""
    facts = next(f.values for ctx in lint_contexts() for f in facts_for("channel_comparison", ctx))
    pack = PACKS["channel_comparison"]
    scope = re.compile(r"same-sensor|same sensor|one sensor|within a sensor|each sensor", re.I)
    for variant in pack.variants:
        for k in range(10):
            out = render_variant(pack, variant, facts, 0, "scope", forced_phrase=k)
            stating = [s for s in re.split(r"(?<=\.) ", out.answer)
                       if re.search(r"correlat|r = ", s)]
            assert stating and all(scope.search(s) for s in stating), out.answer
            if re.search(r"correlat|linked|related|relate", out.question):
                assert scope.search(out.question), out.question


def test_extremes_first_occurrence_and_range():
    (v,) = _facts("extremes", [[0.0], [2.0], [0.0], [5.0], [0.0], [5.0], [-1.0]])
    assert (v["max_value"], v["max_t"], v["min_value"], v["min_t"], v["range"]) == \
        (5.0, 0.3, -1.0, 0.6, 6.0)
    sine = np.sin(2 * np.pi * 2 * np.arange(40) / 40.0)[:, None]  # two cycles in 1 s
    (v,) = _facts("extremes", sine, rate=40.0)
    assert (v["n_peaks"], v["max_t"], v["max_value"]) == (2, 0.12, 1.0)  # sample 5 = 0.125 s


def test_temporal_localization_finds_steepest_segment():
    values = [[0.0], [1.0], [0.5], [3.5], [3.0], [2.0]]
    facts = _facts("temporal_localization", values)
    assert len(facts) == 1
    v = facts[0]
    if v["target"] == "up":
        assert (v["t0"], v["t1"], v["change"], v["slope_per_s"]) == (0.2, 0.3, 3.0, 30.0)
    else:
        assert (v["t0"], v["t1"], v["change"], v["slope_per_s"]) == (0.3, 0.5, -1.5, -7.5)
    assert _facts("temporal_localization", [[1.0], [1.0], [1.0]]) == []


def test_counting_counts_segments_of_the_asked_direction():
    values = [[0.0], [1.0], [0.0], [1.0], [1.0], [0.0]]
    (v,) = _facts("counting", values)
    expected = {"up": 2, "down": 2, "steady": 1}
    assert v["n"] == expected[v["dir"]] and v["n_segments"] == 5
    assert v["n_crossings"] == 4


@pytest.mark.parametrize("seed", range(12))
def test_multiple_choice_has_exactly_one_true_option(seed):
    ctx = example_context(60, seed=seed)
    ctx = QAContext(ctx.dataset, ctx.window, ctx.values, ctx.channels, ctx.sample_rate_hz,
                    ctx.summaries, ctx.label_names, seed)
    for f in facts_for("multiple_choice", ctx):
        v = f.values
        i = ctx.channels.index(next(c for c in ctx.channels if c.name == f.channels[0]))
        from generators.qa._claims import claim
        truth, _ = claim(ctx, i, v["kind"])
        values = [o["value"] for o in v["options"]]
        assert 3 <= len(values) <= 4 and len(set(map(str, values))) == len(values)
        assert values.count(truth) == 1 and v["answer_value"] == truth
        assert v["options"]["ABCD".index(v["answer_letter"])]["value"] == truth


@pytest.mark.parametrize("seed", range(8))
def test_true_false_is_true_exactly_when_claim_matches(seed):
    ctx = example_context(60, seed=seed)
    ctx = QAContext(ctx.dataset, ctx.window, ctx.values, ctx.channels, ctx.sample_rate_hz,
                    ctx.summaries, ctx.label_names, seed)
    for f in facts_for("true_false", ctx):
        assert f.values["is_true"] == (f.values["claimed"] == f.values["actual"])


def test_unanswerable_asks_outside_the_row():
    ctx = example_context(30)
    for f in facts_for("unanswerable", ctx):
        v = f.values
        assert v["asked_sensor"] != v["sensor"]
        assert v["asked_t0"] > v["end_s"] and v["asked_t1"] > v["asked_t0"]


def test_channel_comparison_on_known_signals():
    t = np.arange(30, dtype=float)
    values = np.stack([np.sin(t) * 3, np.sin(t) + 0.1 * np.cos(3 * t), np.cos(t)], axis=1)
    (v,) = _facts("channel_comparison", values, ACC, stage=2)
    assert v["groups"][0]["axis"] == "x" and v["groups"][0]["runner_up"] in ("y", "z")
    assert (v["top_pair"]["a"], v["top_pair"]["b"]) == ("waist x-axis accelerometer",
                                                        "waist y-axis accelerometer")
    assert v["top_pair"]["relation"] == "strong positive"


def test_channel_comparison_states_a_tie_when_the_printed_stds_are_equal():
    t = np.arange(30, dtype=float)
    # y is x mirrored (same std); z moves less: x and y tie for "moves most".
    values = np.stack([np.sin(t), -np.sin(t), 0.5 * np.cos(t)], axis=1)
    (v,) = _facts("channel_comparison", values, ACC, stage=2)
    g = v["groups"][0]
    assert (g["axis"], g["runner_up"], g["tie"]) == ("x", "y", True) and g["std"] == g["runner_up_std"]
    pack, facts = PACKS["channel_comparison"], v
    for k in range(len(pack.phrases["tied_moving"])):
        answer = render_variant(pack, pack.variants[0], facts, 0, "tie", forced_phrase=k).answer
        first = answer.split(". ")[0]
        assert " x" in first and " y" in first and f"{g['std']} g" in first, first
        assert not re.search(r"\b(ahead|dominates|then|next)\b", first), first
    values[:, 1] *= 0.9  # now x leads
    (v,) = _facts("channel_comparison", values, ACC, stage=2)
    assert (v["groups"][0]["axis"], v["groups"][0]["tie"]) == ("x", False)


def _all_phrasings(qa_type: str, facts: dict) -> list[str]:
    """Every answer a pack gives for ``facts``: each variant at each forced phrasing."""
    pack = PACKS[qa_type]
    most = max(len(v) for v in pack.phrases.values())
    return [render_variant(pack, variant, facts, 0, "all", forced_phrase=k).answer
            for variant in pack.variants for k in range(most)]


TEMPORAL = re.compile(r"\b(then|followed|after|afterwards|later|next|subsequently|succeeded|"
                      r"trailed|before)\b", re.I)


def test_trend_summary_joins_time_per_trend_without_claiming_an_order():
    """The totals are listed down, up, steady whatever the order in time: here the
    window rises first, so a "falling …, then rising …" would be false."""
    (facts,) = _facts("trend_summary", RISE_FLAT_FALL)
    assert [t["dir"] for t in facts["times"]] == ["down", "up", "steady"]
    for answer in _all_phrasings("trend_summary", facts):
        assert not TEMPORAL.search(answer), answer


def test_change_amount_never_calls_the_change_between_its_ends_an_overall_trend():
    """Endpoints say "up" here while the segments' overall trend is "down": the change
    between the ends must not be phrased as the overall trend."""
    rng = np.random.default_rng(9)  # the fall-then-hold of the robust overall test above
    x = (np.concatenate([np.linspace(0, -0.5, 20, endpoint=False), np.full(80, -0.5)])
         + rng.normal(0, 0.2, 100)).astype(np.float32)
    (facts,) = _facts("change_amount", x[:, None], rate=50.0)
    summary = summarize(x, 50.0, ACC[0], "robust")
    assert facts["direction"] == "up" and summary.overall == "down"
    for answer in _all_phrasings("change_amount", facts):
        assert "overall" not in answer.lower(), answer


def test_extremes_at_the_first_sample_are_not_reached_by_moving():
    (facts,) = _facts("extremes", [[5.0], [2.0], [0.0], [1.0], [-1.0]])
    assert facts["max_t"] == 0.0
    for answer in _all_phrasings("extremes", facts):
        first = answer.split(". ")[0]
        assert not re.search(r"\b(climbs|drops|falls|rises|sinks)\b", first), first


def test_unanswerable_time_questions_and_answers_name_the_same_times():
    facts = dict(next(f.values for ctx in lint_contexts() for f in facts_for("unanswerable", ctx)),
                 kind="time")
    pack = PACKS["unanswerable"]
    asked = {f"{facts['asked_t0']:.2f}", f"{facts['asked_t1']:.2f}"}
    for variant in pack.variants:
        for k in range(10):
            out = render_variant(pack, variant, facts, 0, "u", forced_phrase=k)
            q_times = re.findall(r"\d+\.\d\d", out.question)
            assert q_times and q_times[0] == f"{facts['asked_t0']:.2f}", (variant.name, out.question)
            a_times = set(re.findall(r"\d+\.\d\d", out.answer)) - {f"{facts['end_s']:.2f}", "0.00"}
            assert a_times <= asked, (variant.name, out)


def test_posture_static_gravity_on_negative_z():
    rng = np.random.default_rng(0)
    values = np.array([0.0, 0.0, -1.0]) + 0.001 * rng.standard_normal((50, 3))
    (v,) = _facts("posture", values, ACC, rate=50.0, stage=2)
    assert (v["gravity_axis"], v["gravity_sign"], v["motion"], v["tilt_deg"]) == \
        ("z", "negative", "still", 0)
    assert v["gravity"] == pytest.approx(1.0, abs=0.002)
    # No axis up the body known: no posture, and no question asks for one.
    assert (v["posture"], v["vertical_axis"], v["vertical_deg"]) == (None, None, None)
    pack = PACKS["posture"]
    for variant in pack.variants:
        question = render_variant(pack, variant, v, 0, "q").question
        assert not re.search(r"posture|body position", question), question


def test_posture_turning_sensor_is_moving_though_its_magnitude_holds():
    # the sensor turns 40 degrees about x and back: |a| stays exactly 1 g, y and z swing
    angle = np.radians(40.0) * np.sin(np.linspace(0.0, 2 * np.pi, 100))
    values = np.stack([np.zeros_like(angle), np.sin(angle), np.cos(angle)], 1)
    (v,) = _facts("posture", values, ACC, rate=50.0, stage=2)
    rms = np.sqrt(values.var(axis=0).sum())
    assert np.linalg.norm(values, axis=1).std() < 1e-6  # the old rule said still
    assert (v["motion"], v["motion_rms"]) == ("moving", pytest.approx(rms, abs=5e-4))
    assert rms > 0.2


@pytest.mark.parametrize("mean,word,up_deg,axis,axis_deg", [
    ([1.0, 0.0, 0.0], "upright", 0, "x", 0),
    ([0.6, 0.8, 0.0], "leaning", 53, "y", 37),
    ([0.1, 0.0, -1.0], "lying", 84, "z", 6)])
def test_posture_word_from_the_axis_up_the_body(mean, word, up_deg, axis, axis_deg):
    values = np.tile(np.asarray(mean) / np.linalg.norm(mean), (50, 1))
    (v,) = _facts("posture", values, ACC, rate=50.0, stage=2, vertical_axes={"waist": "x"})
    assert (v["posture"], v["vertical_axis"], v["vertical_deg"]) == (word, "x", up_deg)
    assert (v["gravity_axis"], v["tilt_deg"]) == (axis, axis_deg)  # angle to the gravity axis
    for answer in _all_phrasings("posture", v):
        assert re.search(rf"\b{word}\b", answer) and f"{up_deg} degrees" in answer, answer
        assert "sensor is tilted" not in answer  # a sensor is not tilted from its own axis
    assert _facts("posture", values, ACC, rate=50.0, stage=2, vertical_axes={"waist": "x"},
                  next_activity="SITTING") == []


def test_periodicity_of_a_two_hertz_sine():
    t = np.arange(128) / 50.0
    values = np.stack([np.sin(2 * np.pi * 2 * t), np.zeros(128), np.zeros(128)], axis=1)
    (v,) = _facts("periodicity", values, ACC, rate=50.0, stage=2)
    assert v["sensor"] == "waist x-axis accelerometer"
    assert (v["period_s"], v["per_minute"], v["regularity"]) == (0.5, 120, "clearly periodic")
    # On the waist one 0.5 s cycle is one step: 120 steps per minute, said as such.
    assert (v["steps_per_min"], v["steps_per_cycle"]) == (120, 1)
    answers = _all_phrasings("periodicity", v)
    assert all(re.search(r"\bone step\b", a) for a in answers)
    stride = {**v, "steps_per_min": 240, "steps_per_cycle": 2}
    assert all("stride of two steps" in a for a in _all_phrasings("periodicity", stride))


def test_periodicity_not_of_noise_nor_of_transitions():
    rng = np.random.default_rng(4)
    still = np.array([1.0, 0.0, 0.0]) + 0.004 * rng.standard_normal((128, 3))
    assert _facts("periodicity", still, ACC, rate=50.0, stage=2) == []
    t = np.arange(128) / 50.0
    walk = np.stack([np.sin(2 * np.pi * 2 * t)] * 3, axis=1)
    assert len(_facts("periodicity", walk, ACC, rate=50.0, stage=2)) == 1
    assert _facts("periodicity", walk, ACC, rate=50.0, stage=2,
                  next_activity="WALKING_UPSTAIRS") == []


def test_periodicity_text_states_what_self_correlation_finds():
    """No spectral claims (the FFT peak may lie elsewhere), one cadence, the row's sensor."""
    t = np.arange(128) / 50.0
    values = np.stack([np.sin(2 * np.pi * 2 * t)] * 3, axis=1)
    (v,) = _facts("periodicity", values, GYRO, rate=50.0, stage=2)
    assert v["steps_per_min"] is None
    pack = PACKS["periodicity"]
    for variant in pack.variants:
        for k in range(10):
            out = render_variant(pack, variant, v, 0, "all", forced_phrase=k)
            text = out.question + " " + out.answer
            assert not re.search(r"spectr|power|dominat|strongest frequency", text, re.I), text
            assert not re.search(r"accelerat", text), text  # a gyroscope row
            assert "cadence" not in out.answer, out.answer  # cycles per minute are no cadence
    steps = {**v, "steps_per_min": 120, "steps_per_cycle": 1}
    for answer in _all_phrasings("periodicity", steps):
        assert len(re.findall(r"cadence", answer)) <= 1, answer


def test_transition_names_both_activities_and_the_change():
    ctx = example_context(100, activity="WALKING", next_activity="WALKING_UPSTAIRS",
                          change_index=40)
    (f,) = facts_for("transition", ctx)
    assert f.values == {"first": "walking", "second": "walking upstairs", "change_s": 0.8,
                        "before_s": 0.8, "after_s": 1.2, "duration_s": 2.0}
    assert list(facts_for("transition", example_context(100))) == []


def test_answers_state_the_facts():
    ctx = example_context(100, activity="WALKING", next_activity="SITTING", change_index=40)
    (item,) = build_items(ctx, ["transition"], PACKS, "sensorllm", 0)
    assert "walking" in item.answer and "sitting" in item.answer
    for item in build_items(context([[0.0], [1.0], [2.0], [3.0], [4.0]], ACC[:1]),
                            ["change_amount"], PACKS, "sensorllm", 0):
        assert "4.0 g" in item.answer and "0.0 g" in item.answer


# Mix control.
def test_default_mix_covers_every_type_and_is_deterministic():
    from generators.qa import DEFAULT_MIX, select_types, stage_mix

    for stage in (1, 2):
        assert set(stage_mix(stage)) == set(builders_for_stage(stage))
        assert set(DEFAULT_MIX[stage]) <= set(builders_for_stage(stage))
    windows = [Window(f"w/{i}", "r", "1", 0, 10, "WALKING", 1, "train", 1) for i in range(2000)]
    picks = [select_types(w, 5) for w in windows]
    assert picks == [select_types(w, 5) for w in windows]
    share = sum("counting" in p for p in picks) / len(picks)
    assert abs(share - DEFAULT_MIX[1]["counting"]) < 0.05
    assert all("trend_summary" in p and "trend_analysis" in p for p in picks)


def test_mix_overrides_and_errors():
    from generators.qa import select_types, stage_mix

    w = Window("w/1", "r", "1", 0, 10, "WALKING", 1, "train", 2)
    assert "posture" not in select_types(w, 0, {"2": {"posture": 0.0}})
    assert "posture" in select_types(w, 0, {2: {"posture": 1.0}})
    with pytest.raises(UnknownNameError, match="known"):
        stage_mix(1, {"1": {"nope": 0.5}})
    with pytest.raises(ValueError, match="stage 2"):
        stage_mix(1, {"1": {"posture": 0.5}})
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        stage_mix(1, {"1": {"counting": 1.5}})
