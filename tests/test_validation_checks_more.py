"""Semantic checks of multiple choice, true/false, temporal localization, periodicity, posture."""

from __future__ import annotations

import json
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from generators import dataset, pipeline, text
from generators.config import BuildConfig
from generators.schema import QA_SCHEMA
from validation import semantic
from validation.checks import periodicity
from validation.checks._read import packs
from tests.conftest import described_sample

TYPES = ("multiple_choice", "true_false", "temporal_localization", "periodicity", "posture",
         "activity")
METHODS = ("sensorllm", "robust")


def _table(method: str, n_recordings: int, per_type: int | None) -> pa.Table:
    """Rows of ``TYPES`` from the first embedded recordings, through the real generator."""
    tables = []
    for k in range(n_recordings):
        rec, cfg, items = described_sample(method, k)
        items = [it for it in items if it.qa_type in TYPES]
        if per_type is not None:
            items = [it for t in TYPES for it in [i for i in items if i.qa_type == t][:per_type]]
        tables.append(dataset.items_to_table(items, rec, cfg.trend_params))
    return pa.concat_tables(tables)


@pytest.fixture(scope="module")
def rows() -> pa.Table:
    """Up to 60 rows of each type per trend method from the first recording."""
    return pa.concat_tables([_table(m, 1, 60) for m in METHODS])


def _where(rows: pa.Table, qa_type: str, method: str) -> list[dict]:
    mask = pc.and_(pc.equal(rows["qa_type"], qa_type), pc.equal(rows["trend_method"], method))
    return rows.filter(mask).to_pylist()


def _reject(rec: dict, **changes: str) -> str:
    """Reasons the check gives for one row with ``changes``; '' when it is accepted."""
    _, bad = semantic.check_table(pa.Table.from_pylist([{**rec, **changes}], schema=QA_SCHEMA))
    return bad["reason"][0].as_py() if bad.num_rows else ""


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("qa_type", TYPES)
def test_generated_rows_pass(rows: pa.Table, qa_type: str, method: str) -> None:
    recs = _where(rows, qa_type, method)
    assert recs, f"no {qa_type} rows generated"
    bad = [(r["question"], r["answer"], _reject(r)) for r in recs if _reject(r)]
    assert not bad, bad[:2]


def _mc_wrong_letter(rec: dict) -> dict:
    facts = json.loads(rec["facts"])
    other = next(o["letter"] for o in facts["options"] if o["letter"] != facts["answer_letter"])
    m = re.search(rf"(?<!\w){facts['answer_letter']}(?!\w)", rec["answer"])
    return {"answer": rec["answer"][:m.start()] + other + rec["answer"][m.end():]}


def _tf_flipped(rec: dict) -> dict:
    phrases = packs()["true_false"].phrases
    facts = json.loads(rec["facts"])
    said, other = ("verdict_true", "verdict_false") if facts["is_true"] else \
        ("verdict_false", "verdict_true")
    head = next(p for p in sorted(phrases[said], key=len, reverse=True)
                if rec["answer"].startswith(p + " "))
    return {"answer": phrases[other][0] + rec["answer"][len(head):]}


def _number(rec: dict, field: str, key: str, fmt: str, delta: float) -> dict:
    """Shift the first stated ``key`` (formatted with ``fmt``) in ``field`` by ``delta``."""
    value = json.loads(rec["facts"])[key]
    old = format(value, fmt)
    assert old in rec[field], (old, rec[field])
    return {field: rec[field].replace(old, format(value + delta, fmt), 1)}


