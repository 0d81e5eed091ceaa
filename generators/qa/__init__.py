"""QA types: one builder module per type, keyed by file name, rendered through templates/."""

from __future__ import annotations

import functools
import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Mapping

import numpy as np

from generators.contracts import QABuilder
from generators.errors import InputError
from generators.features import summarize, window_features
from generators.registry import Registry, UnknownNameError
from generators.seeding import stable_index
from generators.text import LintIssue, TemplatePack, lint_pack, render
from generators.types import Channel, ChannelSummary, QAItem, Window


QA_TYPES: Registry[QABuilder] = Registry("QA type")
"""QA type name (= module name in this package) → its builder module."""


@dataclass(frozen=True, eq=False)
class QAContext:
    """What a QA builder sees of one window.

    Attributes:
        dataset: Dataset name.
        window: The window.
        values: float32 array, window samples × channels.
        channels: Channel metadata, one per column of ``values``.
        sample_rate_hz: Sampling rate.
        summaries: One summary per channel, same order as ``channels``.
        label_names: All activity names of the build (for distractors).
        seed: Build seed.
        vertical_axes: Location → device axis pointing up the standing body, where the
            placement fixes one (``Recording.vertical_axes``).
    """

    dataset: str
    window: Window
    values: np.ndarray
    channels: tuple[Channel, ...]
    sample_rate_hz: float
    summaries: tuple[ChannelSummary, ...]
    label_names: tuple[str, ...]
    seed: int
    vertical_axes: Mapping[str, str] = field(default_factory=dict)
    _window_features: dict[str, object] = field(default_factory=dict, init=False, repr=False)

    def window_feature(self, name: str) -> object:
        """A registered cross-channel feature of the window (``features.WINDOW_FEATURES``),
        computed on first use: several builders of one window may ask for it."""
        if name not in self._window_features:
            self._window_features[name] = window_features(self.values, self.channels,
                                                          self.vertical_axes, [name])[name]
        return self._window_features[name]


@dataclass(frozen=True)
class Facts:
    """Facts for one row, produced by a builder.

    Attributes:
        channels: Names of the channels the row's series holds (stage 1: one).
        values: JSON-serialisable facts handed to the template; every number and
            direction the text states is in here, already computed.
        key: Distinguishes several rows of one type from the same window and channels.
    """

    channels: tuple[str, ...]
    values: Mapping[str, object]
    key: str = ""


def _discover() -> None:
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if not isinstance(module, QABuilder):
            raise TypeError(f"{module.__file__}: a QA builder defines STAGE and "
                            "build(ctx) -> Iterator[Facts]")
        QA_TYPES.add(info.name, module)


def builders_for_stage(stage: int) -> list[str]:
    """Names of the QA types that belong to ``stage``."""
    return [name for name in QA_TYPES if QA_TYPES[name].STAGE == stage]


def facts_for(qa_type: str, ctx: QAContext) -> Iterator[Facts]:
    """Run one builder on a window.

    Args:
        qa_type: Registered QA type name.
        ctx: The window context.

    Yields:
        One ``Facts`` per row the type makes for this window.
    """
    yield from QA_TYPES[qa_type].build(ctx)


