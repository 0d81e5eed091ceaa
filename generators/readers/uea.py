"""Reader for UEA/UCR ``.ts`` time-series classification files: one recording per case."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from generators.errors import InputError
from generators.readers._common import (ARBITRARY_UNIT, FINITE_EXPECTED, beyond_float32,
                                        channel_from_name, checked_unit, find_files,
                                        number_option, text_lines)
from generators.types import Channel, Recording

# Problems whose channels and rate are documented: name → (rate, channel specs).
# BasicMotions: smartwatch acc then gyro, "sampled once every tenth of a second"; the
# file does not give units.
KNOWN = {
    "BasicMotions": (10.0, [Channel(f"wrist_{m}_{a}", "wrist", m, a, ARBITRARY_UNIT)
                            for m in ("acc", "gyro") for a in "xyz"]),
}


def _header(file: Path, lines: Iterator[tuple[int, str]]) -> dict[str, str]:
    """``@key value`` header lines up to ``@data`` (lower-cased keys)."""
    header: dict[str, str] = {}
    for lineno, line in lines:
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if not text.startswith("@"):
            raise InputError(file, f"expected a header line '@…' before @data, found {text[:40]!r}",
                             line=lineno)
        key, _, value = text[1:].partition(" ")
        if key.lower() == "data":
            return header
        header[key.lower()] = value.strip()
    raise InputError(file, "no @data line; expected a .ts header ending in @data" if header
                     else "file is empty; expected a .ts header and @data")


def _case(file: Path, lineno: int, text: str, n_dims: int | None, classes: dict[str, int]
          ) -> tuple[np.ndarray, int]:
    """One data line as (samples × dims values, label id)."""
    *dims, label = text.split(":")
    if n_dims is not None and len(dims) != n_dims:
        raise InputError(file, f"{len(dims)} dimensions; expected {n_dims} (@dimensions)",
                         line=lineno)
    series = []
    for k, dim in enumerate(dims, start=1):
        try:
            values = np.array(dim.split(","), dtype=np.float64)
        except ValueError:
            bad = next(c for c in dim.split(",") if not _is_float(c))
            what = "missing value '?'" if bad.strip() == "?" else f"found {bad!r}"
            raise InputError(file, f"{what}; expected a number (complete series)", line=lineno,
                             field=f"dimension {k}") from None
        if np.isnan(values).any():
            raise InputError(file, "NaN value; expected complete series", line=lineno,
                             field=f"dimension {k}")
        over = beyond_float32(values)
        if over.any():
            raise InputError(file, f"{FINITE_EXPECTED}, found "
                             f"{dim.split(',')[int(np.argmax(over))].strip()!r}", line=lineno,
                             field=f"dimension {k}")
        series.append(values)
    lengths = {len(s) for s in series}
    if len(lengths) != 1:
        raise InputError(file, f"dimensions have lengths {sorted(lengths)}; expected equal "
                         "lengths within a case", line=lineno)
    values = np.stack(series, axis=1)
    if label.strip() not in classes:
        raise InputError(file, f"class {label.strip()!r} is not in @classLabel; expected one of "
                         f"{', '.join(classes)}", line=lineno, field="class")
    return values, classes[label.strip()]


def _is_float(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def read(path: Path, sample_rate_hz: float | None = None,
         channels: Sequence[str] | None = None, units: Sequence[str] | None = None
         ) -> Iterator[Recording]:
    """Stream one ``Recording`` per case of ``.ts`` files.

    Each case is one recording labelled throughout with its class; class ids number the
    ``@classLabel`` list from 1. The subject is the file stem (``BasicMotions_TRAIN``), so
    a preset can hold out the official test file by naming it as the test subject.

    Args:
        path: A ``.ts`` file or a directory of them.
        sample_rate_hz: Rate; required unless the problem is in ``KNOWN``.
        channels: Channel names ``<location>_<modality>_<axis>`` per dimension (default: the
            known layout, else ``dim<k>_value_``).
        units: Unit per dimension (default: known layout, else ``ARBITRARY_UNIT``).

    Yields:
        Recordings ``<stem>-<NNNN>`` (1-based case number).

    Raises:
        InputError: Missing header or @data, time-stamped or unlabelled problems, wrong
            dimension count, unequal lengths, missing values, unknown class, no files.
    """
    if sample_rate_hz is not None:
        number_option(sample_rate_hz, path, "sample_rate_hz", "Hz")
    for file in find_files(path, "*.ts", "UEA/UCR .ts files"):
        lines = text_lines(file)
        header = _header(file, lines)
        if header.get("timestamps", "false").lower() == "true":
            raise InputError(file, "time-stamped .ts data is not supported; expected "
                             "@timeStamps false", field="@timeStamps")
        class_label = header.get("classlabel", "false").split()
        if not class_label or class_label[0].lower() != "true" or len(class_label) < 2:
            raise InputError(file, "expected '@classLabel true <class> …'", field="@classLabel")
        classes = {name: i for i, name in enumerate(class_label[1:], start=1)}
        n_dims = int(header["dimensions"]) if header.get("dimensions", "").isdigit() else None
        problem = header.get("problemname", file.stem)
        known_rate, known_specs = KNOWN.get(problem, (None, None))
        rate = sample_rate_hz or known_rate
        if rate is None:
            raise InputError(file, f"sample rate of {problem!r} is unknown; pass "
                             "sample_rate_hz", field="sample_rate_hz")
        case, specs = 0, None
        for lineno, line in lines:
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            values, label = _case(file, lineno, text, n_dims, classes)
            case += 1
            if specs is None:
                specs = _channels(file, values.shape[1], channels, units, known_specs)
            yield Recording(
                dataset="uea", recording_id=f"{file.stem}-{case:04d}", subject=file.stem,
                sample_rate_hz=float(rate), channels=specs, values=values.astype(np.float32),
                labels=np.full(len(values), label, dtype=np.int32),
                label_names={i: n for n, i in classes.items()}, source=(str(file),),
            )
        if case == 0:
            raise InputError(file, "no cases after @data")


def _channels(file: Path, dims: int, names: Sequence[str] | None, units: Sequence[str] | None,
              known: list[Channel] | None) -> tuple[Channel, ...]:
    """Channel metadata for ``dims`` dimensions from options, the known layout or defaults."""
    if names is None and known is not None and len(known) == dims:
        names, default_units = [c.name for c in known], [c.unit for c in known]
    else:
        names = list(names) if names is not None else [f"series_dim{k}" for k in range(1, dims + 1)]
        default_units = [ARBITRARY_UNIT] * len(names)
    units = list(units) if units is not None else default_units
    if len(names) != dims or len(units) != dims:
        raise InputError(file, f"{dims} dimensions but {len(names)} channel names and "
                         f"{len(units)} units given; expected one each per dimension",
                         field="channels")
    return tuple(channel_from_name(n, checked_unit(u, file, f"units[{k}]"))
                 for k, (n, u) in enumerate(zip(names, units)))
