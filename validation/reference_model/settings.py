"""Settings of one verification run: the full preset (CPU and CUDA forms) and a quick one."""

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
        n_embd: Hidden size.
        n_head: Attention heads.
        dropout: Dropout of every GPT-2 dropout layer.
        text_vocab: BPE merges learned on the dataset's text beyond the 256 byte tokens.
        n_bins: Sensor value bins.
        clip: Standardized values are clipped to ± this many standard deviations.
        value_kernel: Bin tokens of the centred convolution that embeds bin values (odd:
            the token and ``value_kernel // 2`` on each side; level, local change and
            what follows).
        stage1_qa_types: Stage-1 QA types whose rows fill ``stage1_train_rows`` and
            ``stage1_test_rows`` (the trend measures are read on them); empty means all.
        stage1_pool: Samples averaged into one stage-1 sensor token.
        stage1_train_rows: Most stage-1 training rows of ``stage1_qa_types`` (seeded
            row-hash subsample, ``data.load_rows``).
        stage1_test_rows: Most stage-1 test rows of ``stage1_qa_types`` generated and
            scored.
        stage1_steps: Optimizer steps of each stage-1 language model.
        batch_tokens: Token budget of one training batch (rows × padded length).
        lr: Peak AdamW learning rate (linear warm-up, cosine decay).
        direction_weight: Weight of the stage-1 auxiliary loss: each sensor token's hidden
            state predicts the trend direction the answer states at its time, and that
            reading helps choose among the sampled answers; 0 turns both off.
        eval_rows: Held-out rows whose loss traces the learning curve.
        eval_points: Number of held-out loss evaluations along training.
        max_answer_tokens: Cap on generated answer tokens; 0: no answers generated (only
            the teacher-forced measures are scored).
        time_tolerance: Sensor positions on each side of a time whose probability counts
            for it when a generated answer names a time; 0: plain greedy decoding.
        mbr_samples: Answers sampled per test prompt of a trend answer besides the greedy
            one; the one agreeing best with the others is scored (minimum-Bayes-risk
            decoding); 0: greedy only.
        mbr_temperature: Temperature of those samples.
        mbr_batch: Prompts per batch while sampling.
        stage2_train_rows: Most stage-2 training rows.
        stage2_test_rows: Most stage-2 test rows.
        stage2_steps: Optimizer steps of each stage-2 classifier.
        stage2_pool: Samples averaged into one stage-2 sensor token.
        stage2_seeds: Classifiers trained (seeds ``seed``, ``seed + 1``, …) whose class
            probabilities are averaged.
        type_train_rows: Most training rows of each other QA type the dataset has (the
            stage-1 types beyond ``stage1_qa_types`` and the stage-2 types answered in
            text), trained into the same language model (seeded row-hash subsample); 0
            in both presets (the CPU model does not learn those answer formats within its
            budget, and they dilute its trend training: ``docs/reference_model.md``).
        type_test_rows: Most test rows of each of those QA types generated (greedy) and
            scored (``scoring``); 0: only the trend rows and the classifier are scored.
        threads: Torch CPU threads during the run; 0 keeps torch's default.

    How the defaults were chosen (measured runs and figures): ``docs/reference_model.md``.
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
    type_train_rows: int = 0
    type_test_rows: int = 0
    threads: int = 0

    def to_dict(self) -> dict:
        """JSON-ready dict of every setting."""
        return asdict(self)


PRESETS = {
    "cpu": VerifySettings(),
    "cuda": VerifySettings(device="cuda", n_layer=6, n_embd=256, n_head=8, text_vocab=1024,
                           n_bins=128, stage1_pool=1, stage1_train_rows=40000,
                           stage1_test_rows=200, stage1_steps=1200, batch_tokens=32768,
                           lr=1e-3, mbr_samples=24, mbr_batch=1024, stage2_train_rows=20000,
                           stage2_test_rows=5000, stage2_steps=500, stage2_pool=1),
}
"""The full preset per device (the default): the CPU form fits 10 minutes on a 2-core CPU;
the CUDA form is a larger model for one GPU (timings: ``docs/reference_model.md``)."""

QUICK = VerifySettings(stage1_steps=200, stage1_test_rows=2000, max_answer_tokens=0,
                       mbr_samples=0, eval_points=2, stage2_steps=60, stage2_seeds=1,
                       type_train_rows=0, type_test_rows=0, threads=1)
"""The quick preset (``harqa verify --preset quick``, on either device): the CPU model
trained on trend answers for a quarter of the steps and read under teacher forcing on every
held-out trend row (``max_answer_tokens`` 0: no answer is generated, so the free-generation
and per-QA-type scores are left out), beside one small stage-2 classifier, on one torch CPU thread (a model this small
runs slower on two threads of a 2-core machine than on one); its budget is 2 minutes on a
2-core CPU. The calibration curve (``calibration.json``) is measured with it."""

PRESET_NAMES = ("full", "quick")
"""The presets ``settings_for`` knows."""


def settings_for(device: str = "cpu", preset: str = "full", **overrides: object) -> VerifySettings:
    """A preset on ``device`` with some fields replaced.

    Args:
        device: ``cpu`` or ``cuda``.
        preset: ``full`` (the device's own preset) or ``quick``.
        **overrides: ``VerifySettings`` fields to change; ``None`` keeps the preset's.

    Returns:
        The settings.

    Raises:
        UnknownNameError: An unknown device or preset (the known ones listed).
    """
    if device not in PRESETS:
        raise UnknownNameError(f"unknown device {device!r}; known: {', '.join(sorted(PRESETS))}")
    if preset not in PRESET_NAMES:
        raise UnknownNameError(f"unknown preset {preset!r}; known: {', '.join(PRESET_NAMES)}")
    base = PRESETS[device] if preset == "full" else replace(QUICK, device=device)
    given = {name: value for name, value in overrides.items() if value is not None}
    return replace(base, **given)
