"""Dataset-level checks: split leakage, subject maps, unique ids, label set, class balance,
and a published dataset's parts against its manifest."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from generators.dataset import file_sha256, iter_parts, iter_rejected

_COLUMNS = ["row_id", "stage", "split", "subject", "recording_id", "activity", "activity_id"]
_EXAMPLES = 10
NO_LABEL = "(no label)"


def _result(passed: bool, detail: object) -> dict:
    return {"passed": bool(passed), "detail": detail}


def _hashes(ids: list[str]) -> np.ndarray:
    """64-bit digests of row ids: 8 bytes per row instead of the strings themselves."""
    return np.fromiter((int.from_bytes(hashlib.blake2b(i.encode(), digest_size=8).digest(),
                                       "little") for i in ids), dtype=np.uint64, count=len(ids))


@dataclass
class Aggregates:
    """What the checks need from every row, gathered one part file at a time.

    Everything but ``id_hashes`` (8 bytes per row) is bounded by the number of subjects,
    recordings and activities, not by the number of rows.

    Attributes:
        split_pairs: ``(stage, subject, split)`` triples seen.
        recording_splits: Recording id → splits its windows are in.
        labels: ``(activity_id, activity)`` → rows.
        balance: ``(stage, split, activity)`` → rows.
        id_hashes: 64-bit digests of every accepted and rejected row id.
    """

    split_pairs: set = field(default_factory=set)
    recording_splits: dict = field(default_factory=dict)
    labels: Counter = field(default_factory=Counter)
    balance: Counter = field(default_factory=Counter)
    id_hashes: list = field(default_factory=list)

    def add(self, t) -> None:  # noqa: ANN001 (a pyarrow table with _COLUMNS)
        """Fold one part's rows in."""
        stage, split, subject = (t[c].to_pylist() for c in ("stage", "split", "subject"))
        self.split_pairs.update(zip(stage, subject, split))
        for rec, s in set(zip(t["recording_id"].to_pylist(), split)):
            self.recording_splits.setdefault(rec, set()).add(s)
        self.labels.update(zip(t["activity_id"].to_pylist(), t["activity"].to_pylist()))
        self.balance.update(zip(stage, split, t["activity"].to_pylist()))
        self.id_hashes.append(_hashes(t["row_id"].to_pylist()))


def subjects_disjoint(agg: Aggregates) -> dict:
    """No subject appears in both splits (of any stage)."""
    train = {subject for _, subject, split in agg.split_pairs if split == "train"}
    test = {subject for _, subject, split in agg.split_pairs if split == "test"}
    return _result(not train & test, {"subjects_in_both": sorted(train & test)})


def samples_disjoint(dataset_dir: Path, agg: Aggregates) -> dict:
    """No sample (recording, index) is covered by windows of different splits.

    Only recordings with windows in both splits can share a sample; their windows are
    read again, one recording at a time.
    """
    shared: dict[str, int] = {}
    for r in sorted(r for r, splits in agg.recording_splits.items() if len(splits) > 1):
        parts = [t.filter(pc.equal(t["recording_id"], r)) for t in
                 iter_parts(dataset_dir, columns=["recording_id", "split", "window_start",
                                                  "window_end"])]
        split = np.concatenate([np.asarray(t["split"].to_pylist(), dtype=object) for t in parts])
        start = np.concatenate([t["window_start"].to_numpy() for t in parts])
        end = np.concatenate([t["window_end"].to_numpy() for t in parts])
        n = int(end.max())
        cover = {}
        for s in ("train", "test"):
            m = split == s
            delta = np.zeros(n + 1, np.int64)  # +1 at each start, −1 at each end: coverage
            np.add.at(delta, start[m], 1)
            np.add.at(delta, end[m], -1)
            cover[s] = np.cumsum(delta)[:n] > 0
        overlap = int(np.count_nonzero(cover["train"] & cover["test"]))
        if overlap:
            shared[str(r)] = overlap
    return _result(not shared, {"shared_samples_by_recording": dict(list(shared.items())[:_EXAMPLES]),
                                "recordings": len(shared)})


def same_split_map(agg: Aggregates) -> dict:
    """Each subject has one split, the same in stage 1 and stage 2."""
    by_subject: dict[str, set] = {}
    for _, subject, split in agg.split_pairs:
        by_subject.setdefault(subject, set()).add(split)
    conflicts = {s: sorted(v) for s, v in sorted(by_subject.items()) if len(v) > 1}
    maps = {f"stage{st}": {} for st in (1, 2)}
    for stage, subject, split in sorted(agg.split_pairs):
        maps[f"stage{stage}"][subject] = split
    return _result(not conflicts, {"conflicts": conflicts, "subject_split": maps})


def row_ids_unique(dataset_dir: Path, agg: Aggregates) -> dict:
    """Row ids are unique across accepted and rejected rows.

    Compared by 64-bit digest; digests seen twice are confirmed on the ids themselves in a
    second pass, so a digest collision never reports a false duplicate.
    """
    hashes = np.concatenate(agg.id_hashes) if agg.id_hashes else np.zeros(0, np.uint64)
    values, counts = np.unique(hashes, return_counts=True)
    suspects = set(values[counts > 1].tolist())
    seen: Counter = Counter()
    if suspects:
        for t in chain(iter_parts(dataset_dir, columns=["row_id"]),
                       iter_rejected(dataset_dir, columns=["row_id"])):
            ids = t["row_id"].to_pylist()
            seen.update(i for i, h in zip(ids, _hashes(ids).tolist()) if h in suspects)
    dup = sorted(i for i, n in seen.items() if n > 1)
    return _result(not dup, {"duplicates": len(dup), "examples": dup[:_EXAMPLES]})