def example_context(n_samples: int = 128, sample_rate_hz: float = 50.0, seed: int = 0,
                    activity: str = "WALKING", next_activity: str | None = None,
                    change_index: int | None = None) -> QAContext:
    """A small synthetic 6-channel window (waist acc in g, gyro in rad/s) for lint and tests.

    Each channel is a sine of its own frequency and phase plus seeded noise, so every
    builder finds several trends, peaks and correlations in it.

    Args:
        n_samples: Window length.
        sample_rate_hz: Sampling rate.
        seed: Noise seed.
        activity: Activity label of the window.
        next_activity: Second activity of a transition window, or ``None``.
        change_index: Sample where ``next_activity`` starts.

    Returns:
        A context over a window ``example/rec/<n_samples>`` of subject ``"0"``, with the
        waist's x-axis up the standing body (as on UCI HAPT).
    """
    channels = tuple(Channel(f"waist_{m}_{a}", "waist", m, a, u)
                     for m, u in (("acc", "g"), ("gyro", "rad/s")) for a in "xyz")
    t = np.arange(n_samples) / sample_rate_hz
    freq = np.array([1.0, 2.0, 1.0, 3.0, 1.5, 2.5])
    phase = np.array([0.0, 1.0, 0.3, 2.0, 0.5, 1.5])
    offset = np.array([1.0, -0.2, 0.1, 0.0, 0.0, 0.0])
    rng = np.random.default_rng(seed)
    values = (offset + 0.5 * np.sin(2 * np.pi * freq * t[:, None] + phase)
              + 0.05 * rng.standard_normal((n_samples, len(channels)))).astype(np.float32)
    window = Window(f"example/rec/{n_samples}", "rec", "0", 0, n_samples, activity, 1,
                    "train", 1, next_activity, change_index)
    summaries = tuple(summarize(values[:, i], sample_rate_hz, ch) for i, ch in enumerate(channels))
    return QAContext("example", window, values, channels, sample_rate_hz, summaries,
                     ("WALKING", "SITTING", "STANDING", "LAYING"), seed, {"waist": "x"})


DEFAULT_SHARE = 0.5
"""Share of a QA type that the mix does not name (a user's new type shows up by default)."""

DEFAULT_MIX: Mapping[int, Mapping[str, float]] = {
    1: {"trend_summary": 1.0, "trend_analysis": 1.0, "change_amount": 0.3, "extremes": 0.3,
        "temporal_localization": 0.3, "counting": 0.3, "multiple_choice": 0.3,
        "true_false": 0.3, "unanswerable": 0.15},
    2: {"activity": 1.0, "transition": 1.0, "channel_comparison": 0.5, "posture": 0.5,
        "periodicity": 0.5},
}
"""Default share per stage: the probability that a window gets the type's rows. The
seed's types are in every window; a transition row exists only for transition windows."""


def stage_mix(stage: int, mix: Mapping[str, Mapping[str, float]] | None = None) -> dict[str, float]:
    """Effective share of every QA type of a stage.

    Args:
        stage: 1 or 2.
        mix: Overrides as in ``BuildConfig.qa_mix``: ``{"1": {"counting": 0.5}, …}``
            (stage keys as strings or ints); unnamed types keep their default.

    Returns:
        QA type → share in [0, 1], for the stage's registered types.

    Raises:
        UnknownNameError: A type that is not registered (the known ones listed).
        ValueError: A share outside [0, 1] or a type of another stage.
    """
    shares = {name: DEFAULT_MIX.get(stage, {}).get(name, DEFAULT_SHARE)
              for name in builders_for_stage(stage)}
    overrides = {str(k): v for k, v in (mix or {}).items()}
    for name, share in overrides.get(str(stage), {}).items():
        builder = QA_TYPES[name]  # an unknown name raises, listing the known ones
        if builder.STAGE != stage:
            raise ValueError(f"QA type {name!r} belongs to stage {builder.STAGE}, not {stage}")
        if not 0.0 <= float(share) <= 1.0:
            raise ValueError(f"share of {name!r} must be within [0, 1], got {share}")
        shares[name] = float(share)
    return shares


def select_types(window: Window, seed: int,
                 mix: Mapping[str, Mapping[str, float]] | None = None) -> list[str]:
    """The QA types one window gets, drawn from (seed, window id) so any worker agrees.

    Args:
        window: The window (its ``stage`` picks the stage's mix).
        seed: Build seed.
        mix: Overrides of ``DEFAULT_MIX`` (see ``stage_mix``).

    Returns:
        QA type names, sorted; each type is included with probability = its share.
    """
    return [name for name, share in sorted(stage_mix(window.stage, mix).items())
            if stable_index(seed, window.window_id, f"mix/{name}", 1_000_000) < share * 1_000_000]


