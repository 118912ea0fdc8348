"""The ``openai`` policy: a model behind an OpenAI-compatible chat-completions endpoint (OpenAI,
vLLM, SGLang, a gateway), prompted with the paper's instruction and parsed from the paper's answer
format. Retries with exponential back-off, a bounded number of requests in flight, and an on-disk
cache of answers keyed by model, prompt and options, so a rerun costs nothing. The API key is read
from an environment variable when the client is made and is never written anywhere."""

from __future__ import annotations

import hashlib
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from policies._base import Policy, register
from policies._prompts import messages
from qx_env.errors import QxError
from qx_env.files import write_text_atomic
from qx_env.parsers import parse_answer
from qx_env.snapshot import Snapshot

#: Key sent when the named variable is unset (local servers such as vLLM accept any key).
PLACEHOLDER_KEY = "EMPTY"
DEFAULT_KEY_ENV = "OPENAI_API_KEY"


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/qx-env/openai`` (``~/.cache/qx-env/openai``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "qx-env" / "openai"


@register
class OpenAIPolicy(Policy):
    """``openai:base_url=URL,model=NAME[,api_key_env=OPENAI_API_KEY,concurrency=8,temperature=0,
    max_tokens=128,timeout=60,retries=4,backoff=0.5,seed=0,cache=auto,language=zh]``.

    ``base_url`` is the endpoint's API root (e.g. ``http://127.0.0.1:8001/v1``). The key comes from
    the variable ``api_key_env`` (the placeholder ``EMPTY`` when the default one is unset).
    ``concurrency`` requests are in flight at most; connection errors, timeouts, 429 and 5xx are
    retried ``retries`` times after ``backoff * 2**attempt`` seconds. ``cache``: ``auto``
    (``~/.cache/qx-env/openai``), a directory, or ``off``; entries are JSON, keyed by model,
    messages and options (not by URL, so the same model on another port hits the cache)."""

    name = "openai"

    def __init__(self, snapshot: Snapshot | None = None, base_url: str = "", model: str = "",
                 api_key_env: str = DEFAULT_KEY_ENV, concurrency: int = 8, temperature: float = 0.0,
                 max_tokens: int = 128, timeout: float = 60.0, retries: int = 4, backoff: float = 0.5,
                 seed: int = 0, cache: str = "auto", language: str = "") -> None:
        super().__init__(snapshot)
        if not base_url.startswith(("http://", "https://")):
            raise QxError("policy 'openai' needs base_url=http(s)://HOST[:PORT]/v1 (an OpenAI-compatible API root), "
                          f"got {base_url!r}")
        if not model:
            raise QxError("policy 'openai' needs model=NAME (the model the endpoint serves)")
        if concurrency < 1 or retries < 0 or timeout <= 0 or backoff < 0 or max_tokens < 1:
            raise QxError("policy 'openai': need concurrency >= 1, retries >= 0, timeout > 0, backoff >= 0 and "
                          f"max_tokens >= 1, got {concurrency}, {retries}, {timeout}, {backoff}, {max_tokens}")
        if api_key_env != DEFAULT_KEY_ENV and api_key_env not in os.environ:
            raise QxError(f"policy 'openai': environment variable {api_key_env} (api_key_env) is not set")
        self.base_url, self.model, self.api_key_env = base_url.rstrip("/"), model, api_key_env
        self.concurrency, self.retries, self.backoff, self.timeout = concurrency, retries, backoff, timeout
        self.options = {"temperature": temperature, "max_tokens": max_tokens, "seed": seed}
        self.language = language or (snapshot.language if snapshot is not None else "zh")
        self.cache_dir = None if cache in ("off", "none", "") else default_cache_dir() if cache == "auto" else Path(cache)
        self._client = None

    # ---- the endpoint -----------------------------------------------------------------------
    @property
    def client(self):
        """The ``openai`` client (made on first use; its own retries off, this policy retries)."""
        if self._client is None:
            import openai

            key = os.environ.get(self.api_key_env) or PLACEHOLDER_KEY
            self._client = openai.OpenAI(base_url=self.base_url, api_key=key, timeout=self.timeout, max_retries=0)
        return self._client

    def _request(self, conversation: list[dict[str, str]], n: int) -> list[str]:
        import openai

        last: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = self.client.chat.completions.create(model=self.model, messages=conversation, n=n,
                                                               **self.options)
            except openai.APITimeoutError as exc:
                last = exc
                reason = f"timed out after {self.timeout:g} s"
            except (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError) as exc:
                last = exc
                reason = f"failed: {type(exc).__name__}: {_short(exc)}"
            except openai.APIStatusError as exc:
                raise QxError(f"OpenAI-compatible endpoint {self.base_url} refused the request "
                              f"(HTTP {exc.status_code}): {_short(exc)}") from None
            except openai.APIError as exc:
                raise QxError(f"OpenAI-compatible endpoint {self.base_url} answered something that is not a chat "
                              f"completion: {_short(exc)}") from None
            else:
                return self._answers(response)
        raise QxError(f"OpenAI-compatible endpoint {self.base_url} {reason} "
                      f"({self.retries + 1} attempts): {_short(last)}")

    def _answers(self, response: Any) -> list[str]:
        choices = getattr(response, "choices", None)
        try:
            answers = [choice.message.content or "" for choice in choices]
        except (AttributeError, TypeError):
            answers = None
        if not answers or not all(isinstance(a, str) for a in answers):
            raise QxError(f"OpenAI-compatible endpoint {self.base_url} answered something that is not a chat "
                          f"completion: {str(response)[:120]!r}")
        return answers

    # ---- the cache ----------------------------------------------------------------------------
    def _key(self, conversation: list[dict[str, str]], n: int) -> str:
        record = {"model": self.model, "messages": conversation, "options": {**self.options, "n": n}}
        return hashlib.sha256(json.dumps(record, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    def _cached(self, key: str) -> list[str] | None:
        if self.cache_dir is None:
            return None
        path = self.cache_dir / key[:2] / f"{key}.json"
        try:
            answers = json.loads(path.read_text(encoding="utf-8"))["answers"]
        except (OSError, ValueError, KeyError, TypeError):
            return None  # absent or damaged: asked again and rewritten
        return answers if isinstance(answers, list) and all(isinstance(a, str) for a in answers) else None

    def _store(self, key: str, n: int, answers: list[str]) -> None:
        if self.cache_dir is not None:
            entry = {"model": self.model, "options": {**self.options, "n": n}, "answers": answers}
            write_text_atomic(self.cache_dir / key[:2] / f"{key}.json", json.dumps(entry, ensure_ascii=False) + "\n")

    def complete(self, texts: list[str], n: int = 1) -> list[list[str]]:
        """Raw answers (``n`` per text) from the cache or the endpoint, ``concurrency`` requests at a time."""
        conversations = [messages(text, self.language) for text in texts]
        keys = [self._key(c, n) for c in conversations]
        found = {key: self._cached(key) for key in dict.fromkeys(keys)}
        missing = {key: c for key, c in zip(keys, conversations) if found[key] is None}
        if missing:
            pool = ThreadPoolExecutor(min(self.concurrency, len(missing)))
            try:
                for key, answers in zip(missing, pool.map(lambda c: self._request(c, n), missing.values())):
                    self._store(key, n, answers)  # answers so far stay cached when a later request fails
                    found[key] = answers
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
        return [found[key] for key in keys]

    # ---- the policy ---------------------------------------------------------------------------
    def extract(self, texts: list[str]) -> list[list[str]]:
        asked = [i for i, text in enumerate(texts) if text.strip()]
        answers = dict(zip(asked, self.complete([texts[i] for i in asked])))
        results = []
        for i in range(len(texts)):
            parsed = parse_answer(answers[i][0]) if i in answers else None
            results.append(list(parsed.queries) if parsed is not None and parsed.well_formed else [])
        return results

    def candidates(self, text: str, n: int) -> list[list[str]]:
        """Up to ``n`` distinct well-formed answers (one when greedy: ``temperature`` 0)."""
        if not text.strip():
            return []
        count = n if self.options["temperature"] > 0 else 1
        parsed = [parse_answer(a) for a in self.complete([text], count)[0]]
        return [list(q) for q in dict.fromkeys(p.queries for p in parsed if p.well_formed) if q]


def _short(error: Exception | None) -> str:
    return " ".join(str(error).split())[:200]
