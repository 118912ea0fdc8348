"""The ``lm`` ranker: a small language model's risk of every item, after the small-models study.

Two kinds, both from a local model directory:

- ``classifier``: a sequence-classification model (``qx ranker train``); risk = P(label 1).
- ``judge``: a causal LM prompted zero-shot with the study's prompt; risk = P(是) / (P(是) + P(否))
  of the first answer token (``positive``/``negative`` change the words, e.g. ``unsafe``/``safe``
  for Llama Guard-style models).

Scores are computed once per snapshot, batched, and cached (see :class:`ScoreCache`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from qx_env.errors import QxError
from qx_env.files import file_sha256
from qx_env.rankers._base import Ranker, TextScorer, register
from qx_env.rankers._cache import cached_scores
from qx_env.rankers._data import LabeledTexts
from qx_env.rankers._judge_prompts import JUDGE_ANSWERS, JUDGE_PROMPTS
from qx_env.snapshot import Snapshot

KINDS = ("classifier", "judge")
CLASSIFIER_SUFFIX = "ForSequenceClassification"


def model_fingerprint(path: str | Path) -> str:
    """sha256 over a model directory's config, tokenizer and weight files (names and contents)."""
    digest = hashlib.sha256()
    for file in sorted(Path(path).iterdir()):
        if file.is_file() and file.suffix in (".json", ".safetensors", ".model", ".txt"):
            digest.update(f"{file.name}:{file_sha256(file)}".encode())
    return digest.hexdigest()


def load_classifier(path: str | Path, trust_remote_code: bool = False):
    """Tokenizer and two-label sequence-classification model from a local directory; clear errors otherwise."""
    from transformers import AutoModelForSequenceClassification

    from qx_env.models import load_local_model

    root = Path(path).expanduser()
    tokenizer, model = load_local_model(root, AutoModelForSequenceClassification, (CLASSIFIER_SUFFIX,),
                                        "sequence classifier", "; train one with `qx ranker train`, or use "
                                        "kind=judge for a causal LM", trust_remote_code)
    if model.config.num_labels != 2:
        raise QxError(f"classifier at {root} has {model.config.num_labels} labels; the lm ranker needs 2")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.config.pad_token_id = tokenizer.pad_token_id
    return tokenizer, model.eval()


class ClassifierScorer:
    """Risk = P(toxic) of a two-label sequence classifier."""

    def __init__(self, path: str | Path, max_length: int = 256, trust_remote_code: bool = False) -> None:
        self.tokenizer, self.model = load_classifier(path, trust_remote_code)
        self.tokenizer.padding_side = "right"
        self.max_length = max_length

    def encode(self, texts: list[str]):
        return self.tokenizer(texts, return_tensors="pt", padding=True, truncation=True, max_length=self.max_length)

    def risk(self, batch) -> np.ndarray:
        logits = self.model(**batch).logits.float()
        return logits.softmax(-1)[:, 1].numpy()


class JudgeScorer:
    """Risk = P(positive) / (P(positive) + P(negative)) of a causal LM's first answer token."""

    def __init__(self, path: str | Path, language: str = "zh", positive: str = "", negative: str = "",
                 max_length: int = 256, trust_remote_code: bool = False) -> None:
        from qx_env.models import load_causal_lm

        if language not in JUDGE_PROMPTS:
            raise QxError(f"judge language must be one of {', '.join(JUDGE_PROMPTS)}, got {language!r}")
        self.tokenizer, self.model = load_causal_lm(path, trust_remote_code=trust_remote_code)
        self.language, self.max_length = language, max_length
        (self.prefix_ids, self.suffix_ids), self._prefix_cache = self._split_prompt(), None
        default_positive, default_negative = JUDGE_ANSWERS[language]
        self.answer_ids = [self._first_token(positive or default_positive), self._first_token(negative or default_negative)]
        if self.answer_ids[0] == self.answer_ids[1]:
            raise QxError(f"the judge's answers {positive or default_positive!r} and {negative or default_negative!r} "
                          "start with the same token; choose other words")

    def _first_token(self, word: str) -> int:
        ids = self.tokenizer(word, add_special_tokens=False)["input_ids"]
        if not ids:
            raise QxError(f"the judge answer {word!r} encodes to no token")
        return ids[0]

    def _conversation(self, text: str) -> str:
        content = JUDGE_PROMPTS[self.language] + text
        if self.tokenizer.chat_template:
            return self.tokenizer.apply_chat_template([{"role": "user", "content": content}],
                                                      add_generation_prompt=True, tokenize=False)
        return content + "\n"

    def _split_prompt(self) -> tuple[list[int], list[int]]:
        """Token ids of the prompt before each item's text (shared by all) and after it."""
        marker = "\u2063QX\u2063"  # a text that appears nowhere else
        before, _, after = self._conversation(marker).partition(marker)
        return tuple(self.tokenizer(part, add_special_tokens=False)["input_ids"] for part in (before, after))

    def encode(self, texts: list[str]):
        """Per text, the tokens after the shared prefix (right-padded), cut to ``max_length``."""
        import torch

        rows = [self.tokenizer(t, add_special_tokens=False)["input_ids"][: self.max_length] + self.suffix_ids
                for t in texts]
        width = max(map(len, rows))
        ids = torch.full((len(rows), width), self.tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row)], mask[i, : len(row)] = torch.tensor(row), 1
        return {"input_ids": ids, "attention_mask": mask}

    def risk(self, batch) -> np.ndarray:
        """The shared prefix runs once (its key/value cache reused), then each text and the template's
        end; the answer's logits are read at each row's last real token."""
        import copy

        import torch

        if self._prefix_cache is None:
            prefix = torch.tensor([self.prefix_ids])
            self._prefix_cache = self.model(input_ids=prefix, use_cache=True).past_key_values
        rows, prefix_length = len(batch["input_ids"]), len(self.prefix_ids)
        cache = copy.deepcopy(self._prefix_cache)
        cache.batch_repeat_interleave(rows)
        mask = torch.cat([torch.ones((rows, prefix_length), dtype=torch.long), batch["attention_mask"]], dim=1)
        logits = self.model(input_ids=batch["input_ids"], attention_mask=mask, past_key_values=cache,
                            use_cache=True).logits
        last = batch["attention_mask"].sum(1) - 1
        answer = logits[torch.arange(rows), last][:, self.answer_ids].float()
        return answer.softmax(-1)[:, 0].numpy()


