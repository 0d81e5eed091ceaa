"""Check a true/false row: the verdict is the truth of the claim, recomputed from the series."""

from __future__ import annotations

from typing import Iterator

from validation.checks import Failure, Row
from validation.checks._read import Unreadable, compiler, one
from validation.checks.multiple_choice import claim_holds, read_claim, unit_failures


def verdict(row: Row) -> bool:
    """The verdict the answer opens with: ``True`` for a ``verdict_true`` (or, for a yes/no
    question, ``verdict_yes``) phrasing.

    Raises:
        Unreadable: The answer opens with neither (or both) kinds of verdict.
    """
    c = compiler(row)
    found = set()
    phrases = c.pack.phrases
    for value, lists in ((True, ("verdict_true", "verdict_yes")),
                         (False, ("verdict_false", "verdict_no"))):
        for src in (src for name in lists for src in phrases.get(name, ())):
            m = c.pattern(src)[0].match(row.answer)
            if m and (m.end() == len(row.answer) or row.answer[m.end()].isspace()):
                found.add(value)
    if len(found) != 1:
        raise Unreadable(f"answer opens with {len(found)} kinds of verdict")
    return found.pop()


def check(row: Row) -> Iterator[Failure]:
    """The stated actual value must hold, and the verdict must be whether the claim holds."""
    try:
        kind, q, a = read_claim(row)
        claimed, actual, said = one(q, "v"), one(a, "v"), verdict(row)
        holds, actual_holds = claim_holds(row, kind, claimed), claim_holds(row, kind, actual)
    except Unreadable as exc:
        yield Failure("true_false.structure", str(exc))
        return
    yield from unit_failures("true_false", row, [q, a])
    if not actual_holds:
        yield Failure("true_false.value", f"{kind}: the answer gives {actual}, which the series "
                                          f"does not bear out")
    if said != holds:
        yield Failure("true_false.verdict", f"{kind}: claim {claimed} is {holds} of the series, "
                                            f"the answer says {said}")


def trend_channels(row: Row) -> range:
    """Channels whose trend segments :func:`check` may read (a claim about the overall
    trend or the number of segments; ``semantic.check_table`` computes them beforehand,
    batched with the table's other rows)."""
    return range(1)
