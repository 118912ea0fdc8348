"""The ``openai`` policy: a model behind an OpenAI-compatible chat-completions endpoint (OpenAI,
vLLM, SGLang, a gateway), prompted with the paper's instruction and parsed from the paper's answer
format. Each request is retried on its own with capped, jittered exponential back-off; a bounded
number are in flight; every answer is written to an on-disk cache (keyed by model, prompt and
options) the moment it arrives, so a rerun costs nothing and an interrupted or failed evaluation
resumes where it stopped without asking again. Every failure names the endpoint's URL; answers not in
the paper's format are counted and warned about. The API key is read from an environment variable
when the client is made and is never written anywhere."""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from policies._base import Policy, register
from policies._prompts import messages
from qx_env.errors import QxError
from qx_env.files import write_text_atomic
from qx_env.parsers import ANSWER_PREFIXES, parse_answer
from qx_env.snapshot import Snapshot

#: Key sent when the named variable is unset (local servers such as vLLM accept any key).
PLACEHOLDER_KEY = "EMPTY"
DEFAULT_KEY_ENV = "OPENAI_API_KEY"
#: Longest wait between two attempts of one request, in seconds (also caps a server's Retry-After).
MAX_BACKOFF = 30.0
#: HTTP statuses retried besides 429 and 5xx: request timeout and conflict (as the openai client does).
RETRIED_STATUSES = (408, 409)


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/qx-env/openai`` (``~/.cache/qx-env/openai``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "qx-env" / "openai"


@register
class OpenAIPolicy(Policy):
    """``openai:base_url=URL,model=NAME[,api_key_env=OPENAI_API_KEY,concurrency=8,temperature=0,
    max_tokens=128,timeout=60,retries=8,backoff=0.5,seed=0,cache=auto,language=zh]``.

    ``base_url`` is the endpoint's API root (e.g. ``http://127.0.0.1:8001/v1``). The key comes from
    the variable ``api_key_env`` (the placeholder ``EMPTY`` when the default one is unset).
    ``concurrency`` requests are in flight at most; each is retried on its own after connection
    errors, timeouts, 408, 409, 429 and 5xx, ``retries`` times, waiting ``backoff * 2**attempt``
    seconds (jittered, at most 30 s, or the server's ``Retry-After``). When one request has used all
    its attempts no new ones start; those in flight finish, and the error says how many answers are
    kept. ``cache``: ``auto`` (``~/.cache/qx-env/openai``), a directory, or ``off``; entries are JSON,
    keyed by model, messages and options (not by URL, so the same model on another port hits the
    cache), written as each answer arrives: rerunning an interrupted evaluation asks only for the rest.
    ``off_format`` and ``answered`` count the answers parsed so far that were not in the expected
    format, and all of them."""

    name = "openai"

    def __init__(self, snapshot: Snapshot | None = None, base_url: str = "", model: str = "",
                 api_key_env: str = DEFAULT_KEY_ENV, concurrency: int = 8, temperature: float = 0.0,
                 max_tokens: int = 128, timeout: float = 60.0, retries: int = 8, backoff: float = 0.5,
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
        self.off_format = self.answered = 0
        self._last_off: list[str] = []
        self._warned_candidates = False

    # ---- the endpoint -----------------------------------------------------------------------
    @property
    def client(self):
        """The ``openai`` client (made on first use; its own retries off, this policy retries)."""
        if self._client is None:
            import openai

            key = os.environ.get(self.api_key_env) or PLACEHOLDER_KEY
            self._client = openai.OpenAI(base_url=self.base_url, api_key=key, timeout=self.timeout, max_retries=0)
        return self._client

    def _delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds before attempt ``attempt`` (1, 2, ...): the server's ``Retry-After`` when it gives
        seconds, else ``backoff * 2**(attempt-1)`` with jitter; at most :data:`MAX_BACKOFF`."""
        try:
            asked = float(retry_after) if retry_after is not None else None
        except ValueError:
            asked = None
        if asked is not None and asked >= 0:
            return min(MAX_BACKOFF, asked)
        return min(MAX_BACKOFF, self.backoff * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)

    def _request(self, conversation: list[dict[str, str]], n: int) -> list[str]:
        """One chat completion's answers, retried on its own; any failure is a :class:`QxError` naming the URL."""
        import openai

        reason, retry_after = "", None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self._delay(attempt, retry_after))
            retry_after = None
            try:
                response = self.client.chat.completions.create(model=self.model, messages=conversation, n=n,
                                                               **self.options)
            except openai.APITimeoutError:
                reason = f"timed out after {self.timeout:g} s"
            except openai.APIConnectionError as exc:
                reason = f"failed: {type(exc).__name__}: {_short(exc)}"
            except openai.APIStatusError as exc:
                if not (exc.status_code in RETRIED_STATUSES or exc.status_code == 429 or exc.status_code >= 500):
                    raise QxError(f"OpenAI-compatible endpoint {self.base_url} refused the request "
                                  f"(HTTP {exc.status_code}): {_short(exc)}") from None
                reason = f"failed: {type(exc).__name__} (HTTP {exc.status_code}): {_short(exc)}"
                retry_after = exc.response.headers.get("retry-after")
            except Exception as exc:  # noqa: BLE001 - a body the client cannot read (bad JSON, HTML) raises anything
                raise QxError(f"OpenAI-compatible endpoint {self.base_url} answered something that is not a chat "
                              f"completion ({type(exc).__name__}: {_short(exc)})") from None
            else:
                return self._answers(response)
        raise QxError(f"OpenAI-compatible endpoint {self.base_url} {reason} ({self.retries + 1} attempts)")

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
            found.update(self._ask(missing, n, kept_before=len(found) - len(missing)))
        return [found[key] for key in keys]

    def _ask(self, missing: dict[str, list[dict[str, str]]], n: int, kept_before: int) -> dict[str, list[str]]:
        """Ask the endpoint for every conversation in ``missing``; each answer is cached as it arrives (in
        the worker, so an interrupt keeps what came in). After a request fails for good no new ones start."""

        def ask(key: str, conversation: list[dict[str, str]]) -> list[str]:
            answers = self._request(conversation, n)
            self._store(key, n, answers)
            return answers

        got: dict[str, list[str]] = {}
        failure: QxError | None = None
        pool = ThreadPoolExecutor(min(self.concurrency, len(missing)))
        try:
            futures = {pool.submit(ask, key, c): key for key, c in missing.items()}
            for future in as_completed(futures):
                if future.cancelled():
                    continue
                try:
                    got[futures[future]] = future.result()
                except QxError as exc:
                    if failure is None:
                        failure = exc
                        for pending in futures:
                            pending.cancel()  # those not started yet; the ones in flight finish
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        if failure is not None:
            total = kept_before + len(missing)
            if self.cache_dir is None:
                kept = (f"stopped asking; the {len(got)} answers received this run are not kept (cache=off): "
                        "turn the cache on to resume an interrupted run")
            else:
                kept = (f"stopped asking; {kept_before + len(got)} of {total} answers are kept in {self.cache_dir} "
                        f"({len(got)} received this run): run the same command again to resume, without asking "
                        "for those again")
            raise QxError(f"{failure}; {kept}") from None
        return got

    # ---- the policy ---------------------------------------------------------------------------
    def _parsed(self, answers: list[str]) -> list:
        """Parse answers, counting those not in the expected format (no answer prefix, or no query after it)."""
        parsed = [parse_answer(a) for a in answers]
        off = [a for a, p in zip(answers, parsed) if not p.well_formed]
        self.answered += len(answers)
        self.off_format += len(off)
        self._last_off = off[:1]
        return parsed

    def _format_warning(self, off: int, total: int, what: str = "answers") -> str:
        prefix = ANSWER_PREFIXES.get(self.language, ANSWER_PREFIXES["zh"])
        example = f"; e.g. {self._last_off[0][:80]!r}" if self._last_off else ""
        return (f"policy 'openai': {off} of {total} {what} from {self.base_url} are not in the expected format "
                f"({prefix!r} then comma-separated queries) and give no queries{example}")

    def extract(self, texts: list[str]) -> list[list[str]]:
        asked = [i for i, text in enumerate(texts) if text.strip()]
        completed = self.complete([texts[i] for i in asked])
        parsed = dict(zip(asked, self._parsed([answers[0] for answers in completed])))
        off = sum(not p.well_formed for p in parsed.values())
        if off:
            warnings.warn(self._format_warning(off, len(parsed)), stacklevel=2)
        return [list(parsed[i].queries) if i in parsed and parsed[i].well_formed else [] for i in range(len(texts))]

    def candidates(self, text: str, n: int) -> list[list[str]]:
        """Up to ``n`` distinct well-formed answers (one when greedy: ``temperature`` 0). The first time
        sampled answers are off format it warns (the running count is in ``off_format``/``answered``)."""
        if not text.strip():
            return []
        count = n if self.options["temperature"] > 0 else 1
        parsed = self._parsed(self.complete([text], count)[0])
        if self._last_off and not self._warned_candidates:
            self._warned_candidates = True
            warnings.warn(self._format_warning(self.off_format, self.answered, "answers so far"), stacklevel=2)
        return [list(q) for q in dict.fromkeys(p.queries for p in parsed if p.well_formed) if q]


def _short(error: Exception | None) -> str:
    return " ".join(str(error).split())[:200]
