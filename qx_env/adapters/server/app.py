"""The retrieval server's HTTP app (FastAPI): ``POST /retrieve`` in the Search-R1 / verl / rllm /
SkyRL shape and GEM's (one msgpack query, a flat answer), sessions with their own removal state, ``/health``, ``/stats``
and, only when enabled, a session's evaluation. Bad bodies are 4xx with ``{"error": "..."}``."""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from qx_env import __version__
from qx_env.adapters.server.batching import SearchWorker
from qx_env.adapters.server.config import ServerConfig
from qx_env.adapters.server.formats import (
    SESSION_HEADER,
    BadRequest,
    check_session_id,
    decode_body,
    encode,
    parse_retrieve,
    retrieve_result,
    wants_msgpack,
)
from qx_env.adapters.server.sessions import SessionStore
from qx_env.adapters.server.stats import ServingStats
from qx_env.errors import QxError
from qx_env.online import build_world
from qx_env.search import SearchSystem
from qx_env.snapshot import Snapshot

log = logging.getLogger("qx_env.adapters.server")
#: How much of an over-long body is read (and dropped) before answering 413, in multiples of the limit.
DRAIN_FACTOR = 16


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, at most ``limit`` bytes (413 beyond; the rest is drained so the client reads it)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        size = declared if declared.isdigit() else repr(declared)
        raise BadRequest(413, f"request body of {size} bytes is over the {limit}-byte limit "
                              "(qx serve --max-body-bytes)")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            if size > DRAIN_FACTOR * limit:
                break
            continue
        chunks.append(chunk)
    if size > limit:
        raise BadRequest(413, f"request body over the {limit}-byte limit (qx serve --max-body-bytes)")
    return b"".join(chunks)


def create_app(snapshot: Snapshot, config: ServerConfig | None = None, system: SearchSystem | None = None,
               build: bool = True) -> FastAPI:
    """The app over ``snapshot`` (or a given ``system``); its search worker runs while the app does.
    ``build``: build missing indexes (with a warning) instead of refusing."""
    config = config or ServerConfig()
    world = None
    online = config.online_config()
    if online is not None:  # sessions are platform runs over the world of dormant versions
        if snapshot.path is None:
            raise QxError("adaptive dynamics write their world (the listings' dormant versions) beside the snapshot: "
                          "serve a saved snapshot")
        world = build_world(snapshot, online, Path(snapshot.path) / "online")
        snapshot = world.snapshot
    if system is None:
        system = SearchSystem.from_settings(snapshot, config.search_settings(build))
    elif system.k < config.k:
        raise QxError(f"the search system exposes k={system.k}, fewer than the server's k={config.k}")
    elif system.snapshot.fingerprint != snapshot.fingerprint:
        raise QxError("the search system given is over another snapshot than the one served (under adaptive "
                      "dynamics: its world, SNAPSHOT/online)")
    store = SessionStore(system, config, world)
    worker = SearchWorker(store, config.max_batch)
    stats = ServingStats()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI):
        worker.start()
        try:
            yield
        finally:
            worker.stop()

    app = FastAPI(title="qx-env retrieval server", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.store, app.state.worker, app.state.stats, app.state.config = store, worker, stats, config
    app.state.snapshot = snapshot  # what is served: under adaptive dynamics the world of dormant versions

    async def answered(request: Request, handler, queries: int = 0) -> Response:
        """Run ``handler``, turning refusals into 4xx and surprises into a one-line 500; count it."""
        started = time.perf_counter()
        count = [queries]
        try:
            response = await handler(count)
        except BadRequest as exc:
            response = _error(exc.status, exc.message)
        except QxError as exc:
            response = _error(400, str(exc))
        except Exception as exc:  # noqa: BLE001 - the server keeps serving; the client gets one line
            log.error("internal error on %s: %s: %s", request.url.path, type(exc).__name__, exc)
            response = _error(500, f"internal error: {type(exc).__name__}: {exc}")
        stats.record(time.perf_counter() - started, count[0], response.status_code)
        return response

    def session_path(session_id: str) -> str:
        return check_session_id(session_id, "the session id in the path")

    @app.post("/retrieve")
    async def retrieve(request: Request) -> Response:
        async def handle(count: list[int]) -> Response:
            body = await read_body(request, config.max_body_bytes)
            as_msgpack = wants_msgpack(request.headers.get("content-type", ""), request.headers.get("accept", ""),
                                       body)
            parsed = parse_retrieve(decode_body(body, as_msgpack), request.headers.get(SESSION_HEADER), config)
            exposed = await worker.search(parsed.session_id, parsed.queries)
            count[0] = len(parsed.queries)
            content, media_type = encode({"result": retrieve_result(parsed, exposed, snapshot, as_msgpack)},
                                         as_msgpack)
            return Response(content, media_type=media_type)

        return await answered(request, handle)

    @app.post("/session")
    async def new_session(request: Request) -> Response:
        async def handle(_: list[int]) -> Response:
            session_id = uuid.uuid4().hex
            await worker.call(lambda: store.reset(session_id))
            return JSONResponse({"session_id": session_id, "created": True, **store.report(session_id)})

        return await answered(request, handle)

    @app.post("/session/{session_id}/reset")
    async def reset_session(session_id: str, request: Request) -> Response:
        async def handle(_: list[int]) -> Response:
            name = session_path(session_id)
            created = await worker.call(lambda: store.reset(name))
            return JSONResponse({"session_id": name, "created": created, **store.report(name)})

        return await answered(request, handle)

    @app.delete("/session/{session_id}")
    async def drop_session(session_id: str, request: Request) -> Response:
        async def handle(_: list[int]) -> Response:
            name = session_path(session_id)
            if not await worker.call(lambda: store.drop(name)):
                raise BadRequest(404, f"unknown session {name!r}")
            return JSONResponse({"session_id": name, "dropped": True})

        return await answered(request, handle)

    @app.get("/session/{session_id}/evaluation")
    async def evaluate_session(session_id: str, request: Request) -> Response:
        async def handle(_: list[int]) -> Response:
            if not config.evaluation:
                raise BadRequest(403, "the evaluation endpoint is off (it reads hidden labels); "
                                      "start qx serve with --evaluation")
            name = session_path(session_id)
            if name not in store.sessions:
                raise BadRequest(404, f"unknown session {name!r}")
            return JSONResponse(await worker.call(lambda: store.evaluation(name)))

        return await answered(request, handle)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "snapshot": snapshot.meta.name, "items": len(snapshot),
                "modes": list(system.modes), "k": config.k, "dynamics": config.dynamics,
                "sessions": len(store.sessions)}

    @app.get("/stats")
    async def serving_stats() -> dict[str, Any]:
        return {**stats.summary(), "sessions": len(store.sessions), "batches": worker.batches,
                "mean_batch": round(worker.jobs / worker.batches, 2) if worker.batches else 0.0,
                "backlog": worker.backlog}

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    return app
