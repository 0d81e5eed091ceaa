"""The effective settings of one build, as a frozen dataclass with a stable hash."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field

from generators.trends import trend_params


DATASET_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")
"""A dataset name: one plain directory name (no separators, no hidden or parent dirs)."""


@dataclass(frozen=True)
class BuildConfig:
    """Everything that determines a build's rows.

    Attributes:
        dataset: Output dataset name (directory under the output root).
        reader: Reader name in ``READERS``.
        input: Source path; ``None`` means the embedded sample.
        reader_options: Keyword options passed to the reader.
        sample_rate_hz: Target rate; recordings at another rate are resampled.
        channels: Channel names kept, in order; ``None`` keeps all.
        classes: Label ids kept; ``None`` keeps every labelled run.
        stage1_window: Stage-1 ``(min, max)`` window length in samples.
        stage1_repeats_train: Random segmentations per training run.
        stage1_repeats_test: Random segmentations per test run.
        stage2_window: Stage-2 window length in samples.
        stage2_stride: Stage-2 stride in samples.
        test_subjects: Subjects of the test split.
        stages: Stages to build.
        seed: Seed of every random choice.
        trend_method: Trend method name.
        trend_params: Trend method parameters; completed with the method's defaults.
        templates_dir: Directory of user template packs overlaid on the built-ins.
        qa_mix: Share of each QA type per stage (``{"1": {"trend_summary": 0.5, …}}``);
            empty means the documented default mix.
        min_pass_rate: The build fails when fewer rows than this share pass validation.
        shard_s: Seconds of recording per shard: a longer recording is cut, described,
            validated and written one contiguous span at a time, so a build's memory does
            not grow with a recording's length (the rows do not depend on it).
    """

    dataset: str = "uci_har"
    reader: str = "uci_har"
    input: str | None = None
    reader_options: dict = field(default_factory=dict)
    sample_rate_hz: float = 50.0
    channels: tuple[str, ...] | None = None
    classes: tuple[int, ...] | None = (1, 2, 3, 4, 5, 6)
    stage1_window: tuple[int, int] = (5, 200)
    stage1_repeats_train: int = 2
    stage1_repeats_test: int = 1
    stage2_window: int = 128
    stage2_stride: int = 64
    test_subjects: tuple[str, ...] = ("3",)
    stages: tuple[int, ...] = (1, 2)
    seed: int = 0
    trend_method: str = "robust"
    trend_params: dict = field(default_factory=dict)
    templates_dir: str | None = None
    qa_mix: dict = field(default_factory=dict)
    min_pass_rate: float = 0.99
    shard_s: float = 1800.0

    def __post_init__(self) -> None:
        if not DATASET_NAME.fullmatch(self.dataset):
            raise ValueError(f"dataset name {self.dataset!r}: expected letters, digits, '.', "
                             f"'_' or '-', not starting with '.' or '-' (it names a directory "
                             f"under the output root and starts every row id)")
        # Spell out every trend parameter (defaults too): rows record their full
        # provenance, and the config digest changes when a default changes.
        object.__setattr__(self, "trend_params",
                           trend_params(self.trend_method, **self.trend_params))

    def to_dict(self) -> dict:
        """JSON-ready dict of every setting."""
        return json.loads(json.dumps(dataclasses.asdict(self), default=str))

    def digest(self) -> str:
        """SHA-256 of the settings that decide the rows (the output location excluded)."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()

    def split_of(self, subject: str) -> str:
        """``test`` for test subjects, else ``train``."""
        return "test" if subject in self.test_subjects else "train"