def label_set(agg: Aggregates, expected: dict | None) -> dict:
    """Activities are those configured, and each label id has one name.

    ``expected["classes"]`` may hold label ids (ints) or activity names; without it only
    the id ↔ name consistency is checked. Rows of a dataset without labels have neither
    (both null); a row with only one of them fails (``half_labelled``).
    """
    half = sorted({str((i, n)) for i, n in agg.labels if (i is None) != (n is None)})
    names_of: dict[int, set] = {}
    for (i, name) in agg.labels:
        names_of.setdefault(i, set()).add(name)
    clashes = {str(i): sorted(n) for i, n in names_of.items() if len(n) > 1}
    classes = (expected or {}).get("classes")
    unexpected: list = []
    if classes is not None:
        by_id = all(isinstance(c, int) for c in classes)
        observed = {i if by_id else n for i, n in agg.labels}
        unexpected = sorted(observed - set(classes), key=str)
    seen = {str(i): sorted(n, key=str)[0] for i, n in
            sorted(names_of.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))}
    return _result(not clashes and not unexpected and not half,
                   {"labels": seen, "unexpected": unexpected, "id_name_clashes": clashes,
                    "half_labelled": half,
                    "configured": list(classes) if classes is not None else None})


def class_balance(agg: Aggregates) -> dict:
    """Rows per activity for each stage and split (reported; passes when every split has
    rows); rows without a label count under ``(no label)``."""
    out: dict[str, dict[str, int]] = {}
    for (stage, split, act), n in agg.balance.items():
        out.setdefault(f"stage{stage}/{split}", {})[NO_LABEL if act is None else act] = n
    return _result(bool(out), {k: dict(sorted(v.items())) for k, v in sorted(out.items())})


def _rows(path: Path) -> int | None:
    """Rows in a Parquet file by its footer, or ``None`` when it is not readable Parquet."""
    try:
        return pq.ParquetFile(path).metadata.num_rows
    except (pa.ArrowException, OSError):
        return None


def manifest_integrity(dataset_dir: Path, manifest: dict) -> dict:
    """The parts are those the build published: each part the manifest lists is present
    with its SHA-256, no other part is there, and each stage/split and ``rejected/`` holds
    the rows the manifest counts (read from the Parquet footers).

    Args:
        dataset_dir: The dataset directory.
        manifest: Its ``manifest.json`` (``files``: part path → SHA-256; ``counts``).

    Returns:
        ``{"passed", "detail": {"problems": [...]}}``, one line per problem naming the part
        (or the stage/split whose count differs), in path order.
    """
    root = Path(dataset_dir)
    listed: dict = manifest.get("files", {})
    present = {p.relative_to(root).as_posix() for pattern in
               ("stage[12]/*/*.parquet", "rejected/*.parquet") for p in root.glob(pattern)}
    problems, rows = [], Counter()
    for rel in sorted(set(listed) | present):
        if rel not in present:
            problems.append(f"{rel}: missing (listed in manifest.json)")
            continue
        n = _rows(root / rel)
        if n is not None:
            rows["/".join(rel.split("/")[:-1]) if rel.startswith("stage") else "rejected"] += n
        if rel not in listed:
            problems.append(f"{rel}: not in manifest.json (a part the build did not write)")
        elif file_sha256(root / rel) != listed[rel]:
            now = "not readable Parquet" if n is None else f"{n} rows now"
            problems.append(f"{rel}: SHA-256 differs from manifest.json ({now})")
    counts = manifest.get("counts", {})
    for key in sorted(k for k in counts if k.startswith("stage") or k == "rejected"):
        if counts[key] != rows[key]:
            problems.append(f"{key}: {rows[key]} rows, manifest.json counts {counts[key]}")
    return _result(not problems, {"problems": problems})


def run_dataset_checks(dataset_dir: Path, expected: dict | None = None) -> dict:
    """Run every dataset-level check on a built dataset, one part file in memory at a time.

    Args:
        dataset_dir: The dataset directory (``stage{1,2}/{train,test}/*.parquet``).
        expected: Configured facts, e.g. ``{"classes": (1, 2, …)}`` (ids or names).

    Returns:
        Check name → ``{"passed": bool, "detail": …}`` (JSON-ready).
    """
    dataset_dir = Path(dataset_dir)
    agg = Aggregates()
    for t in iter_parts(dataset_dir, columns=_COLUMNS):
        agg.add(t)
    agg.id_hashes += [_hashes(t["row_id"].to_pylist())
                      for t in iter_rejected(dataset_dir, columns=["row_id"])]
    return {
        "subjects_disjoint": subjects_disjoint(agg),
        "samples_disjoint": samples_disjoint(dataset_dir, agg),
        "same_split_map": same_split_map(agg),
        "row_ids_unique": row_ids_unique(dataset_dir, agg),
        "label_set": label_set(agg, expected),
        "class_balance": class_balance(agg),
    }
