"""The ``--format`` choice shared by the commands that print text or JSON."""

from __future__ import annotations

from generators.errors import InputError

FORMATS = ("text", "json")
"""What a command can print: human-readable text or one JSON document."""


def check_format(format: str) -> None:
    """Refuse a format no command writes (a typo must not silently print text).

    Raises:
        InputError: ``format`` is not in ``FORMATS``.
    """
    if format not in FORMATS:
        raise InputError("--format", f"expected text or json, got {format!r}")
