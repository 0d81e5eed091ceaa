"""Per-recording generation: windows, channel summaries and rendered QA items."""

from __future__ import annotations

import dataclasses
import gc
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from generators import features, qa, readers, resample, windows
from generators.config import BuildConfig
from generators.errors import InputError
from generators.text import TemplatePack
from generators.types import QAItem, Recording, Window

SAMPLE_DIR = Path(__file__).parent / "sample"


def source_path(cfg: BuildConfig) -> Path:
    """The input path of a build: the user's, or the embedded sample."""
    if cfg.input is not None:
        path = Path(cfg.input)
        if not path.exists():
            raise InputError(path, "input path does not exist")
        return path
    sample = SAMPLE_DIR / cfg.reader
    if not sample.exists():
        raise InputError(sample, f"no embedded sample for reader {cfg.reader!r}; pass --input")
    return sample


def select_channels(rec: Recording, names: tuple[str, ...] | None) -> Recording:
    """Keep only the named channels, in the given order.

    Raises:
        InputError: A name that the recording does not have (the known names listed).
    """
    if names is None:
        return rec
    index = {c.name: i for i, c in enumerate(rec.channels)}
    missing = [n for n in names if n not in index]
    if missing:
        raise InputError(rec.source[0] if rec.source else rec.recording_id,
                         f"channels {missing} not found; available: {sorted(index)}")
    idx = [index[n] for n in names]
    return Recording(rec.dataset, rec.recording_id, rec.subject, rec.sample_rate_hz,
                     tuple(rec.channels[i] for i in idx), rec.values[:, idx], rec.labels,
                     rec.label_names, rec.source,
                     {loc: a for loc, a in rec.vertical_axes.items()
                      if any(rec.channels[i].location == loc for i in idx)})


def recordings(cfg: BuildConfig) -> Iterator[Recording]:
    """Stream the build's recordings, resampled to the target rate, channels selected."""
    for rec in readers.read(cfg.reader, source_path(cfg), **cfg.reader_options):
        rec = select_channels(rec, cfg.channels)  # first, so dropped channels cost nothing
        if rec.sample_rate_hz != cfg.sample_rate_hz:
            rec = resample.resample(rec, cfg.sample_rate_hz)
        yield rec


def labelled_stages(cfg: BuildConfig, labelled: bool) -> tuple[BuildConfig, list[str]]:
    """The settings a build keeps once it knows whether its recordings carry labels.

    Stage-2 answers name the activity; recordings without labels build stage 1 alone
    (windows tiled over each whole recording, rows with a null activity).

    Args:
        cfg: Build settings.
        labelled: Whether the recordings name activities (any ``label_names``).

    Returns:
        The settings (stage 2 dropped where it cannot be built) and the one warning
        that says so, if it was dropped.

    Raises:
        InputError: Stage 2 alone was asked for and the recordings have no labels.
    """
    if labelled or 2 not in cfg.stages:
        return cfg, []
    why = "the recordings have no activity labels (the spec names no label column)"
    if cfg.stages == (2,):
        raise InputError(source_path(cfg), f"{why}; stage 2 answers with the activity, so "
                         "expected labelled recordings or --stage 1")
    return (dataclasses.replace(cfg, stages=tuple(s for s in cfg.stages if s != 2)),
            [f"stage 2 skipped: {why}, and its answers name the activity"])


def shards(n_samples: int, sample_rate_hz: float, shard_s: float) -> list[tuple[int, int]]:
    """Contiguous ``[lo, hi)`` sample spans of ``shard_s`` seconds covering a recording.

    A window belongs to the shard where it starts and reads its samples wherever they
    are, even past the shard's end: windows are drawn from the whole recording's activity
    runs and only then assigned, so the rows never depend on the shard size and no window
    is cut, lost or repeated at a boundary.

    Args:
        n_samples: Length of the recording.
        sample_rate_hz: Its rate.
        shard_s: Seconds per shard.

    Returns:
        The spans in order (one span for a recording no longer than a shard).
    """
    size = max(1, round(shard_s * sample_rate_hz))
    return [(lo, min(lo + size, n_samples)) for lo in range(0, max(n_samples, 1), size)]


def cut(rec: Recording, cfg: BuildConfig, span: tuple[int, int] | None = None) -> list[Window]:
    """The windows of the configured stages for one recording (those starting in ``span``)."""
    split = cfg.split_of(rec.subject)
    out: list[Window] = []
    if 1 in cfg.stages:
        repeats = cfg.stage1_repeats_test if split == "test" else cfg.stage1_repeats_train
        out += windows.stage1_windows(rec, split, cfg.seed, cfg.stage1_window, repeats,
                                      cfg.classes, span)
    if 2 in cfg.stages:
        out += windows.stage2_windows(rec, split, cfg.stage2_window, cfg.stage2_stride,
                                      cfg.classes, span)
        out += windows.transition_windows(rec, split, cfg.stage2_window, cfg.seed,
                                          cfg.classes, span)
    return out


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep the garbage collector's full passes off the objects that exist on entry.

    Describing allocates many small objects (facts, phrasings, rows) that live long
    enough to set off full collections, and each one re-scans every object of the
    process, imported libraries included (Prefect, Great Expectations, pandas). Frozen
    objects are skipped until exit (``gc.freeze``); new objects are collected as usual
    (``benchmarks/bench_speed.py`` reports the collection time with and without). Concurrent
    describes share the frozen set: the first to finish unfreezes it, which costs only
    speed.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@dataclass(frozen=True)
class RecordingItems:
    """The rendered rows of one recording.

    Attributes:
        recording: The recording (its series fill the rows' ``series``).
        items: Rendered rows of every stage and split.
    """

    recording: Recording
    items: tuple[QAItem, ...]


def contexts(rec: Recording, cfg: BuildConfig,
             cuts: list[Window] | None = None) -> Iterator[qa.QAContext]:
    """The QA builders' view of each window: its values and per-channel summaries.

    Args:
        rec: The recording.
        cfg: Build settings.
        cuts: Windows of ``rec`` (default: all windows of the configured stages).

    Yields:
        One context per window, in window order.
    """
    cuts = cut(rec, cfg) if cuts is None else cuts
    label_names = tuple(sorted({rec.label_names[c] for c in (cfg.classes or rec.label_names)
                                if c in rec.label_names}))
    slices = [rec.values[w.start:w.end] for w in cuts]
    all_summaries = features.summarize_windows(slices, rec.sample_rate_hz, rec.channels,
                                               cfg.trend_method, **cfg.trend_params)
    for w, values, summaries in zip(cuts, slices, all_summaries):
        yield qa.QAContext(dataset=rec.dataset, window=w, values=values, channels=rec.channels,
                           sample_rate_hz=rec.sample_rate_hz, summaries=summaries,
                           label_names=label_names, seed=cfg.seed,
                           vertical_axes=rec.vertical_axes)


def describe(rec: Recording, cfg: BuildConfig, packs: dict[str, TemplatePack],
             span: tuple[int, int] | None = None) -> RecordingItems:
    """Window one recording, summarize each window's channels and render its QA rows.

    Args:
        rec: The recording.
        cfg: Build settings.
        packs: Template packs by QA type.
        span: Describe only the windows starting in this shard (:func:`shards`).

    Returns:
        The recording with its rows.
    """
    items: list[QAItem] = []
    with frozen_heap():
        for ctx in contexts(rec, cfg, cut(rec, cfg, span)):
            items += qa.build_items(ctx, qa.select_types(ctx.window, cfg.seed, cfg.qa_mix),
                                    packs, cfg.trend_method, cfg.seed)
    return RecordingItems(rec, tuple(items))
