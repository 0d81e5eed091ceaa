"""Typed run configuration: a preset plus the command line's overrides → ``BuildConfig``."""

from __future__ import annotations

from pathlib import Path

from generators import presets
from generators.config import BuildConfig

#: The embedded sample holds users 1–3; the demo holds out user 3.
SAMPLE_TEST_SUBJECTS = ("3",)


def parse_stages(stage: str) -> tuple[int, ...]:
    """``"1"``, ``"2"`` or ``"all"`` → the stages to build."""
    choices = {"1": (1,), "2": (2,), "all": (1, 2)}
    if stage not in choices:
        raise ValueError(f"--stage must be 1, 2 or all, not {stage!r}")
    return choices[stage]


def make_config(preset: str = "uci_har", *, input: Path | str | None = None, seed: int = 0,
                stage: str = "all", templates: Path | str | None = None,
                trend_method: str | None = None, test_subjects: str | None = None,
                name: str | None = None, reader_options: dict | None = None,
                shard_s: float | None = None) -> BuildConfig:
    """The effective build settings.

    Args:
        preset: Preset name, or the path of a preset YAML file of one's own.
        input: Source path; ``None`` uses the embedded sample (test subject 3).
        seed: Build seed.
        stage: ``1``, ``2`` or ``all``.
        templates: Directory of user template packs.
        trend_method: Overrides the default trend method.
        test_subjects: Comma-separated subjects overriding the preset's test split.
        name: Dataset directory name (default: the preset's name or file stem).
        reader_options: Reader options merged over the preset's (e.g. ``experiments``).
        shard_s: Seconds of recording per shard, overriding the preset's.

    Returns:
        The build configuration.
    """
    overrides: dict = {"reader_options": reader_options} if reader_options else {}
    if shard_s is not None:
        overrides["shard_s"] = shard_s
    if test_subjects is not None:
        overrides["test_subjects"] = [s.strip() for s in test_subjects.split(",") if s.strip()]
    elif input is None:
        overrides["test_subjects"] = list(SAMPLE_TEST_SUBJECTS)
    settings = presets.load(preset, overrides).settings()
    extra = {"trend_method": trend_method} if trend_method else {}
    return BuildConfig(dataset=name or Path(preset).stem, input=None if input is None else str(input),
                       seed=seed, stages=parse_stages(stage),
                       templates_dir=None if templates is None else str(templates),
                       **settings, **extra)
