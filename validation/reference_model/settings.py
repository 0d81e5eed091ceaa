"""Settings of one verification run, with a CPU preset (the default) and a larger CUDA preset."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from generators.registry import UnknownNameError


@dataclass(frozen=True)
class VerifySettings:
    """Model size, training length and row budgets of one verification run.

    Attributes:
        seed: Seed of subsampling, shuffling, initialisation and batching.
        device: ``cpu`` or ``cuda``.
        n_layer: Transformer blocks.
        n_embd: Hidden size. (One-off runs on the demo, all else default but 7,740
            training rows: 3 blocks reached held-out loss 0.534 and generated trend
            accuracy 0.692; width 96, loss 0.511 but accuracy 0.621 and 543 s of
            training. Lower loss did not mean better generated answers.)
        n_head: Attention heads.
        dropout: Dropout of every GPT-2 dropout layer.
        text_vocab: BPE merges learned on the dataset's text beyond the 256 byte tokens.
        n_bins: Sensor value bins.
        clip: Standardized values are clipped to ± this many standard deviations.
        value_kernel: Bin tokens of the centred convolution that embeds bin values (odd:
            the token and ``value_kernel // 2`` on each side; level, local change and
            what follows).
        stage1_qa_types: Stage-1 QA types trained and scored; empty means all.
        stage1_pool: Samples averaged into one stage-1 sensor token. (2 on the demo, a
            one-off run: generated trend accuracy 0.42, since half the times an answer
            names then fall between two tokens.)
        stage1_train_rows: Most stage-1 training rows (seeded row-hash subsample). (All
            7,740 of the demo's, a one-off run: held-out loss 0.533 vs 0.549, generated
            trend accuracy 0.716 vs 0.725, 65 s more. A reader trained for nothing else,
            ``bench_trend_reader.py`` on the demo's 4,000 rows, reaches 0.778 on the
            held-out subject after 1,500 steps and 0.775 after 5,000 at width 96, while
            on training rows it climbs from 0.807 to 0.951 (memorizing two subjects).
            On HAPT users 1–8 with the same held-out rows, 40,000 training rows from
            seven subjects, width 96 and 5,000 steps: 0.803 held out, 0.822 on training
            rows. More data stops the memorizing but barely moves what is read; the
            reference model's 0.795 is at this reader's ceiling.)
        stage1_test_rows: Most stage-1 test rows generated and scored.
        stage1_steps: Optimizer steps of each stage-1 language model (one-off runs on
            the demo: generated trend accuracy 0.60 after 600 steps, 0.68 after 900 and
            after 1,200; 1,200 overran the 600 s budget at 747 s when this 2-core
            machine ran 1.5 × slower than usual). With the model as it is now, 900 steps
            took 549–592 s in all (``harqa verify``, seeds 0 and 1, three runs; stage 2
            at 200 steps) and scored 0.795 generated / 0.943 forced / 0.945 on firm rows
            (seed 0); 800 steps with stage 2 at 150 took 538 s and scored 0.787 / 0.938 /
            0.959 (``bench_reference_model.py``): 800 keeps the run clear of the budget.
        batch_tokens: Token budget of one training batch (rows × padded length).
            (8,192 for 600 steps on 7,740 rows, a one-off run: accuracy 0.679.)
        lr: Peak AdamW learning rate (linear warm-up, cosine decay).
        direction_weight: Weight of the stage-1 auxiliary loss: each sensor token's hidden
            state predicts the trend direction the answer states at its time
            (``model.forward``), and that reading helps choose among the sampled answers
            (``metrics.mbr_choice``); 0 turns both off. One-off runs on a demo build's 200
            held-out rows (generated trend accuracy, greedy / chosen of 5; before this
            loss 0.681 / 0.725): weight 1 with sensor tokens attending only backwards
            0.735 / 0.766 (0.775 with the head's reading in the choice), weight 3 0.761
            (chosen); both ways (as now) weight 1 0.739 / 0.797, weight 0.3 0.733 /
            0.758, and weight 1 with 3 layers 0.719 / 0.775. The head alone, read as a
            timeline, scored 0.737 (backwards only) and 0.778 (both ways). On the demo as
            built now: 0.669 before, 0.771 with all of it (``bench_reference_model.py``).
        eval_rows: Held-out rows whose loss traces the learning curve.
        eval_points: Number of held-out loss evaluations along training.
        max_answer_tokens: Cap on generated answer tokens.
        time_tolerance: Sensor positions on each side of a time whose probability counts
            for it when a generated answer names a time (``model.choose_tokens``); 0:
            plain greedy decoding.
        mbr_samples: Answers sampled per test prompt besides the greedy one; the one
            agreeing best with the others is scored (minimum-Bayes-risk decoding,
            ``metrics.mbr_choice``); 0: greedy only. On the demo's 200 held-out rows (one
            trained model, one-off runs at temperature 0.7, three sampling seeds for 8)
            generated trend accuracy 0.681 greedy, 0.725 and 0.728 with 4 samples,
            0.69–0.72 with 8 (which cost 13 s more per model). On another draw of
            the same candidates, choosing by the model's own likelihood did worse
            (0.627; per answer token 0.680) than agreement (0.697), and a per-time
            majority of the candidates' timelines did no better (0.697; 8 samples:
            0.714 vs 0.711), while the best candidate by the reference reached 0.835.
            Since the direction head's reading joins the choice (``direction_weight``),
            more samples pay: on the demo as built now 0.771 with 4, 0.795 with 8 (0.782
            with 8 after 750 steps); guide weights 0.5–4 × the other candidates'
            scored 0.765–0.772 with 4 and 0.783–0.796 with 8, without it 0.745 / 0.767.
        mbr_temperature: Temperature of those samples. (One-off runs on the demo as built
            now, 8 samples with the head's reading: 0.786 at 0.5, 0.795 at 0.7, 0.769 at 1.0.)
        mbr_batch: Prompts per batch while sampling.
        stage2_train_rows: Most stage-2 training rows.
        stage2_test_rows: Most stage-2 test rows.
        stage2_steps: Optimizer steps of each stage-2 classifier.
        stage2_pool: Samples averaged into one stage-2 sensor token. A step costs the
            same at any pool (``batch_tokens`` per step), so a coarser token puts more
            windows in each step. One-off runs on the demo (3 seeds averaged; macro-F1
            with seed 0 / seed 1, seconds of stage 2): pool 4 and 300 steps 0.862 / 0.876,
            129 s; pool 8, 300 steps 0.923, 112 s; pool 8, 200 steps 0.893, 80 s; pool 16,
            200 steps 0.929 / 0.898, 78 s; pool 16, 150 steps 0.901, 61 s (the preset:
            the budget's margin). An activity shows in 0.32 s tokens as well as in 0.08 s
            ones; trends are stage 1's task.
        stage2_seeds: Classifiers trained (seeds ``seed``, ``seed + 1``, …) whose class
            probabilities are averaged: on the demo's 651 training windows at pool 4
            single seeds scored macro-F1 0.84, 0.82 and 0.81 on the held-out subject after
            300 steps (0.74, 0.89, 0.80 after 400), their average 0.862 (0.885); the
            nearest-centroid baseline 0.849 (one-off runs).
        threads: Torch CPU threads during the run; 0 keeps torch's default. One thread
            is faster than two on a machine whose cores are busy with other work.
    """

    seed: int = 0
    device: str = "cpu"
    n_layer: int = 2
    n_embd: int = 64
    n_head: int = 4
    dropout: float = 0.0
    text_vocab: int = 512
    n_bins: int = 64
    clip: float = 3.0
    value_kernel: int = 25
    stage1_qa_types: tuple[str, ...] = ("trend_analysis",)
    stage1_pool: int = 1
    stage1_train_rows: int = 4000
    stage1_test_rows: int = 200
    stage1_steps: int = 800
    batch_tokens: int = 4096
    lr: float = 4e-3
    direction_weight: float = 1.0
    eval_rows: int = 48
    eval_points: int = 10
    max_answer_tokens: int = 384
    time_tolerance: int = 1
    mbr_samples: int = 8
    mbr_temperature: float = 0.7
    mbr_batch: int = 256
    stage2_train_rows: int = 3000
    stage2_test_rows: int = 1500
    stage2_steps: int = 150
    stage2_pool: int = 16
    stage2_seeds: int = 3
    threads: int = 0

    def to_dict(self) -> dict:
        """JSON-ready dict of every setting."""
        return asdict(self)


PRESETS = {
    "cpu": VerifySettings(),
    # Measured on one H200 (2026-11-29, demo build, seed 0, ``bench_reference_model.py``):
    # a run with these stage-1 settings and stage 2 at 200 steps took 269 s in all
    # (training 77 s per model, generating 22 s aligned and 35 s shuffled) and scored
    # generated trend accuracy 0.795 aligned / 0.361 shuffled, forced 0.964 / 0.647; stage
    # 2 at 500 steps (another run) scored accuracy 0.904, macro-F1 0.900 (nearest centroid
    # 0.849), at 200 steps 0.855. One-off runs: 1,500 steps and 8 samples gave 0.781 / 0.946
    # (held-out loss flat from step 1,200 on: 7,740 rows, two subjects). All QA types,
    # 1,000 test rows and 3,000 steps (this preset before) were not run: at the measured
    # 62 ms per step, training alone would take about 370 s.
    "cuda": VerifySettings(device="cuda", n_layer=6, n_embd=256, n_head=8, text_vocab=1024,
                           n_bins=128, stage1_pool=1, stage1_train_rows=40000,
                           stage1_test_rows=200, stage1_steps=1200, batch_tokens=32768,
                           lr=1e-3, mbr_samples=24, mbr_batch=1024, stage2_train_rows=20000,
                           stage2_test_rows=5000, stage2_steps=500, stage2_pool=1),
}
"""Default settings per device: ≤ 10 min on a 2-core CPU; a larger model on a GPU (about
5 min on an H200)."""


def settings_for(device: str = "cpu", **overrides: object) -> VerifySettings:
    """The preset of ``device`` with some fields replaced.

    Args:
        device: ``cpu`` or ``cuda``.
        **overrides: ``VerifySettings`` fields to change.

    Returns:
        The settings.

    Raises:
        UnknownNameError: An unknown device (the known ones listed).
    """
    if device not in PRESETS:
        raise UnknownNameError(f"unknown device {device!r}; known: {', '.join(sorted(PRESETS))}")
    return replace(PRESETS[device], **overrides)
