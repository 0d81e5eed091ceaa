"""Dataset presets: the paper's settings per dataset, loaded from ``presets/*.yaml``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

from generators.errors import InputError
from generators.readers._common import expect_number, read_text
from generators.registry import Registry


@dataclass(frozen=True)
class Preset:
    """One dataset's build settings (field names match ``BuildConfig``).

    Attributes:
        name: Preset name (the YAML file's stem).
        description: One line for ``harqa datasets``.
        reader: Reader name in ``READERS``.
        reader_options: Keyword options for the reader.
        sample_rate_hz: Target rate; recordings at another rate are resampled.
        channels: Channel names kept, in order; ``None`` keeps all.
        classes: Label ids kept; ``None`` keeps every labelled run.
        stage1_window: Stage-1 ``(min, max)`` window length in samples.
        stage1_repeats_train: Random stage-1 segmentations per training run.
        stage1_repeats_test: Random stage-1 segmentations per test run.
        stage2_window: Stage-2 window length in samples.
        stage2_stride: Stage-2 stride in samples.
        test_subjects: Subjects of the test split.
        shard_s: Seconds of recording per shard (see ``BuildConfig.shard_s``).
    """

    name: str
    description: str
    reader: str
    reader_options: Mapping[str, Any]
    sample_rate_hz: float
    channels: tuple[str, ...] | None
    classes: tuple[int, ...] | None
    stage1_window: tuple[int, int]
    stage1_repeats_train: int
    stage1_repeats_test: int
    stage2_window: int
    stage2_stride: int
    test_subjects: tuple[str, ...]
    shard_s: float

    def settings(self) -> dict[str, Any]:
        """The build settings (every field but ``name`` and ``description``)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        del out["name"], out["description"]
        out["reader_options"] = dict(self.reader_options)
        return out


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("expected a positive integer")
    return value


def _positive_number(unit: str) -> Callable[[Any], float]:
    return lambda value: expect_number(value, unit)


_rate = _positive_number("Hz")
_seconds = _positive_number("seconds")


def _names(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValueError("expected a list of channel names or null (all channels)")
    return tuple(value)


def _ids(value: Any) -> tuple[int, ...] | None:
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ValueError("expected a list of integer label ids or null (all classes)")
    return tuple(value)


def _window(value: Any) -> tuple[int, int]:
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or _positive_int(value[0]) > _positive_int(value[1])):
        raise ValueError("expected [min, max] sample counts with 1 <= min <= max")
    return int(value[0]), int(value[1])


def _subjects(value: Any) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, (str, int)) for v in value):
        raise ValueError("expected a list of subject ids")
    return tuple(str(v) for v in value)


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("expected a non-empty string")
    return value


def _options(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ValueError("expected a mapping of option names to values")
    return dict(value)


# Field → (parser, default); a missing field without default is an error.
FIELDS: dict[str, tuple[Callable[[Any], Any], Any]] = {
    "description": (_text, None),
    "reader": (_text, dataclasses.MISSING),
    "reader_options": (_options, {}),
    "sample_rate_hz": (_rate, dataclasses.MISSING),
    "channels": (_names, None),
    "classes": (_ids, None),
    "stage1_window": (_window, dataclasses.MISSING),
    "stage1_repeats_train": (_positive_int, 2),
    "stage1_repeats_test": (_positive_int, 1),
    "stage2_window": (_positive_int, dataclasses.MISSING),
    "stage2_stride": (_positive_int, dataclasses.MISSING),
    "test_subjects": (_subjects, dataclasses.MISSING),
    "shard_s": (_seconds, 1800.0),
}


def _discover() -> Registry[str]:
    """Preset name → YAML text, from the ``presets`` package."""
    found: Registry[str] = Registry("preset")
    for entry in sorted(resources.files("presets").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            found.add(entry.name.removesuffix(".yaml"), entry.read_text(encoding="utf-8"))
    return found


PRESETS = _discover()


def names() -> list[str]:
    """Known preset names, sorted."""
    return PRESETS.names()


def _parse(raw: Mapping[str, Any], where: str, *, complete: bool) -> dict[str, Any]:
    """Validated fields of ``raw``; all required ones must be there when ``complete``."""
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise InputError(where, f"unknown setting {unknown[0]!r}; known: {', '.join(FIELDS)}",
                         field=unknown[0])
    out = {}
    for key, (parse, default) in FIELDS.items():
        if key not in raw:
            if complete and default is dataclasses.MISSING:
                raise InputError(where, "required setting is missing", field=key)
            if complete:
                out[key] = parse(default) if default is not None else None
            continue
        try:
            out[key] = parse(raw[key])
        except ValueError as exc:
            raise InputError(where, f"{exc}, found {raw[key]!r}", field=key) from None
    return out


def load(name: str, overrides: Mapping[str, Any] | None = None) -> Preset:
    """The named preset with ``overrides`` applied.

    ``reader_options`` overrides are merged into the preset's options; every other
    override replaces the preset's value. Overrides are validated like the file.

    Args:
        name: A preset name (see ``names()``), or the path of a YAML file in the same
            layout (your own data: e.g. ``reader: tabular`` with the spec inline under
            ``reader_options: {spec: {...}}``); the file's stem is the preset's name.
        overrides: Settings to change, e.g. ``{"test_subjects": ["105"]}``.

    Returns:
        The validated ``Preset``.

    Raises:
        UnknownNameError: Unknown preset (the message lists the known ones).
        InputError: A malformed, unreadable or binary preset file, or a bad override
            (naming the setting).
    """
    if name.endswith((".yaml", ".yml")) and Path(name).is_file():
        where, text = name, read_text(Path(name))
        name = Path(name).stem
    else:
        where, text = f"presets/{name}.yaml", PRESETS[name]
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(where, f"not valid YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise InputError(where, "expected a mapping of settings")
    fields = _parse(raw, where, complete=True)
    changes = _parse(overrides or {}, "preset overrides", complete=False)
    if "reader_options" in changes:
        changes["reader_options"] = {**fields["reader_options"], **changes["reader_options"]}
    fields.update(changes)
    fields["description"] = fields["description"] or name
    return Preset(name=name, **fields)
