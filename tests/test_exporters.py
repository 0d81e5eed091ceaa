"""Training exports read back with each trainer's conventions, row by row against the
source Parquet: ChatTS, chat messages (datasets + a transformers chat template),
OpenTSLM, SensorLLM's pickled series; the seeded mix, the manifest, the refusals."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import re

import fsspec
import numpy as np
import pytest
from test_export import read_jsonl, shard_paths, small_dataset

from generators.dataset import read_stage
from generators.errors import InputError
from generators.export import MANIFEST, _quota, export, parse_mix
from generators.dataset import part_files
from generators.exporters import ExportOptions, Part
from generators.exporters.chatts import PLACEHOLDER, example
from generators.exporters.messages import DECIMALS


@pytest.fixture(scope="module")
def built(prefect_server, tmp_path_factory):
    return small_dataset(tmp_path_factory)


@pytest.fixture(scope="module")
def source_rows(built) -> dict[str, dict]:
    """Every row of the small build by row id."""
    return {r["row_id"]: r for stage in (1, 2) for r in read_stage(built, stage).to_pylist()}


@pytest.fixture
def mem():
    fs = fsspec.filesystem("memory")
    yield fs
    fs.rm("/", recursive=True) if fs.ls("/") else None


#: A shard bound small enough to cut each split of the small build into several shards.
TINY = 256 * 2**10


def _ids(built, split: str, stage: int | None = None) -> list[str]:
    stages = (1, 2) if stage is None else (stage,)
    return [i for s in stages for i in read_stage(built, s, split, ["row_id"])["row_id"].to_pylist()]


def _same_series(got: list, row: dict) -> None:
    """The exported series are the row's, channel by channel, exactly as float32."""
    assert len(got) == len(row["series"])
    for g, s in zip(got, row["series"]):
        np.testing.assert_array_equal(np.asarray(g, np.float32), np.asarray(s, np.float32))


def _channel_lines(row: dict) -> list[str]:
    return [f"{n} ({u})" for n, u in zip(row["channel_names"], row["channel_units"])]


def test_chatts_placeholders_match_the_series_row_by_row(built, source_rows, mem):
    summary = export(built, "chatts", "memory://c", ExportOptions(shard_bytes=TINY))
    for split in ("train", "test"):
        assert len(shard_paths(mem, f"/c/{split}")) > 2
        lines = read_jsonl(mem, f"/c/{split}")
        assert [e["row_id"] for e in lines] == _ids(built, split) and len(lines) == summary[split]
        for e in lines:
            row = source_rows[e["row_id"]]
            # ChatTS-Training's rule: as many placeholders as series, none in the output.
            assert e["input"].count(PLACEHOLDER) == len(e["timeseries"]) == len(row["channel_names"])
            assert "<ts>" not in e["output"] and e["output"] == row["answer"]
            _same_series(e["timeseries"], row)
            text = e["input"].split("\n")
            # Channel order and units stated in the prompt, one placeholder on each line.
            assert text[1:-len(row["question"].split("\n"))] == [
                f"{label}: {PLACEHOLDER}" for label in _channel_lines(row)]
            assert e["input"].endswith("\n" + row["question"]) and e["stage"] == row["stage"]
            assert f"{len(row['series'][0])} samples at 50 Hz" in text[0]


def test_chatts_refuses_a_row_whose_text_holds_a_placeholder(source_rows):
    row = dict(next(iter(source_rows.values())))
    row["answer"] = "see <ts><ts/>"
    with pytest.raises(InputError, match="answer.*placeholder"):
        example(row)


TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|>\n{% if m['role'] == 'assistant' %}"
            "{% generation %}{{ m['content'] }}<|end|>{% endgeneration %}"
            "{% else %}{{ m['content'] }}<|end|>{% endif %}\n{% endfor %}")


