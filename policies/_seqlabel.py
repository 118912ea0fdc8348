"""The paper's Bi-LSTM-CRF baseline: a sequence labeler (BIO tags over characters for Chinese,
words for English) trained on the annotated reports of the training split; the CRF layer is
pytorch-crf's (``torchcrf.CRF``). Weights are saved with safetensors and the vocabulary as JSON
(no pickle)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torchcrf import CRF

from policies._base import Policy, SnapshotRequired, register
from qx_env.errors import QxError
from qx_env.files import claim_output_dir, write_text_atomic
from qx_env.models import torch_threads
from qx_env.snapshot import Snapshot

TAGS = ("O", "B", "I")
#: Parameter names of models saved before the CRF came from pytorch-crf -> its names (same meaning).
_OLD_CRF_NAMES = {"crf.start": "crf.start_transitions", "crf.end": "crf.end_transitions"}
_WORDS = re.compile(r"\S+")


#: Torch threads the model trains and extracts on: the LSTM's sums are split across threads, so the same
#: seed trained on 1 and on 2 threads gave different weights (measured on this project's 2-core machine);
#: one thread makes the model and its queries the same on every machine and keeps parallel suite worlds
#: from oversubscribing the cores (2 threads were only 18% faster than 1 on an idle 2-core machine).
THREADS = 1


def units(text: str, language: str) -> list[tuple[str, int, int]]:
    """Tokens with character offsets: characters for Chinese, whitespace words for English."""
    if language == "zh":
        return [(ch, i, i + 1) for i, ch in enumerate(text) if not ch.isspace()]
    return [(m.group(0).lower(), m.start(), m.end()) for m in _WORDS.finditer(text)]


def bio_tags(text: str, phrases: list[str], language: str) -> list[int]:
    """BIO tags of the tokens covered by each phrase's first occurrence in ``text``."""
    tokens = units(text, language)
    tags = [0] * len(tokens)
    lowered = text.lower()
    for phrase in phrases:
        start = lowered.find(phrase.lower())
        if start < 0 or not phrase.strip():
            continue
        end = start + len(phrase)
        inside = [i for i, (_, s, e) in enumerate(tokens) if s >= start and e <= end]
        for n, i in enumerate(inside):
            tags[i] = 1 if n == 0 else 2
    return tags


