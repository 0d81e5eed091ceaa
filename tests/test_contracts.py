"""Every registered plug-in meets its family's contract (``generators/contracts.py``)."""

from __future__ import annotations

import inspect
import types
from dataclasses import is_dataclass
from pathlib import Path

import pytest

from generators.contracts import Check, Exporter, QABuilder, Reader, TrendMethod
from generators.exporters import EXPORTERS
from generators.qa import QA_TYPES
from generators.readers import READERS
from generators.registry import UnknownNameError
from generators.trend_methods import TREND_METHODS
from validation.checks import CHECKS

FAMILIES = {"reader": (READERS, Reader), "QA type": (QA_TYPES, QABuilder),
            "check": (CHECKS, Check), "trend method": (TREND_METHODS, TrendMethod),
            "exporter": (EXPORTERS, Exporter)}

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def breaches(entry: object, protocol: type) -> list[str]:
    """How ``entry`` fails ``protocol``: ``isinstance`` (members present), then each of the
    protocol's methods called as the protocol says: its positional arguments bind, and
    the entry requires no further argument unless the protocol passes keyword options."""
    if not isinstance(entry, protocol):
        return [f"not a {protocol.__name__}"]
    out = []
    for name, member in vars(protocol).items():
        if not inspect.isfunction(member) or (name.startswith("_") and name != "__call__"):
            continue
        impl = entry if name == "__call__" else getattr(entry, name)
        wanted = list(inspect.signature(member).parameters.values())[1:]  # less self
        sig = inspect.signature(impl)
        try:
            bound = sig.bind_partial(*[p for p in wanted if p.kind in _POSITIONAL])
        except TypeError as exc:
            out.append(f"{name}: {exc}")
            continue
        required = [p.name for p in sig.parameters.values() if p.name not in bound.arguments
                    and p.default is p.empty and p.kind not in _VARIADIC]
        if required and not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in wanted):
            out.append(f"{name}: also requires {required}")
    return out


@pytest.mark.parametrize("entry, protocol", [
    pytest.param(registry[name], protocol, id=f"{family}-{name}")
    for family, (registry, protocol) in FAMILIES.items() for name in registry])
def test_every_registered_plug_in_meets_its_contract(entry, protocol):
    assert breaches(entry, protocol) == []


def test_trend_methods_carry_a_frozen_params_dataclass_with_defaults():
    for name in TREND_METHODS:
        params = TREND_METHODS[name].PARAMS
        assert is_dataclass(params) and params.__dataclass_params__.frozen, name
        params()  # every field has its default


def test_the_contract_check_can_fail():
    def read_two(path: Path, spec: str) -> None: ...

    def read_none() -> None: ...

    def export_one(source: object) -> dict: ...

    assert breaches(read_two, Reader) == []  # spec comes as a reader option
    assert breaches(read_none, Reader)[0].startswith("__call__: too many positional")
    assert breaches(export_one, Exporter)[0].startswith("__call__: too many positional")
    assert breaches(types.SimpleNamespace(build=lambda ctx: iter(())), QABuilder) == \
        ["not a QABuilder"]  # no STAGE
    assert breaches(types.SimpleNamespace(STAGE=1, build=lambda: iter(())), QABuilder) == \
        ["build: too many positional arguments"]
    assert breaches(types.SimpleNamespace(check=lambda row, extra: iter(())), Check) == \
        ["check: also requires ['extra']"]
    method = types.SimpleNamespace(PARAMS=object, segment=lambda series, rate, params: [],
                                   steady_rel=lambda params: 0.0)
    assert breaches(method, TrendMethod) == []
    del method.steady_rel
    assert breaches(method, TrendMethod) == ["not a TrendMethod"]


@pytest.mark.parametrize("family", FAMILIES)
def test_an_unknown_name_lists_the_known_ones(family):
    registry = FAMILIES[family][0]
    with pytest.raises(UnknownNameError) as info:
        registry["no_such_plug_in"]
    assert str(info.value).endswith(f"; known: {', '.join(registry.names())}")
