"""Check a multiple-choice row: exactly one option is true of the series, the marked one."""

from __future__ import annotations

import re
from typing import Iterator, Mapping

import numpy as np

from validation.checks import Failure, Row
from generators.text import TemplatePack
from validation.checks._read import Stated, Unreadable, compiler, one, value, variant
from validation.checks._trends import segments

_KIND_PICK = re.compile(r"'(\w+?_)'\s*~\s*kind\b")


def claim_kinds(pack: TemplatePack) -> list[str]:
    """Claim kinds a pack can phrase: the suffixes of its ``fact_<kind>`` phrase lists."""
    return [name[len("fact_"):] for name in pack.phrases if name.startswith("fact_")]


def read_claim(row: Row) -> tuple[str, dict[str, list], dict[str, list]]:
    """The claim kind of a row and the values its question and answer state.

    The templates pick their phrases by kind (``pick('ask_' ~ kind)``); the text is read
    once per kind with that kind's lists substituted, and exactly one kind must fit both
    the question and the answer. Lettered options are under ``options`` in the question's
    values (one list of per-option dicts, as a loop is read).

    Raises:
        Unreadable: Unknown variant, or no kind (or several) fits the text.
    """
    c, v = compiler(row), variant(row)
    fits = {}
    for kind in claim_kinds(c.pack):
        def source(src: str) -> str:
            return _KIND_PICK.sub(lambda m: f"'{m.group(1)}{kind}'", src)
        try:
            fits[kind] = (c.read(source(v.question), row.question),
                          c.read(source(v.answer), row.answer))
        except Unreadable:
            continue
    if len(fits) != 1:
        raise Unreadable(f"text fits claim kinds {sorted(fits)}; expected exactly one")
    kind, (q, a) = next(iter(fits.items()))
    return kind, q, a


def claim_holds(row: Row, kind: str, claimed: object) -> bool:
    """Whether a claimed value of one kind is true of the row's channel 0.

    Raises:
        Unreadable: An unknown kind, a value of the wrong type for it, or a channel
            whose segments cannot be recomputed.
    """
    x = np.asarray(row.series[0], dtype=np.float64)
    if kind in ("overall", "n_segments"):
        segs = segments(row, 0)
        if isinstance(segs, Failure):
            raise Unreadable(segs.reason)
        if kind == "overall":
            return claimed == segs.overall
        if not isinstance(claimed, int):
            raise Unreadable(f"segment count {claimed!r} is not a whole number")
        return claimed == len(segs.directions)
    if not isinstance(claimed, Stated):
        raise Unreadable(f"{kind} value {claimed!r} is not a number")
    if kind == "max_value":
        return value(claimed).agrees(x.max())
    if kind == "max_time":
        return x.max() in x[samples_at(claimed, row.sample_rate_hz, x.size)]
    raise Unreadable(f"no independent check for claim kind {kind!r}")


def samples_at(t: Stated, rate: float, n: int) -> np.ndarray:
    """Indices of the samples whose times round to the stated time."""
    half = 0.5 * 10.0 ** -t.decimals + 1e-9
    lo, hi = int(np.ceil((t.value - half) * rate)), int(np.floor((t.value + half) * rate))
    return np.arange(max(lo, 0), min(hi, n - 1) + 1)


def unit_failures(prefix: str, row: Row, values: list[Mapping[str, list]]) -> list[Failure]:
    """Units stated after values (in any of ``values``) must be the channel's."""
    unit = row.channel_units[0] if row.channel_units else ""
    return [Failure(f"{prefix}.unit", f"value in {u!r}, the channel is in {unit!r}")
            for v in values for u in v.get("v@unit", []) if u != unit]


def check(row: Row) -> Iterator[Failure]:
    """Re-judge every option against the series; the marked letter must be the one true."""
    try:
        kind, q, a = read_claim(row)
        loops = q.get("options", [])
        if len(loops) != 1:
            raise Unreadable(f"expected one list of options, got {len(loops)}")
        options = {str(one(o, "o.letter")): one(o, "v") for o in loops[0]}
        letter, said = str(one(a, "answer_letter")), one(a, "v")
        truth = {k: claim_holds(row, kind, v) for k, v in options.items()}
    except Unreadable as exc:
        yield Failure("multiple_choice.structure", str(exc))
        return
    yield from unit_failures("multiple_choice", row, [a, *loops[0]])
    if len(options) != len(loops[0]) or len(set(map(str, options.values()))) != len(options):
        yield Failure("multiple_choice.options", "option letters or values repeat")
    if letter not in options:
        yield Failure("multiple_choice.answer", f"answer {letter} is not an option "
                                                f"({', '.join(options)})")
        return
    if options[letter] != said:
        yield Failure("multiple_choice.answer", f"answer {letter} is {options[letter]} in the "
                                                f"options but {said} in the answer")
    true = [k for k, t in truth.items() if t]
    if true != [letter]:
        yield Failure("multiple_choice.answer", f"{kind}: marked {letter}, options true of the "
                                                f"series: {true or 'none'}")


def trend_channels(row: Row) -> range:
    """Channels whose trend segments :func:`check` reads (``semantic.check_table`` computes
    them beforehand, batched with the table's other rows)."""
    return range(1)