def _tl_shifted(rec: dict) -> dict:
    """End time off by half a 50 Hz sample: no sample (robust), not the run's end (seed)."""
    return _number(rec, "answer", "t1", ".2f", 0.01)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("qa_type,corrupt,check", [
    ("multiple_choice", _mc_wrong_letter, "multiple_choice.answer"),
    ("true_false", _tf_flipped, "true_false.verdict"),
    ("temporal_localization", _tl_shifted, "temporal_localization.time"),
    ("periodicity", lambda r: _number(r, "answer", "freq_hz", ".2f", 0.3), "periodicity.value"),
    ("posture", lambda r: _number(r, "answer", "tilt_deg", "d", 7), "posture.value"),
])
def test_corrupted_rows_rejected(rows: pa.Table, qa_type: str, method: str, corrupt,
                                 check: str) -> None:
    recs = _where(rows, qa_type, method)
    assert recs[0]["sample_rate_hz"] == 50.0
    for rec in recs[:10]:
        assert check in _reject(rec, **corrupt(rec)), (rec["question"], rec["answer"])


def _other_motion(rec: dict) -> str:
    """The row's answer with its still/moving sentence swapped for the other word's first
    phrasing, the stated RMS deviation kept."""
    facts = json.loads(rec["facts"])
    phrases = packs()["posture"].phrases

    def said(phrase: str) -> str:
        return phrase.replace("{{ motion_rms | unit(unit) }}",
                              f"{facts['motion_rms']} {facts['unit']}")

    sentence = next(said(p) for p in phrases[f"motion_{facts['motion']}"]
                    if rec["answer"].endswith(said(p)))
    other = "moving" if facts["motion"] == "still" else "still"
    return rec["answer"][:-len(sentence)] + said(phrases[f"motion_{other}"][0])


def test_posture_motion_checked_against_the_vector_spread(rows: pa.Table) -> None:
    for rec in _where(rows, "posture", "robust")[:10]:
        facts = json.loads(rec["facts"])
        stated = f"{facts['motion_rms']} {facts['unit']}"
        assert stated in rec["answer"], (stated, rec["answer"])
        wrong = f"{facts['motion_rms'] * 2 + 0.05:.3f} {facts['unit']}"
        assert "posture.value" in _reject(rec, answer=rec["answer"].replace(stated, wrong))
        # the same number, the other word: the still/moving rule is rechecked
        swapped = _other_motion(rec)
        assert "posture.motion" in _reject(rec, answer=swapped), swapped


def test_turning_sensor_is_written_and_checked_as_moving() -> None:
    """A waist accelerometer turning ±40° about x: |a| stays 1 g, y and z swing. The
    generator writes 'moving', the check accepts it and refuses 'still'; under the old
    rule (the magnitude's std) both would have said still."""
    from generators.types import Channel, Recording

    t = np.arange(50 * 20) / 50.0
    angle = np.radians(40.0) * np.sin(2 * np.pi * 0.5 * t)
    xyz = np.stack([np.zeros_like(t), np.sin(angle), np.cos(angle)], 1).astype(np.float32)
    channels = tuple(Channel(f"waist_acc_{a}", "waist", "acc", a, "g") for a in "xyz")
    rec = Recording("turn", "r1", "1", 50.0, channels, xyz, np.ones(t.size, np.int32),
                    {1: "STANDING"})
    cfg = BuildConfig(trend_method="robust")
    items = [it for it in pipeline.describe(rec, cfg, text.load_packs()).items
             if it.qa_type == "posture"]
    assert items
    table = dataset.items_to_table(items, rec, cfg.trend_params)
    assert np.linalg.norm(xyz, axis=1).std() < 1e-6
    for r in table.to_pylist():
        facts = json.loads(r["facts"])
        assert facts["motion"] == "moving" and facts["motion_rms"] > 0.2, facts
        assert _reject(r) == "", r["answer"]
        assert "posture.motion" in _reject(r, answer=_other_motion(r))


QUANTITY = re.compile(r"(\d+(?:\.\d+)?)\s*(m/s²|m/s\^2|g)\b")


