"""Template packs: loading ``templates/*.yaml`` (built-in, a user's overlay, a dataset's
stored copy), saving them with a dataset, and their digests."""

from __future__ import annotations

import hashlib
import importlib.resources
import json
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Iterable, Mapping

import yaml

from generators.errors import InputError

PHRASES_FILE = "_phrases.yaml"
"""Shared phrase lists (synonym sets, connectors); underscore files are not QA types."""

DIRECTION_LISTS = ("up", "down", "steady")
"""Phrase lists that form the per-row synonym set: ``up``/``down`` are paired by index."""

_PACK_KEYS = {"qa_type", "version", "fields", "variants", "phrases", "answer", "description",
              "answer_style"}
ANSWER_STYLES = ("sentences", "lines", "label")
"""How lint reads answers: prose sentences, ``label: value`` lines, or a bare label."""
_VARIANT_KEYS = {"name", "question", "answer"}


@dataclass(frozen=True)
class Variant:
    """One named question/answer pair of Jinja sources.

    Attributes:
        name: Unique within its pack; the row's ``template_id`` is ``<qa_type>/<name>``.
        question: Jinja source of the question.
        answer: Jinja source of the answer.
    """

    name: str
    question: str
    answer: str


@dataclass(frozen=True)
class TemplatePack:
    """One QA type's templates, loaded from ``templates/<qa_type>.yaml``.

    Attributes:
        qa_type: The QA type (equals the file stem).
        version: Integer version as a string; raised whenever the output changes.
        fields: Names of the facts the templates may use.
        variants: Named question/answer variants.
        phrases: Phrase lists by name (the pack's own over the shared ``_phrases.yaml``).
        path: The file it came from (``None`` for packs built in memory).
        answer_style: One of ``ANSWER_STYLES`` (lint's sentence rules for answers).
        trusted: Project code (a built-in pack with built-in phrases): renders in
            ``TRUSTED_ENV``; anything else renders in the sandbox ``ENV``.
    """

    qa_type: str
    version: str
    fields: tuple[str, ...]
    variants: tuple[Variant, ...]
    phrases: Mapping[str, tuple[str, ...]]
    path: str | None = None
    answer_style: str = "sentences"
    trusted: bool = False



def _as_str_list(path: Path, value: object, field: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list) or not value \
            or not all(isinstance(v, str) for v in value):
        raise InputError(path, "expected a non-empty list of strings", field=field)
    return tuple(value)


def _read_yaml(path: Path, text: str) -> dict:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(path, f"not valid YAML: {problem}", line=line) from None
    if not isinstance(data, dict):
        raise InputError(path, "expected a mapping at the top level")
    return data


def _parse_phrases(path: Path, data: object, field: str = "phrases") -> dict[str, tuple[str, ...]]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(path, "expected a mapping of name → list of strings", field=field)
    return {str(k): _as_str_list(path, v, f"{field}.{k}") for k, v in data.items()}


