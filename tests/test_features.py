"""Features: every registered feature on signals whose answers are known exactly."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from generators import features as F
from generators.types import Channel, ChannelSummary

RATE = 50.0
WAIST_ACC = Channel("waist_acc_x", "waist", "acc", "x", "g")
ANKLE_ACC = Channel("ankle_acc_x", "left_ankle", "acc", "x", "m/s²")
GYRO = Channel("waist_gyro_x", "waist", "gyro", "x", "rad/s")
T = np.arange(200) / RATE                  # 4 s at 50 Hz
SINE_2HZ = np.sin(2 * np.pi * 2.0 * T)    # period 25 samples, 8 cycles, peaks at samples 25k + 6.25


def one(name: str, x, channel: Channel = WAIST_ACC, rate: float = RATE) -> dict:
    """The named feature of one window."""
    batch = F.SeriesBatch.of(np.asarray(x, dtype=np.float64), rate, channel)
    return F.compute_features(batch, [name])[0].get(name, {})


def check_stats():
    got = one("stats", [4.0, 1.0, 3.0, 2.0, 10.0])
    assert got == {"mean": 4.0, "std": pytest.approx(math.sqrt(10.0)), "min": 1.0, "max": 10.0,
                   "median": 3.0, "range": 9.0, "unit": "g"}


def check_largest_rise():
    got = one("largest_rise", [0, 1, 3, 2, 0, -1, 4], rate=10.0)
    assert got == {"amount": 5.0, "start_s": 0.5, "end_s": 0.6, "duration_s": pytest.approx(0.1),
                   "unit": "g"}
    flat = one("largest_rise", [3, 2, 1], rate=10.0)
    assert flat["amount"] == 0.0 and flat["duration_s"] == 0.0


def check_largest_fall():
    got = one("largest_fall", [0, 1, 3, 2, 0, -1, 4], rate=10.0)
    assert got == {"amount": 4.0, "start_s": 0.2, "end_s": 0.5, "duration_s": pytest.approx(0.3),
                   "unit": "g"}


def check_peaks():
    t = np.arange(100.0)
    bump = lambda c, h, w=4.0: h * np.exp(-(((t - c) / w) ** 2))  # noqa: E731
    # Three bumps; a fourth, 0.1 high, is below 0.2 × range and does not count.
    x = bump(20, 1.0) + bump(50, 3.0) + bump(80, 2.0) + bump(65, 0.1, 2.0)
    got = one("peaks", x)
    assert got == {"count": 3, "highest": pytest.approx(3.0), "highest_at_s": 1.0, "unit": "g"}
    assert one("peaks", np.linspace(0, 1, 50)) == {"count": 0, "highest": None,
                                                   "highest_at_s": None, "unit": "g"}
    # White noise has no prominent peak (with a 3 × noise floor it had about nine per
    # 200 samples); the same noise on a 2 Hz sine leaves one peak per cycle.
    noise = 0.05 * np.random.default_rng(3).normal(size=(20, 200))
    assert [r["peaks"]["count"] for r in F.compute_features(
        F.SeriesBatch.of(noise, RATE, GYRO), ["peaks"])] == [0] * 20
    assert one("peaks", SINE_2HZ + noise[0])["count"] == 8


def check_frequency():
    got = one("frequency", SINE_2HZ)
    assert got["dominant_hz"] == 2.0
    assert got["period_s"] == pytest.approx(0.5, abs=0.002)
    assert got["periodicity"] == pytest.approx(1.0, abs=0.01)
    ramp = one("frequency", np.linspace(0, 1, 200))
    assert ramp["period_s"] is None and ramp["periodicity"] == 0.0
    assert one("frequency", np.ones(50))["dominant_hz"] is None
    assert got["periodic"] is True and ramp["periodic"] is False
    # White noise: some lag always correlates a little, but nothing moves beyond the noise.
    noise = np.random.default_rng(0).normal(size=(20, 128))
    cols = F.FEATURES["frequency"](F.SeriesBatch.of(noise, RATE, GYRO))
    assert (cols["periodicity"] > 0).all() and not cols["periodic"].any()
    # A 2 Hz sine only twice the noise's std: it repeats (strength ≈ 0.7), but its std is
    # below 5 × noise, so it is not called periodic.
    faint = 2.0 * np.sin(2 * np.pi * 2.0 * T) + np.random.default_rng(1).normal(size=200)
    assert one("frequency", faint)["periodicity"] >= 0.5
    assert one("frequency", faint)["periodic"] is False


def check_cadence():
    # A one-beat 0.5 s cycle: one step (two would be 240 per minute, beyond gait).
    assert one("cadence", SINE_2HZ)["steps_per_min"] == pytest.approx(120.0, abs=0.5)
    assert one("cadence", SINE_2HZ)["steps_per_cycle"] == 1.0
    # A one-beat 1.11 s cycle on an ankle: a stride (one step would be 54 per minute).
    slow = np.sin(2 * np.pi * 0.9 * T)
    assert one("cadence", slow, ANKLE_ACC)["steps_per_min"] == pytest.approx(108.0, abs=0.5)
    assert one("cadence", slow, ANKLE_ACC)["steps_per_cycle"] == 2.0
    # Trunk, left and right steps unlike: the stride (1 s) repeats best, the step (0.5 s)
    # nearly as well, so the cadence counts steps.
    limp = np.sin(2 * np.pi * 2.0 * T) + 0.5 * np.sin(2 * np.pi * 1.0 * T)
    assert F.SeriesBatch.of(limp, RATE, WAIST_ACC).periodicity[0][0] == pytest.approx(1.0, abs=0.01)
    assert one("cadence", limp)["steps_per_min"] == pytest.approx(120.0, abs=1.0)
    assert one("cadence", limp)["steps_per_cycle"] == 2.0
    assert one("cadence", np.random.default_rng(0).normal(size=200)) == {
        "steps_per_min": None, "steps_per_cycle": None}
    assert one("cadence", SINE_2HZ, GYRO) == {}
    # A clean 2.5 Hz rhythm of 0.03 g (std 0.021 g) repeats, but is no gait: steps shake
    # the body by more than GAIT_MIN_STD_G (0.05 g).
    tremor = 0.03 * np.sin(2 * np.pi * 2.5 * T)
    assert one("frequency", tremor)["periodic"] is True
    assert one("cadence", tremor)["steps_per_min"] is None
    assert one("cadence", 9.80665 * tremor, ANKLE_ACC)["steps_per_min"] is None  # in m/s²


WRIST_ACC = Channel("left_wrist_acc_x", "left_wrist", "acc", "x", "g")
THIGH_ACC = Channel("right_thigh_acc_x", "right_thigh", "acc", "x", "g")


@pytest.mark.parametrize("channel,beat,other,want", [
    # a watch that feels each step, left and right unlike: the stride (1.2 s) correlates
    # 0.08 better than the 0.6 s cycle, so that cycle is a step (the old rule: a limb's
    # cycle is a stride, 200 steps per minute)
    (WRIST_ACC, "step", 0.2, (100.0, 1.0)),
    # a thigh swinging once per 1.2 s stride: one step per cycle would be 50 per minute
    (THIGH_ACC, "stride", 0.3, (100.0, 2.0)),
    # one clean 0.6 s beat on a wrist: 100 or 200 steps per minute, nothing decides
    (WRIST_ACC, "step", 0.0, (None, None)),
    # the same beat on the waist: the trunk rises once per step
    (WAIST_ACC, "step", 0.0, (100.0, 1.0)),
])
def test_cadence_decides_step_or_stride_from_the_signal(channel, beat, other, want):
    from generators import synthetic

    x = synthetic.gait(0, steps_per_min=100.0, beat=beat, other=other)
    got = one("cadence", x, channel)
    assert got["steps_per_cycle"] == want[1], got
    assert got["steps_per_min"] == (want[0] and pytest.approx(want[0], abs=0.5)), got


def check_energy():
    got = one("energy", [-2.0, 2.0, -2.0, 2.0], GYRO)
    assert got == {"mean_abs": 2.0, "rms": 2.0, "energy": 4.0, "unit": "rad/s",
                   "energy_unit": "(rad/s)²"}


@pytest.mark.parametrize("name", F.FEATURES.names())
@pytest.mark.parametrize("channel", [WAIST_ACC, ANKLE_ACC, GYRO])
def test_batch_equals_single_and_is_json(name, channel):
    x = np.random.default_rng(1).normal(size=(4, 120)).cumsum(axis=1)
    batch = F.compute_features(F.SeriesBatch.of(x, RATE, channel), [name])
    assert batch == [F.compute_features(F.SeriesBatch.of(row, RATE, channel), [name])[0]
                     for row in x]
    assert json.loads(json.dumps(batch)) == batch


@pytest.mark.parametrize("name", F.FEATURES.names())
def test_short_windows(name):
    for n in (2, 3, 5):
        json.dumps(one(name, np.arange(float(n))))


def test_gravity_axis_tilt_posture():
    standing = F.gravity(np.tile([1.0, 0.0, 0.0], (10, 1)), "g", vertical_axis="x")
    assert standing == {"axis": "+x", "axis_angle_deg": 0.0, "reference_axis": "x",
                        "tilt_deg": 0.0, "gravity_g": 1.0, "mean_norm_g": 1.0, "sma_g": 1.0,
                        "posture": "upright"}
    lying = F.gravity(np.tile([0.0, 0.0, -G], (10, 1)), "m/s²", vertical_axis="x")
    assert (lying["axis"], lying["tilt_deg"], lying["gravity_g"], lying["posture"]) == \
        ("-z", 90.0, pytest.approx(1.0), "lying")
    leaning = F.gravity(np.tile([0.6, 0.0, 0.8], (10, 1)), "g", vertical_axis="x")
    assert leaning["tilt_deg"] == pytest.approx(math.degrees(math.acos(0.6)))
    assert (leaning["axis"], leaning["posture"]) == ("+z", "leaning")
    # The angle to the dominant axis (z) is kept apart from the tilt from the vertical (x).
    assert leaning["axis_angle_deg"] == pytest.approx(math.degrees(math.acos(0.8)))
    unknown = F.gravity(np.tile([0.6, 0.0, 0.8], (10, 1)), "g")
    assert unknown["reference_axis"] == "z" and unknown["posture"] is None
    assert unknown["tilt_deg"] == pytest.approx(math.degrees(math.acos(0.8)))
    with pytest.raises(ValueError, match="known"):
        F.gravity(np.ones((5, 3)), "furlongs")


G = F.G0


def check_gravity():
    waist = tuple(Channel(f"waist_acc_{a}", "waist", "acc", a, "g") for a in "xyz")
    ankle = tuple(Channel(f"ankle_acc_{a}", "left_ankle", "acc", a, "m/s²") for a in "zyx")
    band = tuple(Channel(f"band_acc_{a}", "wrist", "acc", a, "AU") for a in "xyz")
    channels = waist + (GYRO,) + ankle + band
    n = 10
    values = np.column_stack([np.full(n, 1.0), np.zeros(n), np.zeros(n),   # waist: +x, 1 g
                              np.arange(n, dtype=float),                   # gyro: not gravity
                              np.full(n, -9.80665), np.zeros(n), np.zeros(n),  # ankle: −z
                              np.ones((n, 3))])                            # arbitrary units
    got = F.WINDOW_FEATURES["gravity"](values, channels, {"waist": "x"})
    assert sorted(got) == ["left_ankle", "waist"]  # no g to compare in arbitrary units
    assert got["waist"]["axis"] == "+x" and got["waist"]["tilt_deg"] == 0.0
    assert got["waist"]["posture"] == "upright" and got["waist"]["gravity_g"] == 1.0
    # columns are found by axis, not by position: the ankle's z comes first
    assert got["left_ankle"]["axis"] == "-z"
    assert got["left_ankle"]["gravity_g"] == pytest.approx(1.0)
    assert got["left_ankle"]["posture"] is None  # no upright axis known for the ankle
    # a second channel of the same axis does not replace the first
    twice = waist + (Channel("waist_acc_x2", "waist", "acc", "x", "g"),)
    again = F.WINDOW_FEATURES["gravity"](np.column_stack([values[:, :3], np.zeros(n)]), twice,
                                         {"waist": "x"})
    assert again == {"waist": got["waist"]}


def check_correlation():
    x = np.arange(10.0)
    channels = tuple(Channel(f"c{i}", "waist", "acc", "", "g") for i in range(4))
    got = F.WINDOW_FEATURES["correlation"](np.column_stack([x, 2 * x + 1, -x, np.ones(10)]),
                                           channels, {})
    assert got["channels"] == ["c0", "c1", "c2", "c3"]
    np.testing.assert_allclose(got["matrix"], [[1, 1, -1, 0], [1, 1, -1, 0], [-1, -1, 1, 0],
                                               [0, 0, 0, 1]], atol=1e-12)
    curve = F.WINDOW_FEATURES["correlation"](np.column_stack([x, x ** 2]), channels[:2], {})
    assert curve["matrix"][0][1] == pytest.approx(np.corrcoef(x, x ** 2)[0, 1])


KNOWN = {  # registry → its known-answer check of each entry
    "feature": (F.FEATURES, {"stats": check_stats, "largest_rise": check_largest_rise,
                             "largest_fall": check_largest_fall, "peaks": check_peaks,
                             "frequency": check_frequency, "cadence": check_cadence,
                             "energy": check_energy}),
    "window feature": (F.WINDOW_FEATURES, {"gravity": check_gravity,
                                           "correlation": check_correlation}),
}


@pytest.mark.parametrize("kind", sorted(KNOWN))
def test_every_feature_has_a_known_answer_test(kind):
    registry, checks = KNOWN[kind]
    assert sorted(checks) == registry.names()


@pytest.mark.parametrize("kind, name", [(k, n) for k, (registry, _) in KNOWN.items()
                                        for n in registry.names()])
def test_known_answers(kind, name):
    KNOWN[kind][1][name]()


@pytest.mark.parametrize("name", F.WINDOW_FEATURES.names())
def test_window_feature_is_json_on_real_channels(name):
    channels = tuple(Channel(f"waist_{m}_{a}", "waist", m, a, u)
                     for m, u in (("acc", "g"), ("gyro", "rad/s")) for a in "xyz")
    values = np.random.default_rng(2).normal(size=(64, 6)).astype(np.float32)
    got = F.window_features(values, channels, {"waist": "x"}, [name])
    assert list(got) == [name] and json.loads(json.dumps(got)) == got


def test_window_features():
    channels = tuple(Channel(f"waist_acc_{a}", "waist", "acc", a, "g") for a in "xyz") + (GYRO,)
    values = np.column_stack([np.full(20, 1.0), np.zeros(20), np.zeros(20), np.arange(20.0)])
    got = F.window_features(values, channels, vertical_axes={"waist": "x"})
    assert sorted(got) == F.WINDOW_FEATURES.names()
    assert got["gravity"]["waist"]["posture"] == "upright"
    assert got["correlation"]["channels"] == [c.name for c in channels]
    assert np.array(got["correlation"]["matrix"]).shape == (4, 4)
    json.dumps(got)
    assert F.window_features(values[:, 3:], channels[3:])["gravity"] == {}


def test_basic_stats_unchanged():
    assert F.basic_stats(np.array([1.0, 2.0, 3.0, 10.0])) == {
        "mean": 4.0, "std": pytest.approx(np.std([1, 2, 3, 10])), "min": 1.0, "max": 10.0,
        "median": 2.5, "range": 9.0}


@pytest.mark.parametrize("method", ["robust", "sensorllm"])
def test_summarize(method):
    s = F.summarize(SINE_2HZ, RATE, WAIST_ACC, method)
    assert isinstance(s, ChannelSummary) and s.channel == WAIST_ACC
    assert s.stats == F.basic_stats(SINE_2HZ)
    assert set(s.features) == set(F.FEATURES.names()) - {"stats"}
    json.dumps(dict(s.features))
    assert len(F.summarize(SINE_2HZ, RATE, GYRO, method).features) == len(s.features) - 1
    batch = F.summarize_batch([SINE_2HZ, SINE_2HZ[:37]], RATE, WAIST_ACC, method)
    assert batch[0] == s and batch[1] == F.summarize(SINE_2HZ[:37], RATE, WAIST_ACC, method)


def test_summaries_read_the_features_of_their_batch_in_any_order():
    windows = np.random.default_rng(3).normal(size=(3, 64)).cumsum(axis=1)
    got = F.summarize_batch(list(windows), RATE, WAIST_ACC)
    eager = F.compute_features(F.SeriesBatch.of(windows, RATE, WAIST_ACC))
    assert got[2].features["peaks"] == eager[2]["peaks"]  # one feature of a late row first
    assert [dict(s.features) for s in got] == [{k: v for k, v in e.items() if k != "stats"}
                                               for e in eager]
    assert [dict(s.stats) for s in got] == [{k: v for k, v in e["stats"].items() if k != "unit"}
                                            for e in eager]
    assert "stats" not in got[0].features and "unit" not in got[0].stats


@pytest.mark.parametrize("method", ["robust", "sensorllm"])
def test_summarize_windows_equals_per_channel(method):
    channels = (WAIST_ACC, GYRO, ANKLE_ACC)
    rng = np.random.default_rng(5)
    windows = [rng.normal(size=(n, 3)).cumsum(axis=0) for n in (64, 9, 64, 128)]
    got = F.summarize_windows(windows, RATE, channels, method)
    assert got == [tuple(F.summarize(w[:, c], RATE, ch, method) for c, ch in enumerate(channels))
                   for w in windows]
    assert "cadence" not in got[0][1].features and "cadence" in got[0][0].features
    with pytest.raises(ValueError, match="samples × 3"):
        F.summarize_windows([np.zeros((5, 2))], RATE, channels)


HAPT = __import__("pathlib").Path(__file__).parents[2] / "shared" / "data" / "uci-hapt"


@pytest.mark.skipif(not HAPT.is_dir(), reason="real HAPT data not available")
def test_real_walking_cadence_and_standing_posture():
    from generators.readers import uci_har
    from generators.windows import stage2_windows

    rec = next(uci_har.read(HAPT, experiments=[1]))
    wins = stage2_windows(rec, "train", 128, 64)
    values = [np.asarray(rec.values[w.start:w.end], dtype=np.float64) for w in wins]
    summaries = F.summarize_windows(values, rec.sample_rate_hz, rec.channels)
    walking = [s[0].features["cadence"]["steps_per_min"] for w, s in zip(wins, summaries)
               if w.activity == "WALKING"]
    found = [c for c in walking if c is not None]
    assert len(found) >= 0.8 * len(walking)  # walking is periodic
    assert 90 <= float(np.median(found)) <= 130  # an ordinary walking cadence
    standing = [v for w, v in zip(wins, values) if w.activity == "STANDING"]
    postures = {F.window_features(v, rec.channels, {"waist": "x"})["gravity"]["waist"]["posture"]
                for v in standing}
    assert postures == {"upright"}
    for s in summaries[:50]:
        json.dumps([dict(c.features) for c in s])


@pytest.mark.skipif(not HAPT.is_dir(), reason="real HAPT data not available")
def test_real_static_windows_are_not_periodic_and_postures_follow_the_activity():
    """Noise is no rhythm or gait, and the reader's upright axis gives each posture."""
    from generators.readers import uci_har
    from generators.windows import stage2_windows

    rec = next(uci_har.read(HAPT, experiments=[1]))
    assert rec.vertical_axes == {"waist": "x"}
    wins = stage2_windows(rec, "train", 128, 64)
    values = [np.asarray(rec.values[w.start:w.end], dtype=np.float64) for w in wins]
    summaries = F.summarize_windows(values, rec.sample_rate_hz, rec.channels)
    static = {"SITTING", "STANDING", "LAYING"}
    by_kind: dict[str, list] = {"static": [], "walking": []}
    for w, s in zip(wins, summaries):
        if w.activity in static or w.activity.startswith("WALKING"):
            by_kind["static" if w.activity in static else "walking"].append(s)
    periodic = {k: np.mean([any(c.features["frequency"]["periodic"] for c in s) for s in v])
                for k, v in by_kind.items()}
    assert periodic["static"] <= 0.4 and periodic["walking"] >= 0.95, periodic
    assert all(c.features["cadence"]["steps_per_min"] is None
               for s in by_kind["static"] for c in s if "cadence" in c.features)
    peaks = {k: np.mean([c.features["peaks"]["count"] for s in v for c in s])
             for k, v in by_kind.items()}
    assert peaks["static"] < 0.5 * peaks["walking"], peaks
    words: dict[str, set] = {}
    for w, v in zip(wins, values):
        g = F.gravity(v[:, :3], "g", rec.vertical_axes["waist"])
        words.setdefault(w.activity, set()).add(g["posture"])
    assert words["LAYING"] == {"lying"}
    assert {"STANDING", "WALKING"} <= set(words)
    for activity in ("STANDING", "WALKING"):
        assert words[activity] == {"upright"}, (activity, words[activity])


def test_recording_vertical_axis_must_name_an_axis_of_its_locations():
    from generators.types import Recording

    def rec(axes):
        return Recording("ds", "r", "1", 50.0, (WAIST_ACC,), np.zeros((4, 1), np.float32),
                         np.zeros(4, np.int32), {0: "A"}, vertical_axes=axes)

    assert rec({"waist": "x"}).vertical_axes == {"waist": "x"}
    with pytest.raises(ValueError, match="vertical axis 'up' of location 'waist'"):
        rec({"waist": "up"})
    with pytest.raises(ValueError, match="location 'wrist'"):
        rec({"wrist": "x"})
