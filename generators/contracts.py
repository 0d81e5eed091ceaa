"""The plug-in contracts: what a module of each plug-in family must define.

Every family is a folder whose modules are found at import and registered under their
file name (``generators/registry.py``); the registries are typed by these protocols, and
``tests/test_contracts.py`` checks every registered entry against its protocol. The
protocols are runtime-checkable: ``isinstance`` tests that the members exist (their
signatures are checked by the test).

- reader: ``generators/readers/<name>.py``, ``READERS``, :class:`Reader` (its ``read``);
- QA type: ``generators/qa/<type>.py``, ``QA_TYPES``, :class:`QABuilder` (the module);
- check: ``validation/checks/<type>.py``, ``CHECKS``, :class:`Check` (the module);
- trend method: ``generators/trend_methods/<name>.py``, ``TREND_METHODS``,
  :class:`TrendMethod` (the module);
- exporter: ``generators/exporters/<format>.py``, ``EXPORTERS``, :class:`Exporter` (its
  ``export``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Protocol, Sequence, runtime_checkable

if TYPE_CHECKING:  # generators never imports validation at run time
    import numpy as np

    from generators.exporters import ExportSource, Writer
    from generators.qa import Facts, QAContext
    from generators.types import Recording, TrendSegment
    from validation.checks import Failure, Row


@runtime_checkable
class Reader(Protocol):
    """A format module's ``read``: the recordings of ``path``, one at a time.

    A reader streams (memory stays bounded on day-long files), yields each recording on a
    uniform grid with float32 values, int32 labels (−1 unlabelled) and channel units, and
    raises ``InputError`` naming the file, line or field and what was expected. The options
    are the reader's own keyword parameters, given as the preset's ``reader_options``.
    """

    def __call__(self, path: Path, **options: object) -> Iterator[Recording]: ...


@runtime_checkable
class QABuilder(Protocol):
    """A QA type's module, ``generators/qa/<type>.py`` (with ``templates/<type>.yaml`` and
    ``validation/checks/<type>.py``).

    Attributes:
        STAGE: 1 (one row per channel of a window) or 2 (one row per window).
    """

    STAGE: int

    def build(self, ctx: QAContext) -> Iterator[Facts]:
        """The facts of each row the type makes for the window (none when it does not
        fit): every number and direction the text states, computed and rounded."""
        ...


@runtime_checkable
class Check(Protocol):
    """A QA type's semantic check, ``validation/checks/<type>.py``.

    It reads the values the row's question and answer state back from the text and
    re-derives them from the row's stored series, never from ``facts`` and never by
    calling the generator. A module may also define ``trend_channels(row) ->
    Iterable[int]``: the channels whose trend segments ``check`` reads, so
    ``semantic.check_table`` computes them for the whole table at once.
    """

    def check(self, row: Row) -> Iterator[Failure]:
        """Every way the row's text disagrees with its series (none: the row passes)."""
        ...


@runtime_checkable
class TrendMethod(Protocol):
    """A trend method's module, ``generators/trend_methods/<name>.py``.

    Its segments cover the whole series in time order; neighbours share their boundary
    time and value and differ in direction. A series gets the same segments in any batch.
    The validator re-implements every method independently
    (``validation/checks/_trends.py``), since rows name their method.

    Attributes:
        PARAMS: The method's parameters, a frozen dataclass whose field defaults are the
            method's defaults (recorded in every row's ``trend_params``).
    """

    PARAMS: type

    def segment(self, series: Sequence[np.ndarray], sample_rate_hz: float,
                params: object) -> list[list[TrendSegment]]:
        """The segments of each 1-D float64 series (any lengths, at least two samples
        each), in input order; ``params`` is a ``PARAMS``."""
        ...

    def steady_rel(self, params: object) -> float:
        """The fraction of a window's value range below which its net change is steady
        overall (``trends.overall``); 0: the bare sign of the net change."""
        ...


@runtime_checkable
class Exporter(Protocol):
    """A format module's ``export``: the trainer's files for ``source``, and a summary.

    It reads the selected rows from ``source``, writes the files its trainer reads
    through ``w`` (staged, published only when the whole export succeeds) and returns a
    JSON-serialisable summary (rows per part, at least).
    """

    def __call__(self, source: ExportSource, w: Writer) -> dict: ...