def parse_pack(path: Path, text: str, shared: Mapping[str, tuple[str, ...]],
               trusted: bool = False) -> TemplatePack:
    """Parse one pack file.

    Args:
        path: The file (for messages; its stem must equal ``qa_type``).
        text: Its YAML text.
        shared: Shared phrase lists, overridden by the pack's own.
        trusted: Project code (``TemplatePack.trusted``).

    Returns:
        The pack.

    Raises:
        InputError: Naming the file and field when the layout is wrong.
    """
    data = _read_yaml(path, text)
    unknown = set(data) - _PACK_KEYS
    if unknown:
        raise InputError(path, f"unknown keys {sorted(unknown)}; allowed: {sorted(_PACK_KEYS)}")
    qa_type = data.get("qa_type")
    if qa_type != path.stem:
        raise InputError(path, f"qa_type must equal the file name {path.stem!r}, got {qa_type!r}",
                         field="qa_type")
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InputError(path, f"version must be a positive integer, got {version!r}",
                         field="version")
    fields = _as_str_list(path, data.get("fields"), "fields")
    answer_style = data.get("answer_style", "sentences")
    if answer_style not in ANSWER_STYLES:
        raise InputError(path, f"answer_style must be one of {list(ANSWER_STYLES)}, got "
                         f"{answer_style!r}", field="answer_style")
    default_answer = data.get("answer")
    raw_variants = data.get("variants")
    if not isinstance(raw_variants, list) or not raw_variants:
        raise InputError(path, "expected a non-empty list of variants", field="variants")
    variants = []
    for i, raw in enumerate(raw_variants):
        where = f"variants[{i}]"
        if not isinstance(raw, dict):
            raise InputError(path, "expected a mapping with name, question, answer", field=where)
        if set(raw) - _VARIANT_KEYS:
            raise InputError(path, f"unknown keys {sorted(set(raw) - _VARIANT_KEYS)}", field=where)
        name, question = raw.get("name"), raw.get("question")
        answer = raw.get("answer", default_answer)
        for key, val in (("name", name), ("question", question), ("answer", answer)):
            if not isinstance(val, str) or not val.strip():
                raise InputError(path, f"{key} must be a non-empty string (a variant without "
                                 f"answer uses the pack's `answer`)", field=f"{where}.{key}")
        variants.append(Variant(name, question, answer))
    phrases = dict(shared)
    phrases.update(_parse_phrases(path, data.get("phrases")))
    return TemplatePack(qa_type, str(version), fields, tuple(variants),
                        MappingProxyType(phrases), str(path), answer_style, trusted)


def pack_digest(pack: TemplatePack) -> str:
    """SHA-256 of what a pack renders (type, version, fields, style, variants, phrases),
    whichever file it came from."""
    content = [pack.qa_type, pack.version, list(pack.fields), pack.answer_style,
               [[v.name, v.question, v.answer] for v in pack.variants],
               sorted((k, list(v)) for k, v in pack.phrases.items())]
    return hashlib.sha256(json.dumps(content, ensure_ascii=False).encode()).hexdigest()


def _pack_files(root: Iterable) -> list:
    return sorted((f for f in root if f.name.endswith(".yaml")), key=lambda f: f.name)


def _builtin_files() -> list:
    return _pack_files(importlib.resources.files("templates").iterdir())


def load_packs(overlay_dir: Path | None = None) -> dict[str, TemplatePack]:
    """Load the built-in template packs, then overlay a user directory.

    The overlay's ``_phrases.yaml`` lists replace shared lists of the same name; an
    overlay ``<qa_type>.yaml`` adds a new QA type's pack or replaces a built-in one,
    which requires a higher ``version`` so the rows' provenance shows the change.

    Args:
        overlay_dir: Directory of user ``*.yaml`` files, or ``None``.

    Returns:
        QA type → pack.

    Raises:
        InputError: A file is malformed or an overlay does not raise the version.
    """
    shared: dict[str, tuple[str, ...]] = {}
    overlays: list = []
    if overlay_dir is not None:
        overlay_dir = Path(overlay_dir)
        if not overlay_dir.is_dir():
            raise InputError(overlay_dir, "templates overlay must be a directory of *.yaml files")
        overlays = _pack_files(overlay_dir.iterdir())
    builtin_sources = _collect(_builtin_files(), shared)
    overlay_sources = _collect(overlays, shared)
    _check_directions(shared)
    # A built-in pack is project code, unless the user's shared phrases joined it.
    trusted = not any(f.name == PHRASES_FILE for f in overlays)
    packs = {stem: parse_pack(path, text, shared, trusted)
             for stem, (path, text) in builtin_sources.items()}
    for stem, (path, text) in overlay_sources.items():
        pack = parse_pack(path, text, shared)
        base = packs.get(stem)
        if base is not None and int(pack.version) <= int(base.version):
            raise InputError(path, f"an overlay of {stem!r} must raise version above the "
                             f"built-in {base.version}, got {pack.version}", field="version")
        packs[stem] = pack
    return packs


PACKS_DIR = "templates"
"""A dataset's folder of the packs it was built with (``manifest.json`` ``templates``:
file name → SHA-256), so that its rows can be read back without the user's folder."""


