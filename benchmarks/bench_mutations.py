"""Mutation benchmark: corrupt known answers of a built dataset and measure what validation catches."""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from generators.dataset import read_stage, write_json_atomic, write_parquet_atomic
from validation.checks import CHECKS
from validation.checks._read import packs
from validation.report import validate_dataset

NUM = re.compile(r"(?<![\w.])-?\d+\.\d+(?![\d])")
INT = re.compile(r"(?<![\w.-])\d+(?![\d.]|\.\d)")
TIME = re.compile(r"(?<![\w.])(\d+\.\d+)(s\b|\s+seconds\b)")


def _directions() -> tuple[dict[str, str], list[str]]:
    ph = packs()["trend_summary"].phrases
    flip = {}
    for u, d in zip(ph["up"], ph["down"]):
        flip[u], flip[d] = d, u
    return flip, list(ph["up"])


def number_slight(text: str, rng: random.Random) -> str | None:
    """Change one decimal number by one unit of its last digit."""
    hits = list(NUM.finditer(text))
    if not hits:
        return None
    m = rng.choice(hits)
    dec = len(m.group().split(".")[1])
    new = f"{float(m.group()) + rng.choice((-1, 1)) * 10 ** -dec:.{dec}f}"
    return text[:m.start()] + new + text[m.end():]


def number_gross(text: str, rng: random.Random) -> str | None:
    """Change one decimal number grossly (add 1.5 and triple)."""
    hits = list(NUM.finditer(text))
    if not hits:
        return None
    m = rng.choice(hits)
    dec = len(m.group().split(".")[1])
    return text[:m.start()] + f"{(float(m.group()) + 1.5) * 3:.{dec}f}" + text[m.end():]


def direction_flip(text: str, rng: random.Random) -> str | None:
    """Replace one up/down word by its opposite of the same synonym pair."""
    flip, _ = _directions()
    hits = [m for w in flip for m in re.finditer(rf"\b{w}\b", text, re.I)]
    if not hits:
        return None
    m = rng.choice(hits)
    word = flip[m.group().lower()]
    word = word.capitalize() if m.group()[0].isupper() else word
    return text[:m.start()] + word + text[m.end():]


def swap_times(text: str, rng: random.Random) -> str | None:
    """Swap two different stated times."""
    hits = list(TIME.finditer(text))
    pairs = [(a, b) for i, a in enumerate(hits) for b in hits[i + 1:]
             if a.group(1) != b.group(1)]
    if not pairs:
        return None
    a, b = rng.choice(pairs)
    return (text[:a.start(1)] + b.group(1) + text[a.end(1):b.start(1)] + a.group(1)
            + text[b.end(1):])


def count_off_by_one(text: str, rng: random.Random) -> str | None:
    """Add or remove one from a stated count (digits)."""
    hits = list(INT.finditer(text))
    if not hits:
        return None
    m = rng.choice(hits)
    n = int(m.group())
    return text[:m.start()] + str(n + 1 if n < 2 or rng.random() < 0.5 else n - 1) + text[m.end():]


def truncate(text: str, rng: random.Random) -> str | None:
    """Cut the text at a space between 40 % and 80 % of its length."""
    spaces = [i for i, ch in enumerate(text) if ch in " \n" and 0.4 < i / len(text) < 0.8]
    return text[:rng.choice(spaces)] if spaces else None


def unit_change(text: str, rng: random.Random) -> str | None:
    """Change one unit: seconds → minutes, s → ms, g → m/s², rad/s → deg/s."""
    options = [(re.compile(r"(?<=\d) seconds\b"), " minutes"), (re.compile(r"(?<=\d)s\b"), "ms"),
               (re.compile(r"(?<=\d) g\b"), " m/s²"), (re.compile(r"(?<=\d) rad/s\b"), " deg/s")]
    hits = [(m, new) for pat, new in options for m in pat.finditer(text)]
    if not hits:
        return None
    m, new = rng.choice(hits)
    return text[:m.start()] + new + text[m.end():]


OPTION = re.compile(r"^([A-Z])\) (.+)$", re.M)


def wrong_option(question: str, answer: str, rng: random.Random) -> str | None:
    """Mark another lettered option: its letter, and its value where the answer restates
    the marked one's."""
    options = dict(OPTION.findall(question))
    marked = re.search(rf"(?<!\w)[{''.join(options)}](?!\w)", answer) if options else None
    if marked is None:  # the answer opens with the marked letter
        return None
    right = marked.group()
    other = rng.choice(sorted(set(options) - {right}))
    new = answer[:marked.start()] + other + answer[marked.end():]
    said, wrong = options[right], options[other]
    if said in new:
        return new.replace(said, wrong, 1)
    num_said = NUM.search(said) or INT.search(said)
    num_wrong = NUM.search(wrong) or INT.search(wrong)
    if num_said and num_wrong and num_said.group() in new:
        return new.replace(num_said.group(), num_wrong.group(), 1)
    return new


MUTATIONS = {"number_slight": number_slight, "number_gross": number_gross,
             "direction_flip": direction_flip, "swap_times": swap_times,
             "count_off_by_one": count_off_by_one, "truncate": truncate,
             "unit_change": unit_change}