def crf_nll(crf: CRF, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The training loss: mean negative log-likelihood of the gold tag sequences (batch first)."""
    return -crf(emissions, tags, mask, reduction="mean")


class BiLSTMCRF(nn.Module):
    """Token embeddings -> Bi-LSTM -> a score per tag, read by a linear-chain CRF (batch first)."""

    def __init__(self, vocab: int, embedding: int = 64, hidden: int = 64) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab, embedding, padding_idx=0)
        self.lstm = nn.LSTM(embedding, hidden, batch_first=True, bidirectional=True)
        self.scores = nn.Linear(2 * hidden, len(TAGS))
        self.crf = CRF(len(TAGS), batch_first=True)
        for parameter in (self.crf.start_transitions, self.crf.end_transitions, self.crf.transitions):
            nn.init.zeros_(parameter)  # not torchcrf's uniform draw: the start of the hand-written CRF it replaced

    def emissions(self, ids: torch.Tensor) -> torch.Tensor:
        return self.scores(self.lstm(self.embedding(ids))[0])


@register
class SeqLabelPolicy(Policy):
    """``seqlabel[:path=DIR,epochs=20,embedding=64,hidden=64]``: trains on the snapshot's annotated
    training reports (or loads a trained model from ``path``; a trained one is saved there)."""

    name = "seqlabel"
    trains = True
    revision = 2  # 2: trained and run on one torch thread (1: torch's default count, machine-dependent)

    def __init__(self, snapshot: Snapshot | None = None, path: str = "", epochs: int = 20, embedding: int = 64,
                 hidden: int = 64, batch_size: int = 32, lr: float = 0.01, max_tokens: int = 256, seed: int = 0,
                 top: int = 5) -> None:
        super().__init__(snapshot)
        self.max_tokens, self.top = max_tokens, top
        directory = Path(path) if path else None
        if directory is not None and (directory / "seqlabel.json").is_file():
            self._load(directory)
            return
        if directory is not None:  # the model trained below is saved there: a foreign directory is refused first
            directory = claim_output_dir(directory, "seqlabel model", lambda d: (d / "seqlabel.json").is_file())
        if snapshot is None:
            raise SnapshotRequired("seqlabel", otherwise="path=DIR of a trained model")
        self.language = snapshot.language
        reports = snapshot.reports_in("train")
        texts = snapshot.report_texts(reports)
        self._train(texts, reports.column("annotations").to_pylist(), epochs, embedding, hidden, batch_size, lr, seed)
        if directory is not None:
            self.save(directory)

    @classmethod
    def trained_on(cls, texts: list[str], annotations: list[list[str]], language: str, epochs: int = 20,
                   embedding: int = 64, hidden: int = 64, batch_size: int = 32, lr: float = 0.01, max_tokens: int = 256,
                   seed: int = 0, top: int = 5) -> SeqLabelPolicy:
        """A model trained on ``texts`` and their annotated phrases instead of a snapshot's training split (e.g.
        the reports filed so far on a platform that moves, :class:`qx_env.online.Retrain`); a text that holds
        none of its phrases is skipped. The same examples and seed give the same model."""
        policy = cls.__new__(cls)
        Policy.__init__(policy, None)
        policy.max_tokens, policy.top, policy.language = max_tokens, top, language
        policy._train(texts, annotations, epochs, embedding, hidden, batch_size, lr, seed)
        return policy

    # ---- training ---------------------------------------------------------------------------
    def _train(self, texts: list[str], annotations: list[list[str]], epochs: int, embedding: int, hidden: int,
               batch_size: int, lr: float, seed: int) -> None:
        """:meth:`fit` on the examples whose text holds one of its annotated phrases."""
        examples = [(t, a) for t, a in zip(texts, annotations) if any(p and p.lower() in t.lower() for p in a)]
        if not examples:
            raise QxError("policy 'seqlabel' found no training report whose annotations occur in its text")
        self.fit([t for t, _ in examples], [a for _, a in examples], epochs, embedding, hidden, batch_size, lr, seed)

    def _encode(self, text: str) -> list[int]:
        return [self.vocab.get(token, 1) for token, _, _ in units(text, self.language)[: self.max_tokens]]

    def fit(self, texts: list[str], annotations: list[list[str]], epochs: int, embedding: int, hidden: int,
            batch_size: int, lr: float, seed: int) -> None:
        counts: dict[str, int] = {}
        for text in texts:
            for token, _, _ in units(text, self.language):
                counts[token] = counts.get(token, 0) + 1
        self.vocab = {token: i + 2 for i, token in enumerate(sorted(counts))}  # 0 pad, 1 unknown
        torch.manual_seed(seed)
        self.model = BiLSTMCRF(len(self.vocab) + 2, embedding, hidden)
        self.config = {"embedding": embedding, "hidden": hidden, "language": self.language}
        rows = [(self._encode(t), bio_tags(t, a, self.language)[: self.max_tokens]) for t, a in zip(texts, annotations)]
        rows = [r for r in rows if r[0]]
        optimizer = torch.optim.Adam(self.model.parameters(), lr=lr)
        order = np.random.default_rng(seed)
        self.model.train()
        with torch_threads(THREADS):
            for _ in range(epochs):
                for start in range(0, len(rows), batch_size):
                    batch = [rows[i] for i in order.permutation(len(rows))[start:start + batch_size]]
                    ids, tags, mask = _pad(batch)
                    loss = crf_nll(self.model.crf, self.model.emissions(ids), tags, mask)
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
        self.model.eval()

    def save(self, directory: Path) -> None:
        from safetensors.torch import save_file

        directory.mkdir(parents=True, exist_ok=True)
        save_file(self.model.state_dict(), str(directory / "seqlabel.safetensors"))
        # written last and atomically: its presence marks a complete model
        write_text_atomic(directory / "seqlabel.json", json.dumps({**self.config, "vocab": self.vocab}, ensure_ascii=False))

    def _load(self, directory: Path) -> None:
        from safetensors.torch import load_file

        config = json.loads((directory / "seqlabel.json").read_text())
        self.language, self.vocab = config["language"], config["vocab"]
        self.config = {k: config[k] for k in ("embedding", "hidden", "language")}
        self.model = BiLSTMCRF(len(self.vocab) + 2, config["embedding"], config["hidden"])
        state = load_file(str(directory / "seqlabel.safetensors"))
        self.model.load_state_dict({_OLD_CRF_NAMES.get(name, name): value for name, value in state.items()})
        self.model.eval()

    # ---- extraction --------------------------------------------------------------------------
    def extract(self, texts: list[str]) -> list[list[str]]:
        out: list[list[str]] = [[] for _ in texts]
        rows = [(i, self._encode(t)) for i, t in enumerate(texts)]
        rows = [(i, ids) for i, ids in rows if ids]
        if not rows:
            return out
        ids, _, mask = _pad([(r, [0] * len(r)) for _, r in rows])
        with torch.inference_mode(), torch_threads(THREADS):
            paths = self.model.crf.decode(self.model.emissions(ids), mask)
        for (i, _), path in zip(rows, paths):
            tokens = units(texts[i], self.language)[: self.max_tokens]
            spans, current = [], None
            for (_, start, end), tag in zip(tokens, path):
                if tag == 1 or (tag == 2 and current is None):
                    current = [start, end]
                    spans.append(current)
                elif tag == 2:
                    current[1] = end
                else:
                    current = None
            phrases = [texts[i][s:e].strip() for s, e in spans]
            out[i] = list(dict.fromkeys(p for p in phrases if p))[: self.top]
        return out


def _pad(rows: list[tuple[list[int], list[int]]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    length = max(len(ids) for ids, _ in rows)
    ids = torch.zeros(len(rows), length, dtype=torch.long)
    tags = torch.zeros(len(rows), length, dtype=torch.long)
    mask = torch.zeros(len(rows), length, dtype=torch.bool)
    for row, (token_ids, tag_ids) in enumerate(rows):
        ids[row, : len(token_ids)] = torch.tensor(token_ids)
        tags[row, : len(tag_ids)] = torch.tensor(tag_ids)
        mask[row, : len(token_ids)] = True
    return ids, tags, mask
