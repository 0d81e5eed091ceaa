"""The error raised for bad input: it names the file, the place and what was expected."""

from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """Bad input file or setting.

    Args:
        path: The offending file (or directory, or setting source).
        message: What is wrong and what was expected.
        line: 1-based line (or row) number, if known.
        field: Column or field name, if known.
    """

    def __init__(self, path: str | Path, message: str, *, line: int | None = None,
                 field: str | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.field = field
        self.message = message
        where = self.path
        if line is not None:
            where += f", line {line}"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {message}")