def row_id(window_id: str, qa_type: str, facts: Facts) -> str:
    """Deterministic unique row id: ``<window>/<qa_type>/<channel or 'all'>[/<key>]``."""
    who = facts.channels[0] if len(facts.channels) == 1 else "all"
    return f"{window_id}/{qa_type}/{who}" + (f"/{facts.key}" if facts.key else "")


def build_items(ctx: QAContext, qa_types: Iterable[str], packs: Mapping[str, TemplatePack],
                trend_method: str, seed: int) -> list[QAItem]:
    """Build and render every row of the given QA types for one window.

    Args:
        ctx: The window context.
        qa_types: QA type names to build (each must have a builder and a pack).
        packs: QA type → template pack (``generators.text.load_packs``).
        trend_method: Trend method the summaries were made with (provenance).
        seed: Build seed; with the row id it picks variant and synonyms.

    Returns:
        The rows, in the order of ``qa_types`` then builder order.

    Raises:
        UnknownNameError: A type has no builder or no template pack (lists the known).
    """
    items = []
    for qa_type in qa_types:
        if qa_type not in packs:
            known = ", ".join(sorted(packs)) or "none"
            raise UnknownNameError(f"no template pack for QA type {qa_type!r}; known: {known}")
        pack = packs[qa_type]
        for facts in facts_for(qa_type, ctx):
            rid = row_id(ctx.window.window_id, qa_type, facts)
            text = render(pack, facts.values, seed, rid)
            items.append(QAItem(
                row_id=rid, window=ctx.window, channels=facts.channels, qa_type=qa_type,
                question=text.question, answer=text.answer, facts=facts.values,
                template_id=text.template_id, template_version=text.template_version,
                trend_method=trend_method, seed=seed))
    return items


@functools.lru_cache(maxsize=1)
def lint_contexts() -> tuple[QAContext, ...]:
    """Synthetic windows lint runs builders on: long, short, two samples (single-segment
    branches) and a transition window. Cached: they are immutable and costly to summarize."""
    return (example_context(128), example_context(7), example_context(2),
            example_context(100, activity="STAND_TO_SIT", next_activity="SITTING",
                            change_index=60))


@functools.lru_cache(maxsize=None)
def _lint_samples(qa_type: str) -> tuple[Mapping[str, object], ...]:
    return tuple(f.values for ctx in lint_contexts() for f in facts_for(qa_type, ctx))


def lint_packs(packs: Mapping[str, TemplatePack]) -> list[LintIssue]:
    """Lint every pack against its builder's facts on synthetic windows.

    Args:
        packs: QA type → pack (``generators.text.load_packs``).

    Returns:
        Issues naming file and variant; a pack without a builder, or a builder
        without a pack, is an issue too.
    """
    issues = []
    for qa_type in sorted(set(packs) | set(QA_TYPES)):
        if qa_type not in packs:
            issues.append(LintIssue(f"templates/{qa_type}.yaml", None,
                                    f"QA type {qa_type!r} has a builder but no template file"))
            continue
        pack = packs[qa_type]
        if qa_type not in QA_TYPES:
            issues.append(LintIssue(pack.path or qa_type, None,
                                    f"no builder generators/qa/{qa_type}.py for this pack; "
                                    f"known QA types: {QA_TYPES.names()}"))
            samples = []
        else:
            samples = list(_lint_samples(qa_type))
        issues += lint_pack(pack, samples)
    return issues


def check_packs(packs: Mapping[str, TemplatePack]) -> None:
    """Refuse packs that would fail or compute mid-build (a build with user templates
    lints them first, so a mistake stops it before any window is described).

    Args:
        packs: QA type → pack.

    Raises:
        InputError: The first issue that is not only about sentence form, naming the
            file and the variant or phrasing, with the number of further ones.
    """
    issues = [i for i in lint_packs(packs) if not i.style]
    if issues:
        first = issues[0]
        more = f" ({len(issues) - 1} more: see `harqa templates lint`)" if len(issues) > 1 else ""
        raise InputError(first.path, first.message + more, field=first.variant)


_discover()
