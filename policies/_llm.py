"""The LLM policy: a Hugging Face causal LM from a local path, prompted with the paper's instruction,
its answer parsed from the paper's format. Greedy, sampling or beam search; batched generation;
a LoRA adapter from training loads on top of the base model."""

from __future__ import annotations

import warnings

from policies._base import Policy, register
from policies._grounded import SpanConstraint, spans_of, token_bytes
from policies._prompts import messages
from qx_env.errors import QxError
from qx_env.models import load_causal_lm
from qx_env.parsers import ANSWER_PREFIXES, parse_answer
from qx_env.snapshot import Snapshot


@register
class LLMPolicy(Policy):
    """``llm:path=DIR[,adapter=DIR,temperature=0.7,num_beams=4,max_new_tokens=128,batch_size=8]``.

    ``temperature`` 0 is greedy; above 0 samples. ``num_beams`` > 1 is beam search. Reports longer
    than ``max_input_tokens`` are cut (with a warning). ``language`` defaults to the snapshot's.
    ``grounded=true`` decodes extractively: the answer prefix is given and every query must be a
    span of the report (:mod:`policies._grounded`)."""

    name = "llm"

    def __init__(self, snapshot: Snapshot | None = None, path: str = "", adapter: str = "", language: str = "",
                 temperature: float = 0.0, num_beams: int = 1, max_new_tokens: int = 128, batch_size: int = 8,
                 max_input_tokens: int = 1536, seed: int = 0, trust_remote_code: bool = False,
                 grounded: bool = False) -> None:
        super().__init__(snapshot)
        if not path:
            raise QxError("policy 'llm' needs path=DIR (a local model, e.g. one made by `qx model tiny`)")
        self.language = language or (snapshot.language if snapshot is not None else "zh")
        self.temperature, self.num_beams = temperature, num_beams
        self.max_new_tokens, self.batch_size = max_new_tokens, batch_size
        self.max_input_tokens, self.seed, self.grounded = max_input_tokens, seed, grounded
        self._token_bytes: list[bytes | None] | None = None  # for grounded decoding, made once
        self.tokenizer, self.model = load_causal_lm(path, adapter, trust_remote_code)

    def _cut(self, text: str) -> str:
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(ids) > self.max_input_tokens:
            warnings.warn(f"report of {len(ids)} tokens cut to {self.max_input_tokens} (max_input_tokens)",
                          stacklevel=4)
            text = self.tokenizer.decode(ids[: self.max_input_tokens])
        return text

    def _prompt(self, text: str) -> str:
        conversation = messages(text, self.language)
        if self.tokenizer.chat_template:
            prompt = self.tokenizer.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)
        else:
            prompt = "\n".join(m["content"] for m in conversation) + "\n"
        return prompt + (ANSWER_PREFIXES[self.language] if self.grounded else "")

    def generate(self, texts: list[str], num_return_sequences: int = 1, sample: bool | None = None) -> list[list[str]]:
        """Raw answers: ``num_return_sequences`` per text."""
        import torch

        sample = self.temperature > 0 if sample is None else sample
        beams = max(self.num_beams, num_return_sequences) if not sample else 1
        out: list[list[str]] = []
        torch.manual_seed(self.seed)
        for start in range(0, len(texts), self.batch_size):
            chunk = [self._cut(t) for t in texts[start:start + self.batch_size]]
            batch = self.tokenizer([self._prompt(t) for t in chunk], return_tensors="pt", padding=True,
                                   add_special_tokens=False)
            # use_cache: a model saved by a trainer with gradient checkpointing has it off in its config,
            # and generating without the key/value cache recomputes the whole sequence at every token
            options = {"max_new_tokens": self.max_new_tokens, "num_return_sequences": num_return_sequences,
                       "pad_token_id": self.tokenizer.pad_token_id, "eos_token_id": self.tokenizer.eos_token_id,
                       "use_cache": True}
            if sample:
                options.update(do_sample=True, temperature=self.temperature or 1.0)
            else:
                options.update(do_sample=False, num_beams=beams)
            if self.grounded:
                if self._token_bytes is None:
                    self._token_bytes = token_bytes(self.tokenizer)
                options["prefix_allowed_tokens_fn"] = SpanConstraint(
                    self.tokenizer, chunk, batch["input_ids"].shape[1], num_return_sequences if sample else 1,
                    self.language, self._token_bytes)
            with torch.inference_mode():
                generated = self.model.generate(**batch, **options)
            new = generated[:, batch["input_ids"].shape[1]:]
            decoded = self.tokenizer.batch_decode(new, skip_special_tokens=True)
            if self.grounded:
                decoded = [ANSWER_PREFIXES[self.language] + answer for answer in decoded]
            out += [decoded[i:i + num_return_sequences] for i in range(0, len(decoded), num_return_sequences)]
        return out

    def extract(self, texts: list[str]) -> list[list[str]]:
        results = []
        for text, (answer,) in zip(texts, self.generate(texts)):
            parsed = parse_answer(answer)
            queries = list(parsed.queries) if parsed.well_formed and text.strip() else []
            results.append(spans_of(text, queries, self.language) if self.grounded else queries)
        return results

    def candidates(self, text: str, n: int) -> list[list[str]]:
        """``n`` alternative answers by beam search (or sampling when ``temperature`` > 0)."""
        answers = self.generate([text], num_return_sequences=n)[0]
        parsed = [parse_answer(a) for a in answers]
        unique = dict.fromkeys(p.queries for p in parsed if p.well_formed)
        if self.grounded:
            unique = dict.fromkeys(tuple(spans_of(text, list(q), self.language)) for q in unique)
        return [list(q) for q in unique if q]