def _offline_tokenizer(texts):
    """A word-level tokenizer over the export's own words, with a chat template (no download)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    pre = pre_tokenizers.Whitespace()
    specials = ["[UNK]", "<|user|>", "<|assistant|>", "<|end|>"]
    words = sorted({w for t in texts for w, _ in pre.pre_tokenize_str(t)})
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(specials + words)},
                                     unk_token="[UNK]"))
    tok.pre_tokenizer = pre
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]",
                                   additional_special_tokens=specials[1:], chat_template=TEMPLATE)


@pytest.mark.model
def test_messages_load_with_datasets_and_a_chat_template(built, source_rows, tmp_path):
    datasets = pytest.importorskip("datasets")
    pytest.importorskip("transformers")
    out = tmp_path / "m"
    export(built, "messages", str(out), ExportOptions(shard_bytes=4 * TINY))
    # The export's folder as Hugging Face finds it: a folder per split, its shards in order.
    ds = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "cache"))
    for split in ("train", "test"):
        assert len(list((out / split).iterdir())) > 1
        assert ds[split]["row_id"] == _ids(built, split)
        for e in ds[split]:
            row = source_rows[e["row_id"]]
            user, assistant = e["messages"]
            assert (user["role"], assistant["role"]) == ("user", "assistant")
            assert assistant["content"] == row["answer"]
            assert user["content"].split("\n")[1:len(row["series"]) + 1] == _channel_lines(row)
            assert user["content"].endswith("\n" + row["question"])
            _same_series(e["timeseries"], row)
    sample = [ds["test"][i]["messages"] for i in (0, len(ds["test"]) - 1)]
    tok = _offline_tokenizer(m["content"] for conv in sample for m in conv)
    for conv in sample:
        text = tok.apply_chat_template(conv, tokenize=False)
        assert text == (f"<|user|>\n{conv[0]['content']}<|end|>"
                        f"<|assistant|>\n{conv[1]['content']}<|end|>")
        enc = tok.apply_chat_template(conv, tokenize=True, return_dict=True,
                                      return_assistant_tokens_mask=True)
        assert tok.unk_token_id not in enc["input_ids"]
        trained = [i for i, m in zip(enc["input_ids"], enc["assistant_masks"]) if m]
        # The loss falls on the answer (and the end mark) and nothing else.
        assert trained == tok(conv[1]["content"] + "<|end|>")["input_ids"]


def test_messages_series_in_text_are_the_series_to_fixed_decimals(built, source_rows, mem):
    export(built, "messages", "memory://t", ExportOptions(series_in_text=True, split="test"))
    import pyarrow.parquet as pq

    table = pq.read_table(mem.open(*shard_paths(mem, "/t/test")))
    assert table.num_rows == len(_ids(built, "test"))
    for e in table.slice(0, 50).to_pylist() + table.slice(table.num_rows - 20).to_pylist():
        row = source_rows[e["row_id"]]
        lines = e["messages"][0]["content"].split("\n")[1:len(row["series"]) + 1]
        for line, label, series in zip(lines, _channel_lines(row), row["series"]):
            name, _, numbers = line.partition(": ")
            assert name == label
            assert all(re.fullmatch(rf"-?\d+\.\d{{{DECIMALS}}}", v) for v in numbers.split(" "))
            np.testing.assert_allclose([float(v) for v in numbers.split(" ")], series,
                                       rtol=0, atol=0.5 * 10 ** -DECIMALS + 1e-9)


def test_opentslm_normalisation_inverts_from_the_text(built, source_rows, mem):
    export(built, "opentslm", "memory://o", ExportOptions(shard_bytes=TINY))
    label = re.compile(r"The following is the (.+) data \((\w+), (.+)\), it has mean (\S+) "
                       r"and std (\S+):")
    for split in ("train", "test"):
        lines = read_jsonl(mem, f"/o/{split}")
        assert [e["row_id"] for e in lines] == _ids(built, split)
        for e in lines:
            row = source_rows[e["row_id"]]
            assert e["post_prompt"] == row["question"] and e["answer"] == row["answer"]
            assert len(e["time_series"]) == len(e["time_series_text"]) == len(row["series"])
            for c, (text, z) in enumerate(zip(e["time_series_text"], e["time_series"])):
                sensor, name, unit, mean, std = label.fullmatch(text).groups()
                assert (name, unit) == (row["channel_names"][c], row["channel_units"][c])
                raw = np.asarray(row["series"][c], np.float64)
                back = np.asarray(z) * float(std) + float(mean)
                np.testing.assert_allclose(back, raw, rtol=1e-5,
                                           atol=1e-9 * max(1.0, np.abs(raw).max()))
                np.testing.assert_allclose(float(mean), raw.mean(), rtol=1e-6, atol=1e-9)
                if raw.std() > 1e-3:
                    assert np.std(z, ddof=1) == pytest.approx(1, abs=1e-5)


class _Numpy1Unpickler(pickle.Unpickler):
    """Resolves only what numpy 1.x and 2.x both have (numpy 2's array pickles name
    ``numpy._core``, which numpy 1.x, as in a trainer's environment, cannot import)."""

    def find_class(self, module: str, name: str):
        if (module, name) not in {("builtins", "list"), ("numpy", "ndarray")}:
            raise pickle.UnpicklingError(f"{module}.{name}")
        return super().find_class(module, name)


def _load_pickle(data: bytes):
    return _Numpy1Unpickler(io.BytesIO(data)).load()


def test_sensorllm_pickle_replays_its_loaders(built, source_rows, mem):
    export(built, "sensorllm", "memory://p", ExportOptions(series_file="pickle"))
    assert not [f for f in mem.find("/p") if f.endswith((".npz", "_data.npy"))]
    for split in ("train", "test"):
        # UniChannelTimeSeriesDataset._flatten_data (SensorLLM stage 1), line by line.
        data_file = _load_pickle(mem.cat(f"/p/stage1/{split}_data.pkl"))
        qa_file = json.loads(mem.cat(f"/p/stage1/{split}_qa.json"))
        keys = ["x-axis accelerometer", "y-axis accelerometer", "z-axis accelerometer",
                "x-axis gyroscope", "y-axis gyroscope", "z-axis gyroscope"]
        walked = 0
        for d in qa_file["dataset"]:
            data = data_file[int(d["index"])]
            assert isinstance(data, np.ndarray) and data.dtype == np.float32
            assert data.flags.writeable  # torch.from_numpy warns on a read-only array
            for pos in zip(*(d["qa_pairs"][k] for k in keys)):
                assert len({p["type"] for p in pos}) == 1, "QA type values error"
                columns = [data[:, i] for i in range(data.shape[1])]
                for key, pair, col in zip(keys, pos, columns):
                    row = source_rows[pair["row_id"]]
                    assert (pair["Q"], pair["A"]) == (row["question"], row["answer"])
                    np.testing.assert_array_equal(col, row["series"][0])
                    assert d["summaries"][key]["A"] == \
                        source_rows[d["summaries"][key]["row_id"]]["answer"]
                walked += 1
        assert walked > 0
        # MultiChannelTimeSeriesCLSDatasetStage2._flatten_data (stage 2).
        data_file = _load_pickle(mem.cat(f"/p/stage2/{split}_data.pkl"))
        qa_file = json.loads(mem.cat(f"/p/stage2/{split}_qa.json"))
        label2id = json.loads(mem.cat("/p/stage2/label2id.json"))
        assert len(data_file) == len(qa_file["dataset"]) > 0
        for q in qa_file["dataset"]:
            data, row = data_file[int(q["index"])], source_rows[q["row_id"]]
            _same_series([data[:, i] for i in range(data.shape[1])], row)
            assert label2id[q["qa_pair"]["A"]] == q["qa_pair"]["label"]


def test_sensorllm_of_a_drawn_subset_keeps_only_whole_windows(built, mem):
    rows = int(0.8 * len(_ids(built, "train", 1)))
    summary = export(built, "sensorllm", "memory://d",
                     ExportOptions(stage="1", split="train", max_rows=rows))
    qa = json.loads(mem.cat("/d/stage1/train_qa.json"))["dataset"]
    s = summary["stage1/train"]
    assert qa and s["skipped_without_summary"] > 0 and s["rows"] == rows
    for e in qa:  # its loader reads all six channels of each window
        assert set(e["summaries"]) == set(e["qa_pairs"]) and len(e["summaries"]) == 6
    kept = sum(len(v) + 1 for e in qa for v in e["qa_pairs"].values())
    assert kept + s["unaligned"] + s["skipped_without_summary"] == rows


def test_a_seeded_mix_and_its_manifest(built, mem):
    options = ExportOptions(split="train", mix=parse_mix("stage1:0.9,stage2:0.1"),
                            max_rows=200, seed=3)
    summary = export(built, "chatts", "memory://x1", options)
    lines = read_jsonl(mem, "/x1/train")
    assert summary["train"] == len(lines) == 200 and not mem.exists("/x1/test")
    assert [e["stage"] for e in lines] == [1] * 180 + [2] * 20
    train = _ids(built, "train")
    ids = [e["row_id"] for e in lines]
    assert len(set(ids)) == 200 and set(ids) <= set(train)
    assert ids == sorted(ids, key=train.index)  # the dataset's order
    shard = "train/train-00000-of-00001.jsonl"
    export(built, "chatts", "memory://x2", options)
    assert mem.cat(f"/x2/{shard}") == mem.cat(f"/x1/{shard}")
    export(built, "chatts", "memory://x3", ExportOptions(**{**options.__dict__, "seed": 4}))
    assert mem.cat(f"/x3/{shard}") != mem.cat(f"/x1/{shard}")
    manifest = json.loads(mem.cat(f"/x1/{MANIFEST}"))
    assert manifest["source"]["manifest_sha256"] == hashlib.sha256(
        (built / "manifest.json").read_bytes()).hexdigest()
    assert (manifest["format"], manifest["mix"], manifest["seed"], manifest["max_rows"]) == \
        ("chatts", {"stage1": 0.9, "stage2": 0.1}, 3, 200)
    assert manifest["rows"] == {"stage1/train": 180, "stage2/train": 20}
    assert [f["path"] for f in manifest["files"]] == [shard]


def test_a_part_keeps_its_positions_across_files(built):
    files = tuple(part_files(built, 1))  # train's then test's: two recordings
    whole = read_stage(built, 1)
    assert len(files) > 1 and whole.num_rows > 40
    first = read_stage(built, 1, "train").num_rows
    keep = np.array([0, 5, first - 1, first, first + 7, whole.num_rows - 1])
    got = [r["row_id"] for t in Part(files, whole.num_rows, keep).tables()
           for r in t.select(["row_id"]).to_pylist()]
    assert got == whole.take(keep)["row_id"].to_pylist()


def test_messages_shards_are_single_row_groups_within_the_bound(built, mem):
    import pyarrow.parquet as pq

    export(built, "messages", "memory://g", ExportOptions(split="train", shard_bytes=TINY))
    files = [pq.ParquetFile(mem.open(p)) for p in shard_paths(mem, "/g/train")]
    assert len(files) > 2 and all(f.metadata.num_row_groups == 1 for f in files)
    groups = [f.read_row_group(0) for f in files]
    # The cut reads the Arrow size of a slice of the rows held; read back compacted, a
    # group's size differs by a few bytes per row.
    assert all(0.9 * TINY < g.nbytes < 1.05 * TINY for g in groups[:-1])
    assert [i for g in groups for i in g["row_id"].to_pylist()] == _ids(built, "train")


@pytest.mark.parametrize("fmt", ["chatts", "jsonl", "messages", "opentslm", "sensorllm"])
def test_the_manifest_lists_every_file_with_rows_and_digest(built, mem, fmt):
    root = f"/h-{fmt}/"
    summary = export(built, fmt, f"memory:/{root}", ExportOptions(shard_bytes=TINY))
    manifest = json.loads(mem.cat(root + MANIFEST))
    listed = {f["path"]: f for f in manifest["files"]}
    written = {p.removeprefix(root) for p in mem.find(root)}
    assert sorted(listed) == sorted(written - {MANIFEST}) == sorted(set(summary["files"]) - {MANIFEST})
    for path, f in listed.items():
        data = mem.cat(root + path)
        assert (f["bytes"], f["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
        if path.endswith(".jsonl"):
            assert f["rows"] == len(data.splitlines()) and f["bytes"] <= TINY
    if fmt in ("chatts", "opentslm", "messages"):
        for split in ("train", "test"):
            assert sum(listed[p.removeprefix(root)]["rows"]
                       for p in shard_paths(mem, root + split)) == summary[split]
    if fmt == "sensorllm":
        for split in ("train", "test"):
            windows = summary[f"stage1/{split}"]["windows"]
            assert listed[f"stage1/{split}_qa.json"]["rows"] == windows
            assert listed[f"stage1/{split}_data.npz"]["rows"] == windows


def test_a_line_longer_than_the_bound_gets_a_shard_alone(built, mem):
    export(built, "chatts", "memory://l", ExportOptions(split="test", shard_bytes=1))
    paths = shard_paths(mem, "/l/test")
    assert len(paths) == len(_ids(built, "test"))
    assert all(len(mem.cat(p).splitlines()) == 1 for p in paths)


def test_quota_takes_the_mix_exactly_and_caps_the_total():
    assert _quota({1: 1000, 2: 50}, {1: 0.9, 2: 0.1}, None, "train") == {1: 450, 2: 50}
    assert _quota({1: 1000, 2: 50}, {1: 0.9, 2: 0.1}, 200, "train") == {1: 180, 2: 20}
    assert _quota({1: 900, 2: 100}, {}, 101, "train") == {1: 91, 2: 10}
    assert _quota({1: 900, 2: 100}, {1: 1.0}, None, "train") == {1: 900, 2: 0}
    with pytest.raises(InputError, match="stage2 rows, but split test has none"):
        _quota({1: 10, 2: 0}, {1: 0.5, 2: 0.5}, None, "test")


def test_stage_and_split_select_the_parts(built, mem):
    summary = export(built, "jsonl", "memory://s", ExportOptions(stage="2", split="test"))
    assert [f.split("/s/")[1] for f in sorted(mem.find("/s"))] == [
        MANIFEST, "stage2/test/test-00000-of-00001.jsonl"]
    assert summary["stage2/test"] == len(_ids(built, "test", 2))


@pytest.mark.parametrize("text, message", [
    ("stage1:0.9,stage2:0.2", "sum to 1"),
    ("stage3:1", "expected stage1:<share>"),
    ("stage1:x", "expected stage1:<share>"),
    ("stage1:1,stage1:0", "each stage once"),
])
def test_a_bad_mix_is_named(text, message):
    with pytest.raises(InputError, match=message) as caught:
        parse_mix(text)
    assert caught.value.path == "--mix"


@pytest.mark.parametrize("fmt, options, message", [
    ("chatts", ExportOptions(series_in_text=True), "--series-in-text.*messages only"),
    ("jsonl", ExportOptions(series_file="pickle"), "--series-file.*sensorllm only"),
    ("sensorllm", ExportOptions(series_file="hdf5"), "expected npz or pickle"),
    ("chatts", ExportOptions(stage="1", mix={2: 1.0}), "mixes stages"),
    ("chatts", ExportOptions(stage="3"), "expected 1, 2 or all"),
    ("chatts", ExportOptions(max_rows=0), "positive"),
    ("chatts", ExportOptions(shard_bytes=0), "--shard-mb.*positive size"),
])
def test_options_out_of_place_are_refused(built, mem, fmt, options, message):
    with pytest.raises(InputError, match=message):
        export(built, fmt, "memory://bad", options)
    assert not mem.exists("/bad")


def test_a_non_empty_out_needs_overwrite(built, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty.*--overwrite"):
        export(built, "chatts", str(out), ExportOptions(split="test"))
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    export(built, "chatts", str(out), ExportOptions(split="test"), overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "test"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging left


def test_cli_export_options(built, tmp_path):
    from typer.testing import CliRunner

    from flows.cli import app

    out = tmp_path / "cli"
    args = ["export", str(built), "--format", "opentslm", "--out", str(out), "--split", "train",
            "--mix", "stage1:0.5,stage2:0.5", "--max-rows", "10", "--seed", "1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert len((out / "train" / "train-00000-of-00001.jsonl").read_text().splitlines()) == 10
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 2 and "not empty" in again.output
    assert len(again.output.strip().splitlines()) == 1
    bad = CliRunner().invoke(app, [*args[:-6], "--mix", "stage1:2", "--overwrite"])
    assert bad.exit_code == 2 and "--mix" in bad.output
