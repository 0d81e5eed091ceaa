"""Small frozen dataclasses that cross stage boundaries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

UNLABELLED = -1
DIRECTIONS = ("up", "down", "steady")

SPATIAL_AXES = ("x", "y", "z")
"""The axes a text calls axes (``x-axis``); other components (ECG leads) keep their name."""


@dataclass(frozen=True)
class Channel:
    """One sensor channel.

    Attributes:
        name: Unique column name, ``<location>_<modality>_<axis>`` (``waist_acc_x``).
        location: Body placement (``waist``, ``chest``, ``left_ankle``, ``wrist``…).
        modality: ``acc``, ``gyro``, ``mag``, ``ecg``, ``hr``…
        axis: ``x``, ``y``, ``z`` for a spatial axis; another component name (an ECG
            ``lead1``) for a channel of a sensor that is not along an axis; ``""`` for a
            scalar channel. Only spatial axes are compared or grouped as axes in text.
        unit: Physical unit as written in text (``g``, ``rad/s``, ``m/s²``, ``deg/s``, ``µT``).
    """

    name: str
    location: str
    modality: str
    axis: str
    unit: str


@dataclass(frozen=True, eq=False)
class Recording:
    """One continuous recording of one subject.

    Attributes:
        dataset: Dataset name (``uci_har``).
        recording_id: Unique within the dataset (``exp01_user01``).
        subject: Subject id as a string (``"1"``, ``"105"``, ``"P001"``).
        sample_rate_hz: Sampling rate.
        channels: Channel metadata, one per column of ``values``.
        values: float32 array, samples × channels.
        labels: int32 array, one label id per sample, ``UNLABELLED`` (−1) where none.
        label_names: Label id → activity name.
        source: Paths of the files this recording came from.
        vertical_axes: Body location → device axis (``x``/``y``/``z``) that points up the
            body when the wearer stands, where the dataset's placement fixes one (it gives
            the posture word; ``features.gravity``).
    """

    dataset: str
    recording_id: str
    subject: str
    sample_rate_hz: float
    channels: tuple[Channel, ...]
    values: np.ndarray
    labels: np.ndarray
    label_names: Mapping[int, str]
    source: tuple[str, ...] = ()
    vertical_axes: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        locations = {c.location for c in self.channels}
        for loc, axis in self.vertical_axes.items():
            if axis not in ("x", "y", "z") or loc not in locations:
                raise ValueError(f"{self.recording_id}: vertical axis {axis!r} of location "
                                 f"{loc!r}; expected x, y or z of one of {sorted(locations)}")
        if self.values.ndim != 2 or self.values.shape[1] != len(self.channels):
            raise ValueError(
                f"{self.recording_id}: values shape {self.values.shape} does not match "
                f"{len(self.channels)} channels"
            )
        if self.labels.shape != (self.values.shape[0],):
            raise ValueError(
                f"{self.recording_id}: {self.labels.shape[0]} labels for "
                f"{self.values.shape[0]} samples"
            )

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return int(self.values.shape[0])

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return self.n_samples / self.sample_rate_hz


@dataclass(frozen=True)
class Window:
    """A slice ``[start, end)`` of one recording (sample indices, end exclusive).

    Attributes:
        window_id: Unique id (``uci_har/exp01_user01/s1/250-310``).
        recording_id: The recording it was cut from.
        subject: Subject id.
        start: First sample index.
        end: One past the last sample index.
        activity: Activity name (for a transition window, the first activity); ``None``
            for a stage-1 window of a recording without labels.
        activity_id: Label id of ``activity`` (``None`` with it).
        split: ``train`` or ``test``.
        stage: 1 (alignment) or 2 (task-aware).
        next_activity: For windows spanning an activity change, the second activity.
        change_index: Sample index (within the window) where ``next_activity`` starts.
    """

    window_id: str
    recording_id: str
    subject: str
    start: int
    end: int
    activity: str | None
    activity_id: int | None
    split: str
    stage: int
    next_activity: str | None = None
    change_index: int | None = None

    @property
    def length(self) -> int:
        """Number of samples."""
        return self.end - self.start


@dataclass(frozen=True)
class TrendSegment:
    """One trend of a series: times in seconds from the window start.

    Attributes:
        start_s: Segment start time.
        end_s: Segment end time (the next segment starts here).
        start_value: Series value at ``start_s``.
        end_value: Series value at ``end_s``.
        direction: ``up``, ``down`` or ``steady``.
        slope_per_s: (end_value − start_value) / (end_s − start_s).
    """

    start_s: float
    end_s: float
    start_value: float
    end_value: float
    direction: str
    slope_per_s: float

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return self.end_s - self.start_s


@dataclass(frozen=True)
class ChannelSummary:
    """The facts for one channel of one window.

    Attributes:
        channel: The channel.
        segments: Trend segments in time order.
        stats: mean, std, min, max, median, range (in the channel's unit).
        overall: Direction of the whole window (``trends.overall``: up, down, steady).
        features: Richer registered features (name → value), units in the names.
    """

    channel: Channel
    segments: tuple[TrendSegment, ...]
    stats: Mapping[str, float]
    overall: str
    features: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class QAItem:
    """One output row.

    Attributes:
        row_id: Unique id of the row.
        window: The window it describes.
        channels: Names of the channels the row's series holds (one for stage 1).
        qa_type: Registered QA type name.
        question: Rendered question.
        answer: Rendered answer.
        facts: JSON-serialisable structured facts the answer was rendered from.
        template_id: ``<qa_type>/<variant name>``.
        template_version: Version of the template file.
        trend_method: Trend method used for the facts.
        seed: The build seed.
    """

    row_id: str
    window: Window
    channels: tuple[str, ...]
    qa_type: str
    question: str
    answer: str
    facts: Mapping[str, object]
    template_id: str
    template_version: str
    trend_method: str
    seed: int