def save_packs(packs: Mapping[str, TemplatePack], shared: Mapping[str, tuple[str, ...]],
               directory: Path) -> dict[str, str]:
    """Write packs as a template folder that :func:`load_saved_packs` reads back equal:
    ``_phrases.yaml`` with the shared lists, and one file per pack with its variants and
    the phrase lists that differ from the shared ones.

    Args:
        packs: QA type → pack, as a build used them (built-in and overlay).
        shared: The shared phrase lists they were loaded with (:func:`shared_phrases`).
        directory: Where to write (created).

    Returns:
        File name → SHA-256 of its bytes.
    """
    directory.mkdir(parents=True, exist_ok=True)
    docs = {PHRASES_FILE: {"phrases": {k: list(v) for k, v in shared.items()}}}
    for name, pack in sorted(packs.items()):
        docs[f"{name}.yaml"] = {
            "qa_type": pack.qa_type, "version": int(pack.version), "fields": list(pack.fields),
            "answer_style": pack.answer_style,
            "variants": [{"name": v.name, "question": v.question, "answer": v.answer}
                         for v in pack.variants],
            "phrases": {k: list(v) for k, v in pack.phrases.items() if shared.get(k) != v}}
    digests = {}
    for file, doc in docs.items():
        data = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=1 << 30).encode()
        (directory / file).write_bytes(data)
        digests[file] = hashlib.sha256(data).hexdigest()
    return digests


def load_saved_packs(dataset_dir: Path) -> dict[str, TemplatePack] | None:
    """The packs a dataset was built with, checked against its ``manifest.json``.

    Returns:
        QA type → pack; ``None`` when the manifest lists none (no manifest, or a dataset
        built before datasets carried their packs: read it along the built-in packs).

    Raises:
        InputError: A listed file is missing, differs from its SHA-256, or is malformed.
    """
    try:
        manifest = json.loads((Path(dataset_dir) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    listed = manifest.get("templates") if isinstance(manifest, dict) else None
    if not listed:
        return None
    folder = Path(dataset_dir) / PACKS_DIR
    for name, digest in sorted(listed.items()):
        path = folder / name
        if Path(name).name != name or not name.endswith(".yaml"):
            raise InputError(Path(dataset_dir) / "manifest.json", f"template pack {name!r} is "
                             f"not a *.yaml file name", field="templates")
        if not path.is_file():
            raise InputError(path, "missing: manifest.json lists it among the template packs "
                             "this dataset was built with")
        if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            raise InputError(path, "corrupt: its SHA-256 differs from the one manifest.json "
                             "lists for it")
    shared: dict[str, tuple[str, ...]] = {}
    sources = _collect([folder / name for name in sorted(listed)], shared)
    _check_directions(shared)
    return {stem: parse_pack(path, text, shared) for stem, (path, text) in sources.items()}


def _collect(files: list, shared: dict[str, tuple[str, ...]]) -> dict[str, tuple[Path, str]]:
    """Pack sources by stem; ``_phrases.yaml`` lists are merged into ``shared`` in place."""
    sources = {}
    for f in files:
        path, text = Path(str(f)), f.read_text(encoding="utf-8")
        if f.name == PHRASES_FILE:
            shared.update(_parse_phrases(path, _read_yaml(path, text).get("phrases")))
        elif not f.name.startswith("_"):
            sources[path.stem] = (path, text)
    return sources


def shared_phrases(overlay_dir: Path | None = None) -> dict[str, tuple[str, ...]]:
    """The shared phrase lists (built-in ``_phrases.yaml``, then the overlay's)."""
    shared: dict[str, tuple[str, ...]] = {}
    files = _builtin_files() + (_pack_files(Path(overlay_dir).iterdir()) if overlay_dir else [])
    _collect([f for f in files if f.name == PHRASES_FILE], shared)
    return shared


def _check_directions(shared: Mapping[str, tuple[str, ...]]) -> None:
    missing = [k for k in DIRECTION_LISTS if k not in shared]
    if missing:
        raise InputError(PHRASES_FILE, f"shared phrases must define {list(DIRECTION_LISTS)}; "
                         f"missing {missing}")
    if len(shared["up"]) != len(shared["down"]):
        raise InputError(PHRASES_FILE, "phrases.up and phrases.down pair by position and must "
                         f"have equal lengths ({len(shared['up'])} ≠ {len(shared['down'])})")

