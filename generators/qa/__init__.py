"""QA types: one builder module per type, keyed by file name, rendered through templates/."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from types import ModuleType
from typing import Iterator, Mapping

import numpy as np

from generators.registry import Registry
from generators.types import Channel, ChannelSummary, Window

QA_TYPES: Registry[ModuleType] = Registry("QA type")


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
    """

    dataset: str
    window: Window
    values: np.ndarray
    channels: tuple[Channel, ...]
    sample_rate_hz: float
    summaries: tuple[ChannelSummary, ...]
    label_names: tuple[str, ...]
    seed: int


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


_discover()