def make_scorer(path: str | Path, kind: str = "classifier", language: str = "zh", max_length: int = 256,
                positive: str = "", negative: str = "", trust_remote_code: bool = False):
    """A scorer of ``kind`` (``classifier`` or ``judge``) from a local model directory."""
    if kind not in KINDS:
        raise QxError(f"lm ranker kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if not path:
        raise QxError("the lm ranker needs path=DIR (a local model directory)")
    if kind == "classifier":
        return ClassifierScorer(path, max_length, trust_remote_code)
    return JudgeScorer(path, language, positive, negative, max_length, trust_remote_code)


def score_texts(scorer, texts: list[str], batch_size: int = 32, progress: bool = True) -> np.ndarray:
    """Risk of each text, batched (longest first, so padding stays small), in input order."""
    import torch

    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    risk = np.empty(len(texts), dtype=np.float32)
    batches = range(0, len(order), max(1, batch_size))
    with torch.inference_mode():
        for start in tqdm(batches, desc="scoring", unit="batch", disable=not progress or len(batches) < 2):
            chosen = order[start:start + batch_size]
            risk[chosen] = scorer.risk(scorer.encode([texts[i] for i in chosen]))
    return risk


@register
class LMRanker(Ranker):
    """``lm:path=DIR[,kind=classifier|judge,batch_size=32,max_length=256,language=zh,positive=是,negative=否]``:
    a language model's risk of every item, scored once per snapshot and cached."""

    name = "lm"
    reads_text = True

    def __init__(self, snapshot: Snapshot, path: str = "", kind: str = "classifier", batch_size: int = 32,
                 max_length: int = 256, language: str = "", positive: str = "", negative: str = "",
                 cache: bool = True, trust_remote_code: bool = False) -> None:
        super().__init__(snapshot)
        if not path or not Path(path).is_dir():
            raise QxError(f"the lm ranker needs path=DIR, an existing local model directory; got {path!r}")
        language = language or snapshot.language
        config = {"kind": kind, "model": model_fingerprint(path), "max_length": max_length, "language": language,
                  "positive": positive, "negative": negative}

        def compute() -> np.ndarray:
            scorer = make_scorer(path, kind, language, max_length, positive, negative, trust_remote_code)
            return score_texts(scorer, list(snapshot.texts), batch_size)

        self._scores = cached_scores(snapshot, self.name, config, compute, cache)

    def scores(self) -> np.ndarray:
        return self._scores

    @classmethod
    def text_scorer(cls, train: LabeledTexts, test: LabeledTexts, path: str = "", kind: str = "classifier",
                    batch_size: int = 32, max_length: int = 256, language: str = "zh", positive: str = "",
                    negative: str = "", trust_remote_code: bool = False, **_: object) -> TextScorer:
        """The model scores texts as they are (it was trained beforehand, by ``qx ranker train``)."""
        scorer = make_scorer(path, kind, language or "zh", max_length, positive, negative, trust_remote_code)
        return lambda texts: score_texts(scorer, texts, batch_size)
