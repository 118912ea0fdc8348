"""The wire formats of the retrieval server: request bodies in JSON or msgpack (GEM sends msgpack),
the Search-R1 / verl / rllm / SkyRL request ``{"queries": [...], "topk": n, "return_scores": bool}``
answered ``{"result": [[hit, ...], ...]}`` (one list per query; a JSON ``{"query": "..."}`` is one such
query), and GEM's single msgpack query ``{"query": "...", "topk": n, "return_scores": bool}`` answered
as GEM's own server (``gem/tools/search_engine/retrieval_server.py``) does: ``{"result": [hit, ...]}``,
one flat list, each hit ``{"document", "score"}`` (``score`` nil without ``return_scores``).

A hit is ``{"document": {"id", "contents"}, "score"}``, or the bare document when ``return_scores`` is
false. ``contents`` is ``title + "\\n" + text``, as in Search-R1's corpora: the peers' clients split it on
the first newline into a title and a text (:func:`contents_of`); the title is the listing's opening
words, so it tells nothing the text does not. Nothing else of an item (no label, category or cluster)
ever goes out."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgpack
import numpy as np

from qx_env.adapters.server.config import ServerConfig
from qx_env.snapshot import Snapshot

JSON_TYPE = "application/json"
MSGPACK_TYPE = "application/msgpack"
SESSION_HEADER = "x-session-id"
SESSION_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")


class BadRequest(Exception):
    """A request the server refuses: an HTTP status (4xx) and a one-line message naming the problem."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class RetrieveRequest:
    """One validated ``/retrieve`` request."""

    queries: tuple[str, ...]
    topk: int
    return_scores: bool
    session_id: str | None
    single: bool = False
    """The body named one ``query`` (not a ``queries`` list)."""


def wants_msgpack(content_type: str, accept: str, body: bytes) -> bool:
    """Whether a body is msgpack: by its Content-Type, else by its first byte (GEM sends none),
    or when the client accepts only msgpack."""
    kind = content_type.lower()
    if "msgpack" in kind:
        return True
    if "json" in kind:
        return False
    if "msgpack" in accept.lower() and "json" not in accept.lower():
        return True
    first = body.lstrip()[:1]
    return bool(first) and first not in b'{["-0123456789tfn"'


def decode_body(body: bytes, is_msgpack: bool) -> Any:
    """The request payload; a malformed body is a 400 naming the format."""
    if not body.strip():
        raise BadRequest(400, "empty request body; send a JSON (or msgpack) object such as "
                              '{"queries": ["..."], "topk": 3}')
    if is_msgpack:
        try:
            return msgpack.unpackb(body, raw=False, strict_map_key=True)
        except Exception as exc:  # noqa: BLE001 - msgpack raises several unrelated types for bad input
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise BadRequest(400, f"request body is not valid msgpack ({detail})") from None
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(400, f"request body is not valid JSON ({exc})") from None


def check_session_id(value: Any, where: str) -> str:
    """A session id: 1-128 letters, digits or ``_.:-``."""
    if not isinstance(value, str) or not SESSION_ID.match(value):
        shown = repr(value)[:60]
        raise BadRequest(400, f"{where} must be 1-128 characters of letters, digits and _.:- , got {shown}")
    return value


def session_of(payload: Mapping[str, Any] | None, header: str | None) -> str | None:
    """The session named by the ``X-Session-Id`` header or the body's ``session_id`` (they must agree)."""
    from_body = payload.get("session_id") if payload is not None else None
    if header is not None:
        header = check_session_id(header, "the X-Session-Id header")
    if from_body is not None:
        from_body = check_session_id(from_body, "field 'session_id'")
    if header is not None and from_body is not None and header != from_body:
        raise BadRequest(400, f"the X-Session-Id header ({header!r}) and field 'session_id' ({from_body!r}) "
                              "name different sessions")
    return header if header is not None else from_body


