"""The OpenEnv HTTP app of Explore-v0, made with OpenEnv's ``create_fastapi_app``: WebSocket sessions
at ``/ws`` (one :class:`ExploreEnvironment` each, at most ``max_sessions`` at once), plus OpenEnv's
``/reset``, ``/step``, ``/state``, ``/schema`` and ``/health``."""

from __future__ import annotations

import functools
from typing import Any

from qx_env.errors import QxError

#: Concurrent sessions by default: at least a generation batch (e.g. 8 prompts x 8 generations).
MAX_SESSIONS = 64


def create_openenv_app(snapshot, max_sessions: int = MAX_SESSIONS, **options: Any):
    """The app over ``snapshot`` (a saved directory); ``options`` as :class:`ExploreEnvironment`'s
    (search system and ``ExploreEnv`` options). The snapshot and search system open now, so a missing
    snapshot or index, or a bad option, is refused before the server starts."""
    from openenv.core.env_server.http_server import create_fastapi_app

    from qx_env.openenv.environment import ExploreEnvironment
    from qx_env.openenv.models import ExploreAction, ExploreObservation

    if max_sessions < 1:
        raise QxError(f"max_sessions must be at least 1, got {max_sessions}")
    factory = functools.partial(ExploreEnvironment, str(getattr(snapshot, "path", snapshot)), **options)
    factory().episode.open()  # a bad snapshot, missing indexes or bad options are refused now, not in a session
    return create_fastapi_app(factory, ExploreAction, ExploreObservation, max_concurrent_envs=max_sessions)
