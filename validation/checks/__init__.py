"""Semantic checks: one module per QA type, keyed by file name, that re-derive answers."""

from __future__ import annotations

import importlib
import json
import pkgutil
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Mapping

import numpy as np

from generators.contracts import Check
from generators.registry import Registry

if TYPE_CHECKING:
    from validation.checks._read import Reader

CHECKS: Registry[Check] = Registry("semantic check")
"""QA type (= module name in this package) → its check module."""


@dataclass(frozen=True)
class Failure:
    """One way a row's text disagrees with its series.

    Attributes:
        check: Check name, ``<qa_type>.<aspect>`` or ``text.<aspect>``.
        reason: What the text said and what the series gives.
    """

    check: str
    reason: str


@dataclass(frozen=True, eq=False)
class Row:
    """What a check may look at: the stored series, the window and the text (never ``facts``).

    Attributes:
        row_id: Row id.
        qa_type: QA type.
        question: Question text.
        answer: Answer text.
        series: float32 array, channels × samples.
        sample_rate_hz: Sampling rate.
        channel_names: Channel names, one per row of ``series``.
        channel_units: Channel units.
        channel_locations: Channel body locations.
        channel_modalities: Channel modalities.
        channel_axes: Channel axes (``x``, ``y``, ``z``, another component name, or ``""``).
        activity: Activity label of the window.
        next_activity: Second activity of a transition window, else ``None``.
        change_index: Sample (within the window) where ``next_activity`` starts.
        template_id: ``<qa_type>/<variant>``.
        trend_method: Trend method named in the row.
        trend_params: Its parameters.
        reader: The template packs and class names to read the text along
            (``_read.Reader``); ``None``: the built-in packs, classes read as free text.
        trends: Trend segments (or their ``Failure``) of some channels, by channel index,
            recomputed from this row's series with the table's others
            (``_trends.segments_of``); ``None``: each computed when a check asks.
    """

    row_id: str
    qa_type: str
    question: str
    answer: str
    series: np.ndarray
    sample_rate_hz: float
    channel_names: tuple[str, ...]
    channel_units: tuple[str, ...]
    channel_locations: tuple[str, ...]
    channel_modalities: tuple[str, ...]
    channel_axes: tuple[str, ...]
    activity: str
    next_activity: str | None
    change_index: int | None
    template_id: str
    trend_method: str
    trend_params: Mapping[str, object]
    reader: Reader | None = None
    trends: Mapping[int, object] | None = None

    @classmethod
    def from_record(cls, rec: Mapping[str, object], series: np.ndarray,
                    reader: Reader | None = None) -> "Row":
        """Build from one table record (a dict of column values) and its series array."""
        return cls(
            row_id=rec["row_id"], qa_type=rec["qa_type"], question=rec["question"],
            answer=rec["answer"], series=series, sample_rate_hz=float(rec["sample_rate_hz"]),
            channel_names=tuple(rec["channel_names"]), channel_units=tuple(rec["channel_units"]),
            channel_locations=tuple(rec["channel_locations"]),
            channel_modalities=tuple(rec["channel_modalities"]),
            channel_axes=tuple(rec["channel_axes"]), activity=rec["activity"],
            next_activity=rec["next_activity"], change_index=rec["change_index"],
            template_id=rec["template_id"], trend_method=rec["trend_method"],
            trend_params=json.loads(rec["trend_params"] or "{}"), reader=reader,
        )


def spans_change(row: Row, qa_type: str, why: str) -> list[Failure]:
    """A failure when the row's window spans an activity change, which a row of
    ``qa_type`` cannot describe (``why``); none otherwise."""
    if not row.next_activity:
        return []
    return [Failure(f"{qa_type}.transition", f"the window changes from {row.activity} to "
                                             f"{row.next_activity}: {why}")]


def run(row: Row) -> list[Failure]:
    """All failures of the row's QA-type check (a missing check is itself a failure)."""
    if row.qa_type not in CHECKS:
        return [Failure("missing_check", f"no semantic check for QA type {row.qa_type!r}; "
                                         f"known: {', '.join(CHECKS.names()) or 'none'}")]
    return list(CHECKS[row.qa_type].check(row))


def trend_channels(row: Row) -> Iterable[int]:
    """Channels whose trend segments the row's check reads (its module's
    ``trend_channels``; none for a check without one or a missing check)."""
    if row.qa_type not in CHECKS:
        return ()
    module = CHECKS[row.qa_type]
    return module.trend_channels(row) if hasattr(module, "trend_channels") else ()


def _discover() -> None:
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            CHECKS.add(info.name, importlib.import_module(f"{__name__}.{info.name}"))


_discover()
