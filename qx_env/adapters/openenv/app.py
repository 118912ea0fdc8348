"""The OpenEnv HTTP app of Explore-v0, made with OpenEnv's ``create_fastapi_app``: WebSocket sessions
at ``/ws`` (one :class:`ExploreEnvironment` each, at most ``max_sessions`` at once), plus OpenEnv's
``/reset``, ``/step``, ``/state``, ``/schema`` and ``/health``.

Two things are added to OpenEnv's app: an error a user caused (a :class:`QxError`) on the plain HTTP
routes is a 4xx whose ``detail`` names it, not a bare 500; and a WebSocket client beyond
``max_sessions`` is told the server is full and how to raise the limit, in OpenEnv's error message and
in the close frame (OpenEnv closes with 1000 "OK", which its client reports as ``ConnectionClosedOK``
when it sends its first message)."""

from __future__ import annotations

import functools
import json
from typing import Any

from qx_env.errors import QxError

#: Concurrent sessions by default: at least a generation batch (e.g. 8 prompts x 8 generations).
MAX_SESSIONS = 64
#: WebSocket close code for a full server: 1013 "try again later" (RFC 6455 registry).
TRY_AGAIN_LATER = 1013
#: Longest close reason a WebSocket frame carries, in bytes.
MAX_CLOSE_REASON = 123
#: The HTTP routes' hint when a step comes before a reset: each plain HTTP request has its own environment.
HTTP_STEP_HINT = ("; over plain HTTP every /reset and /step gets a fresh environment, so an episode lives in a "
                  "WebSocket session at /ws (qx_env.adapters.openenv.ExploreClient or openenv's GenericEnvClient)")


def full_message(active: int, limit: int) -> str:
    """What a client beyond the limit is told (it fits a WebSocket close reason)."""
    return (f"server full: {active} of {limit} sessions in use; "
            f"raise the limit with --max-sessions (create_openenv_app(max_sessions=...))")


class FullServerNotice:
    """ASGI middleware on ``/ws``: when OpenEnv refuses a session at capacity, the error message and the
    close frame (code 1013) say the server is full and name ``--max-sessions``."""

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        notice: list[str] = []

        async def sending(message: dict) -> None:
            if message["type"] == "websocket.send" and not notice and "CAPACITY_REACHED" in (message.get("text") or ""):
                reply = json.loads(message["text"])
                data = reply.get("data") or {}
                if reply.get("type") == "error" and data.get("code") == "CAPACITY_REACHED":
                    notice.append(full_message(data.get("active_sessions", self.limit),
                                               data.get("max_sessions", self.limit)))
                    reply["data"] = {**data, "message": notice[0]}
                    message = {**message, "text": json.dumps(reply)}
            elif message["type"] == "websocket.close" and notice:
                reason = notice[0].encode()[:MAX_CLOSE_REASON].decode(errors="ignore")
                message = {**message, "code": TRY_AGAIN_LATER, "reason": reason}
            await send(message)

        await self.app(scope, receive, sending)


def create_openenv_app(snapshot, max_sessions: int = MAX_SESSIONS, **options: Any):
    """The app over ``snapshot`` (a saved directory); ``options`` as :class:`ExploreEnvironment`'s
    (search system and ``ExploreEnv`` options). The snapshot and search system open now, so a missing
    snapshot or index, or a bad option, is refused before the server starts."""
    from fastapi import Request
    from fastapi.responses import JSONResponse
    from openenv.core.env_server.http_server import create_fastapi_app

    from qx_env.adapters.openenv.environment import ExploreEnvironment, NoEpisodeError
    from qx_env.adapters.openenv.models import ExploreAction, ExploreObservation

    if max_sessions < 1:
        raise QxError(f"max_sessions must be at least 1, got {max_sessions}")
    factory = functools.partial(ExploreEnvironment, str(getattr(snapshot, "path", snapshot)), **options)
    factory().episode.open()  # a bad snapshot, missing indexes or bad options are refused now, not in a session
    app = create_fastapi_app(factory, ExploreAction, ExploreObservation, max_concurrent_envs=max_sessions)

    async def refused(_: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, NoEpisodeError):
            return JSONResponse({"detail": str(exc) + HTTP_STEP_HINT}, status_code=409)
        return JSONResponse({"detail": str(exc)}, status_code=400)

    app.add_exception_handler(QxError, refused)
    app.add_middleware(FullServerNotice, limit=max_sessions)
    return app