def parse_retrieve(payload: Any, header_session: str | None, config: ServerConfig) -> RetrieveRequest:
    """Validate a ``/retrieve`` payload against the server's bounds; every problem is a 400 naming the field."""
    if not isinstance(payload, Mapping):
        raise BadRequest(400, f"request body must be an object with 'queries' (or 'query'), "
                              f"got {type(payload).__name__}")
    if "queries" in payload and "query" in payload:
        raise BadRequest(400, "give 'queries' (a list) or 'query' (one string), not both")
    if "query" in payload:
        queries = [payload["query"]]
        field = "query"
    elif "queries" in payload:
        queries = payload["queries"]
        field = "queries"
        if not isinstance(queries, list):
            raise BadRequest(400, f"field 'queries' must be a list of strings, got {type(queries).__name__}")
    else:
        raise BadRequest(400, "request body has neither 'queries' (a list of strings) nor 'query' (a string)")
    if not queries:
        raise BadRequest(400, "field 'queries' is empty; send at least one query")
    if len(queries) > config.max_queries:
        raise BadRequest(413, f"{len(queries)} queries in one request; the limit is {config.max_queries} "
                              "(qx serve --max-queries)")
    for i, query in enumerate(queries):
        where = "field 'query'" if field == "query" else f"queries[{i}]"
        if not isinstance(query, str):
            raise BadRequest(400, f"{where} must be a string, got {type(query).__name__}")
        if len(query) > config.max_query_chars:
            raise BadRequest(400, f"{where} has {len(query)} characters; the limit is {config.max_query_chars} "
                                  "(qx serve --max-query-chars)")
    topk = payload.get("topk")
    if topk is None:
        topk = config.topk
    if isinstance(topk, bool) or not isinstance(topk, int):
        raise BadRequest(400, f"field 'topk' must be an integer, got {type(topk).__name__}")
    if not 1 <= topk <= config.k:
        raise BadRequest(400, f"field 'topk' must be in [1, {config.k}] (the exposed top k), got {topk}")
    return_scores = payload.get("return_scores", False)
    if not isinstance(return_scores, bool):
        raise BadRequest(400, f"field 'return_scores' must be true or false, got {type(return_scores).__name__}")
    return RetrieveRequest(tuple(queries), topk, return_scores, session_of(payload, header_session),
                           single=field == "query")


#: Where a listing's opening words end: CJK punctuation, a newline, ASCII punctuation before a space,
#: or a spaced dash or bar (``"Ninja AC unit - brand new - $250"``).
TITLE_END = re.compile(r"[，。！？；：、～…\n\r]|[,.!?;:~](?=\s|$)|\s[-–—|/]\s")
#: Longest title, in characters (a longer opening is cut at a space where it can be).
TITLE_CHARS = 48


def title_of(text: str) -> str:
    """A listing's title: its opening words up to the first clause break, at most :data:`TITLE_CHARS`
    characters, with no newline. It is cut from the text alone, so it carries nothing hidden."""
    for piece in TITLE_END.split(text):
        piece = " ".join(piece.split())
        if any(c.isalnum() for c in piece):
            break
    else:
        piece = " ".join(text.split())
    if len(piece) > TITLE_CHARS:
        cut = piece.rfind(" ", 0, TITLE_CHARS + 1)
        piece = piece[:cut if cut >= TITLE_CHARS // 2 else TITLE_CHARS].rstrip()
    return piece


def contents_of(text: str) -> str:
    """A document's ``contents``: the title, a newline, then the whole listing text (Search-R1's
    ``"title"\\ntext`` layout, which Search-R1's, verl's and GEM's ``_passages2string`` split on the first
    newline)."""
    return f"{title_of(text)}\n{text}"


def documents_of(positions: np.ndarray, snapshot: Snapshot, topk: int) -> list[dict]:
    """The first ``topk`` exposed items as documents: ``id`` and ``contents``, nothing else."""
    ids, texts = snapshot.ids, snapshot.texts
    return [{"id": str(ids[p]), "contents": contents_of(texts[p])} for p in positions[:topk].tolist()]


def hit_lists(exposed: list[np.ndarray], snapshot: Snapshot, topk: int, return_scores: bool) -> list[list[dict]]:
    """The ``result`` of an answer: per query, the first ``topk`` exposed items as documents. A score
    is ``1 / rank`` in the exposed order (the platform's ranking): raw risk scores are not served,
    since a ranker's scores may read the hidden labels (``oracle``)."""
    result = []
    for positions in exposed:
        documents = documents_of(positions, snapshot, topk)
        if return_scores:
            result.append([{"document": d, "score": 1.0 / rank} for rank, d in enumerate(documents, 1)])
        else:
            result.append(documents)
    return result


def gem_hits(positions: np.ndarray, snapshot: Snapshot, topk: int, return_scores: bool) -> list[dict]:
    """The ``result`` for GEM's single msgpack query: one flat list of ``{"document", "score"}``, as
    GEM's own server answers (its ``RetrievalWorker.forward``: ``score`` is ``None`` without
    ``return_scores``)."""
    documents = documents_of(positions, snapshot, topk)
    return [{"document": d, "score": 1.0 / rank if return_scores else None} for rank, d in enumerate(documents, 1)]


def retrieve_result(parsed: RetrieveRequest, exposed: list[np.ndarray], snapshot: Snapshot,
                    as_msgpack: bool) -> list:
    """A ``/retrieve`` answer's ``result``: GEM's flat list for one msgpack ``query``, else a list per query."""
    if parsed.single and as_msgpack:
        return gem_hits(exposed[0], snapshot, parsed.topk, parsed.return_scores)
    return hit_lists(exposed, snapshot, parsed.topk, parsed.return_scores)


def encode(payload: Any, as_msgpack: bool) -> tuple[bytes, str]:
    """A response body and its media type."""
    if as_msgpack:
        return msgpack.packb(payload, use_bin_type=True), MSGPACK_TYPE
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode(), JSON_TYPE
