"""Dataset-level checks: split leakage, subject maps, unique ids, label set, class balance."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from generators.dataset import read_stage

_COLUMNS = ["row_id", "stage", "split", "subject", "recording_id", "window_start", "window_end",
            "activity", "activity_id"]
_EXAMPLES = 10


def _load(dataset_dir: Path) -> pa.Table:
    """The checked columns of both stages' accepted rows."""
    return pa.concat_tables([read_stage(dataset_dir, s, columns=_COLUMNS) for s in (1, 2)])


def _rejected_ids(dataset_dir: Path) -> list[str]:
    files = sorted((dataset_dir / "rejected").glob("*.parquet"))
    return [i for f in files for i in pq.read_table(f, columns=["row_id"])["row_id"].to_pylist()]


def _result(passed: bool, detail: object) -> dict:
    return {"passed": bool(passed), "detail": detail}


def subjects_disjoint(t: pa.Table) -> dict:
    """No subject appears in both splits (of any stage)."""
    split = np.asarray(t["split"].to_pylist())
    subject = np.asarray(t["subject"].to_pylist())
    both = sorted(set(subject[split == "train"]) & set(subject[split == "test"]))
    return _result(not both, {"subjects_in_both": both})


def samples_disjoint(t: pa.Table) -> dict:
    """No sample (recording, index) is covered by windows of different splits."""
    rec = np.asarray(t["recording_id"].to_pylist())
    split = np.asarray(t["split"].to_pylist())
    start, end = t["window_start"].to_numpy(), t["window_end"].to_numpy()
    shared: dict[str, int] = {}
    for r in np.unique(rec):
        mask = rec == r
        if len(set(split[mask])) < 2:
            continue
        n = int(end[mask].max())
        cover = {}
        for s in ("train", "test"):
            m = mask & (split == s)
            delta = np.zeros(n + 1, np.int64)  # +1 at each start, −1 at each end: coverage
            np.add.at(delta, start[m], 1)
            np.add.at(delta, end[m], -1)
            cover[s] = np.cumsum(delta)[:n] > 0
        overlap = int(np.count_nonzero(cover["train"] & cover["test"]))
        if overlap:
            shared[str(r)] = overlap
    return _result(not shared, {"shared_samples_by_recording": dict(list(shared.items())[:_EXAMPLES]),
                                "recordings": len(shared)})


def same_split_map(t: pa.Table) -> dict:
    """Each subject has one split, the same in stage 1 and stage 2."""
    pairs = set(zip(t["stage"].to_pylist(), t["subject"].to_pylist(), t["split"].to_pylist()))
    by_subject: dict[str, set] = {}
    for _, subject, split in pairs:
        by_subject.setdefault(subject, set()).add(split)
    conflicts = {s: sorted(v) for s, v in sorted(by_subject.items()) if len(v) > 1}
    maps = {f"stage{st}": {} for st in (1, 2)}
    for stage, subject, split in sorted(pairs):
        maps[f"stage{stage}"][subject] = split
    return _result(not conflicts, {"conflicts": conflicts, "subject_split": maps})


def row_ids_unique(t: pa.Table, rejected: list[str]) -> dict:
    """Row ids are unique across accepted and rejected rows."""
    counts = Counter(t["row_id"].to_pylist() + rejected)
    dup = [i for i, n in counts.items() if n > 1]
    return _result(not dup, {"duplicates": len(dup), "examples": dup[:_EXAMPLES]})


def label_set(t: pa.Table, expected: dict | None) -> dict:
    """Activities are those configured, and each label id has one name.

    ``expected["classes"]`` may hold label ids (ints) or activity names; without it only
    the id ↔ name consistency is checked.
    """
    pairs = Counter(zip(t["activity_id"].to_pylist(), t["activity"].to_pylist()))
    names_of: dict[int, set] = {}
    for (i, name), _ in pairs.items():
        names_of.setdefault(i, set()).add(name)
    clashes = {str(i): sorted(n) for i, n in names_of.items() if len(n) > 1}
    classes = (expected or {}).get("classes")
    unexpected: list = []
    if classes is not None:
        by_id = all(isinstance(c, int) for c in classes)
        observed = {i if by_id else n for i, n in pairs}
        unexpected = sorted(observed - set(classes), key=str)
    seen = {str(i): sorted(n)[0] for i, n in sorted(names_of.items())}
    return _result(not clashes and not unexpected,
                   {"labels": seen, "unexpected": unexpected, "id_name_clashes": clashes,
                    "configured": list(classes) if classes is not None else None})


def class_balance(t: pa.Table) -> dict:
    """Rows per activity for each stage and split (reported; passes when every split has rows)."""
    out: dict[str, dict[str, int]] = {}
    for stage, split, act in zip(t["stage"].to_pylist(), t["split"].to_pylist(),
                                 t["activity"].to_pylist()):
        key = f"stage{stage}/{split}"
        out.setdefault(key, {})
        out[key][act] = out[key].get(act, 0) + 1
    return _result(bool(out), {k: dict(sorted(v.items())) for k, v in sorted(out.items())})


def run_dataset_checks(dataset_dir: Path, expected: dict | None = None) -> dict:
    """Run every dataset-level check on a built dataset.

    Args:
        dataset_dir: The dataset directory (``stage{1,2}/{train,test}/*.parquet``).
        expected: Configured facts, e.g. ``{"classes": (1, 2, …)}`` (ids or names).

    Returns:
        Check name → ``{"passed": bool, "detail": …}`` (JSON-ready).
    """
    t = _load(Path(dataset_dir))
    return {
        "subjects_disjoint": subjects_disjoint(t),
        "samples_disjoint": samples_disjoint(t),
        "same_split_map": same_split_map(t),
        "row_ids_unique": row_ids_unique(t, _rejected_ids(Path(dataset_dir))),
        "label_set": label_set(t, expected),
        "class_balance": class_balance(t),
    }