def test_posture_on_m_s2_states_every_quantity_in_the_channel_unit() -> None:
    """A chest accelerometer in m/s² (MHealth, PAMAP2, WISDM, HHAR): its mean vector and
    its RMS deviation are both stated in m/s², in every phrasing (the answer once read
    "a magnitude of 1.076 g ... RMS deviation is 2.409 m/s^2"); the check accepts that
    and rejects the mean vector in g, as a number in g or as the m/s² number called g."""
    from generators.types import Channel, Recording

    t = np.arange(50 * 20) / 50.0
    g0 = 9.80665
    xyz = np.stack([0.6 * g0 + 1.5 * np.sin(2 * np.pi * 1.5 * t), np.zeros_like(t),
                    0.8 * g0 + 1.0 * np.cos(2 * np.pi * 1.5 * t)], 1).astype(np.float32)
    channels = tuple(Channel(f"chest_acc_{a}", "chest", "acc", a, "m/s²") for a in "xyz")
    rec = Recording("ms2", "r1", "1", 50.0, channels, xyz, np.ones(t.size, np.int32),
                    {1: "WALKING"})
    cfg = BuildConfig(trend_method="robust")
    pack = text.load_packs()["posture"]
    items = [it for it in pipeline.describe(rec, cfg, text.load_packs()).items
             if it.qa_type == "posture"]
    assert items
    for r in dataset.items_to_table(items, rec, cfg.trend_params).to_pylist():
        facts = json.loads(r["facts"])
        mean = np.linalg.norm(xyz[r["window_start"]:r["window_end"]].astype(np.float64)
                              .mean(axis=0))
        assert facts["gravity"] == round(mean, 3) and 9.7 < facts["gravity"] < 9.9, facts
        assert facts["unit"] == "m/s²" and facts["motion"] == "moving"
        variant = next(v for v in pack.variants if r["template_id"] == f"posture/{v.name}")
        for k in range(len(pack.phrases["gravity"])):
            answer = text.render_variant(pack, variant, facts, 0, "ms2", k).answer
            units = [u for _, u in QUANTITY.findall(answer)]
            assert units == ["m/s²", "m/s²"], answer  # mean vector, RMS deviation
            assert _reject(r, answer=answer) == "", answer
        stated = f"{facts['gravity']} m/s²"
        assert stated in r["answer"], r["answer"]
        in_g = f"{mean / g0:.3f} g"  # the old text: the right length, in another unit
        assert "posture.unit" in _reject(r, answer=r["answer"].replace(stated, in_g))
        same_number = r["answer"].replace(stated, f"{facts['gravity']} g")
        assert "posture.unit" in _reject(r, answer=same_number)


def test_robust_localization_rejects_the_opposite_direction(rows: pa.Table) -> None:
    recs = _where(rows, "temporal_localization", "robust")
    rec = max(recs, key=lambda r: abs(json.loads(r["facts"])["change"]))
    phrases = packs()["temporal_localization"].phrases
    target = json.loads(rec["facts"])["target"]
    other = "down" if target == "up" else "up"
    word = next(w for w in sorted(phrases[f"event_{target}"], key=len, reverse=True)
                if re.search(rf"(?<!\w){w}(?!\w)", rec["question"]))
    question = re.sub(rf"(?<!\w){word}(?!\w)", phrases[f"event_{other}"][0], rec["question"])
    # the steepest segment of the other direction lies elsewhere, or there is none
    assert re.match(r"temporal_localization\.(time|direction):", _reject(rec, question=question))