"""Kind → text mutation (``None`` where a text offers nothing to mutate)."""

KINDS = ["wrong_activity", "wrong_mc_option", *MUTATIONS]
"""Every mutation kind: those that need the row (label, options) and the text ones."""


def _mutate_row(row: dict, kind: str, rng: random.Random, activities: list[str]) -> dict | None:
    """One mutated copy of a row; activity rows carry their facts in the question."""
    if kind == "wrong_activity":
        if row["qa_type"] != "activity":
            return None
        other = [a for a in activities if a != row["answer"].lower()]
        return {**row, "answer": rng.choice(other)}
    if kind == "wrong_mc_option":
        new = wrong_option(row["question"], row["answer"], rng) \
            if row["qa_type"] == "multiple_choice" else None
        return None if new is None or new == row["answer"] else {**row, "answer": new}
    field = "question" if row["qa_type"] == "activity" else "answer"
    new = MUTATIONS[kind](row[field], rng)
    if new is None or new == row[field]:
        return None
    return {**row, field: new}


def build_demo(out: Path) -> Path:
    """Build the demo dataset (embedded sample) in-process with the seed QA types."""
    from generators import dataset, pipeline, text
    from generators.config import BuildConfig
    from validation import semantic

    cfg = BuildConfig()
    packs_ = text.load_packs()
    for rec in pipeline.recordings(cfg):
        d = pipeline.describe(rec, cfg, packs_)
        table = dataset.items_to_table(d.items, rec, cfg.trend_params)
        ok, _ = semantic.check_table(table)
        for stage in (1, 2):
            for split in ("train", "test"):
                part = ok.filter(pc.and_(pc.equal(ok["stage"], stage), pc.equal(ok["split"], split)))
                if part.num_rows:
                    write_parquet_atomic(part, dataset.part_path(out, stage, split, rec.recording_id))
    return out


def main() -> None:
    """Run the benchmark and print the catch rate per kind and the false rejects."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--source", type=Path, default=None, help="built dataset (default: build demo)")
    ap.add_argument("--per-kind", type=int, default=200)
    ap.add_argument("--untouched", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="harqa-mut-"))
    src = args.source or build_demo(work / "source")
    rows = [r for s in (1, 2) for r in read_stage(src, s).to_pylist() if r["qa_type"] in CHECKS]
    rng.shuffle(rows)
    activities = sorted({r["answer"].lower() for r in rows if r["qa_type"] == "activity"})
    mutated, truth, used = [], {}, set()
    for kind in KINDS:
        n = 0
        for i, row in enumerate(rows):
            if n >= args.per_kind or i in used:
                continue
            new = _mutate_row(row, kind, rng, activities)
            if new is None:
                continue
            used.add(i)
            new["row_id"] = f"{row['row_id']}#mut-{kind}"
            mutated.append(new)
            truth[new["row_id"]] = kind
            n += 1
    untouched = [r for i, r in enumerate(rows) if i not in used][:args.untouched]
    copy = work / "mutated"
    from generators.schema import QA_SCHEMA
    table = pa.Table.from_pylist(mutated + untouched, schema=QA_SCHEMA)
    files, counts = {}, {"rejected": 0}
    for stage in (1, 2):
        part = table.filter(pc.equal(table["stage"], stage))
        if part.num_rows:
            rel = f"stage{stage}/train/part.parquet"
            files[rel] = write_parquet_atomic(part, copy / rel)
            counts[f"stage{stage}/train"] = part.num_rows
    write_json_atomic({"files": files, "counts": counts}, copy / "manifest.json")
    started = time.perf_counter()
    report = validate_dataset(copy, gx=False)
    seconds = time.perf_counter() - started
    caught_ids = {r["row_id"] for r in report["rejected_ids"]}
    per_kind = {}
    for kind in KINDS:
        ids = [i for i, k in truth.items() if k == kind]
        per_kind[kind] = {"mutated": len(ids), "caught": sum(i in caught_ids for i in ids),
                          "rate": round(sum(i in caught_ids for i in ids) / max(len(ids), 1), 4)}
    false = [r for r in report["rejected_ids"] if r["row_id"] not in truth]
    total = sum(v["mutated"] for v in per_kind.values())
    caught = sum(v["caught"] for v in per_kind.values())
    figures = {"per_kind": per_kind, "overall": round(caught / max(total, 1), 4),
               "mutated": total, "untouched": len(untouched), "false_rejects": len(false),
               "false_reject_examples": false[:5], "validate_seconds": round(seconds, 2)}
    print(json.dumps({k: v for k, v in figures.items() if k != "missed"}, indent=2))
    originals = {r["row_id"]: r for r in rows}
    field = {True: "question", False: "answer"}
    figures["missed"] = [
        {"kind": truth[r["row_id"]], "qa_type": r["qa_type"],
         "question": r["question"], "original": originals[r["row_id"].split("#")[0]][
             field[r["qa_type"] == "activity"]], "mutated": r[field[r["qa_type"] == "activity"]]}
        for r in mutated if r["row_id"] not in caught_ids]
    for m in figures["missed"][:5]:
        print("MISSED", m["kind"], m["mutated"][:300].replace("\n", " | "))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