def test_truncated_answers_rejected(rows: pa.Table) -> None:
    for qa_type in TYPES:
        rec = _where(rows, qa_type, "sensorllm")[0]
        half = rec["answer"][:len(rec["answer"]) // 2]
        # an activity answer is one of the dataset's class names: half of one is none
        assert f"{qa_type}.structure" in _reject(rec, answer=half)


def test_period_of_a_known_sine() -> None:
    rate, hz = 50.0, 2.0
    t = np.arange(256) / rate
    p, strength = periodicity.period(np.sin(2 * np.pi * hz * t) + 0.3 * t, rate)
    assert p == pytest.approx(1 / hz, abs=0.5 / rate) and strength > 0.95
    assert periodicity.period(np.linspace(0, 1, 256), rate) is None


@pytest.mark.e2e
@pytest.mark.parametrize("method", METHODS)
def test_no_false_rejects_on_two_recordings(method: str) -> None:
    """Every row of two recordings passes (a maximum reached twice included)."""
    table = _table(method, 2, None)
    assert set(table["qa_type"].to_pylist()) == set(TYPES)
    _, bad = semantic.check_table(table)
    assert bad.num_rows == 0, bad["reason"].to_pylist()[:3]


def test_unanswerable_answer_must_restate_the_asked_time() -> None:
    cfg = BuildConfig(trend_method="robust")
    rec = next(pipeline.recordings(cfg))
    items = [it for it in pipeline.describe(rec, cfg, text.load_packs()).items
             if it.qa_type == "unanswerable" and "asked_t0" in it.facts]
    table = dataset.items_to_table(items, rec, cfg.trend_params).to_pylist()
    mutated = 0
    for row in table:
        asked = f"{json.loads(row['facts'])['asked_t0']:.2f}"
        if asked in row["answer"] and asked in row["question"]:
            wrong = f"{float(asked) + 0.01:.2f}"
            assert _reject(row) == ""
            assert "unanswerable.restated" in _reject(row, answer=row["answer"].replace(asked, wrong))
            mutated += 1
    assert mutated > 0


def test_one_accepts_a_word_capitalized_at_a_sentence_start():
    """"Sitting comes first … seconds of sitting": one value, not two."""
    from validation.checks._read import Unreadable, one
    assert one({"first": ["Sitting", "sitting"]}, "first") == "Sitting"
    with pytest.raises(Unreadable, match="inconsistently"):
        one({"first": ["sitting", "walking"]}, "first")


def _faint_sine(n: int, rate: float, seed: int) -> list[list[float]]:
    """A 2 Hz sine twice the std of white noise: it repeats, but within 5 × the noise."""
    t = np.arange(n) / rate
    x = 2.0 * np.sin(2 * np.pi * 2.0 * t) + np.random.default_rng(seed).normal(size=n)
    return [x.astype(np.float32).tolist()]


def test_periodicity_rejects_noise_transitions_and_a_wrong_stride(rows: pa.Table) -> None:
    recs = _where(rows, "periodicity", "robust")
    rec = recs[0]
    n = len(rec["series"][0])
    assert "periodicity.noise" in _reject(rec, series=_faint_sine(n, rec["sample_rate_hz"], 0))
    assert "periodicity.transition" in _reject(rec, next_activity="SITTING", change_index=n // 2)
    gait = [r for r in recs if json.loads(r["facts"])["steps_per_min"] is not None]
    assert gait, "no periodicity row with a cadence"
    for r in gait[:5]:
        per_cycle = json.loads(r["facts"])["steps_per_cycle"]
        said, wrong = ("one step", "two step") if per_cycle == 1 else ("of two steps",
                                                                      "of one steps")
        assert said in r["answer"], r["answer"]
        assert "periodicity.cadence" in _reject(r, answer=r["answer"].replace(said, wrong))


def _wrist_periodicity_rows(other: float) -> list[dict]:
    """Periodicity rows of a wrist accelerometer walking at 100 steps per minute, one
    beat per step (``synthetic.gait``), left and right steps unlike by ``other``."""
    from generators import synthetic
    from generators.types import Channel, Recording

    x = synthetic.gait(0, steps_per_min=100.0, beat="step", other=other, duration_s=30.0)
    channels = (Channel("left_wrist_acc_x", "left_wrist", "acc", "x", "g"),)
    rec = Recording("wrist", "r1", "1", 50.0, channels, x[:, None].astype(np.float32),
                    np.ones(x.size, np.int32), {1: "WALKING"})
    cfg = BuildConfig(trend_method="robust")
    items = [it for it in pipeline.describe(rec, cfg, text.load_packs()).items
             if it.qa_type == "periodicity"]
    assert items
    return dataset.items_to_table(items, rec, cfg.trend_params).to_pylist()


def _with_cadence(rec: dict, steps: int, per_cycle: int) -> str:
    """The row's answer, its variant rendered with the cadence ``steps`` at ``per_cycle``."""
    pack = packs()["periodicity"]
    variant = next(v for v in pack.variants if rec["template_id"] == f"periodicity/{v.name}")
    facts = {**json.loads(rec["facts"]), "steps_per_min": steps, "steps_per_cycle": per_cycle}
    return text.render_variant(pack, variant, facts, 0, rec["row_id"]).answer


def test_periodicity_cadence_on_a_wrist_is_rederived_step_or_stride() -> None:
    """A watch feeling each step (0.6 s), its stride 0.08 more alike: about 100 steps per
    minute at one step per cycle, accepted; the stride reading (200 at two, the old text) is
    rejected. Without the left/right difference nothing decides: no cadence is given, and
    one stated is rejected."""
    for rec in _wrist_periodicity_rows(0.2):
        facts = json.loads(rec["facts"])
        # the period of a 2.56 s window, to a parabola's precision: 99 to 101
        assert abs(facts["steps_per_min"] - 100) <= 1 and facts["steps_per_cycle"] == 1, facts
        assert _reject(rec) == "", rec["answer"]
        assert "periodicity.cadence" in _reject(rec, answer=_with_cadence(rec, 200, 2))
    for rec in _wrist_periodicity_rows(0.0):
        facts = json.loads(rec["facts"])
        assert facts["steps_per_min"] is None and _reject(rec) == "", rec["answer"]
        assert "periodicity.cadence" in _reject(rec, answer=_with_cadence(rec, 100, 1))
        assert "periodicity.cadence" in _reject(rec, answer=_with_cadence(rec, 200, 2))


def test_posture_word_checked_against_the_upright_axis(rows: pa.Table) -> None:
    recs = [r for r in _where(rows, "posture", "robust") if json.loads(r["facts"])["posture"]]
    assert recs, "no posture row states a posture"
    for rec in recs[:10]:
        word = json.loads(rec["facts"])["posture"]
        other = "lying" if word != "lying" else "upright"
        bad = re.sub(rf"\b{word}\b", other, rec["answer"])
        assert "posture.posture" in _reject(rec, answer=bad), rec["answer"]
    rec = recs[0]
    assert "posture.transition" in _reject(rec, next_activity="SITTING",
                                           change_index=len(rec["series"][0]) // 2)


def test_prominent_peaks_have_a_noise_floor() -> None:
    from validation.checks._signal import prominent_peaks

    noise = np.random.default_rng(3).normal(size=(20, 200))
    assert [prominent_peaks(x) for x in noise] == [0] * 20
    t = np.arange(200) / 50.0
    assert prominent_peaks(np.sin(2 * np.pi * 2.0 * t) + 0.05 * noise[0]) == 8


def test_activity_rejects_a_single_label_for_a_window_spanning_a_change(rows: pa.Table) -> None:
    rec = _where(rows, "activity", "robust")[0]
    assert _reject(rec) == ""
    assert "activity.transition" in _reject(rec, next_activity="SITTING",
                                            change_index=len(rec["series"][0]) // 2)


def test_correlations_of_known_channels() -> None:
    from validation.checks._signal import correlations

    series = np.array([[1, 2, 3, 4], [8, 6, 4, 2], [5, 5, 5, 5], [1, 0, 1, 0]], np.float32)
    r = correlations(series)
    assert r[0, 1] == pytest.approx(-1.0) and r[0, 0] == pytest.approx(1.0)
    assert r[0, 2] == r[2, 1] == r[2, 2] == 0.0  # a constant channel correlates with nothing
    assert r[0, 3] == pytest.approx(-0.4472135955, abs=1e-9)
    assert r[0, 3] == pytest.approx(float(np.corrcoef(series[0], series[3])[0, 1]), abs=1e-12)
