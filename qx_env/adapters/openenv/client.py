"""The OpenEnv client of Explore-v0 (a WebSocket session per client: its own episode and removals)."""

from __future__ import annotations

from typing import Any

from openenv.core.client_types import StepResult
from openenv.core.env_client import EnvClient

from qx_env.adapters.openenv.models import ExploreAction, ExploreObservation, ExploreState


class ExploreClient(EnvClient[ExploreAction, ExploreObservation, ExploreState]):
    """``async with ExploreClient(base_url="http://127.0.0.1:8000") as env: await env.reset(report_id=...)``;
    ``ExploreClient(base_url=...).sync()`` for blocking calls."""

    def _step_payload(self, action: ExploreAction) -> dict[str, Any]:
        return action.model_dump(exclude={"metadata"})

    def _parse_result(self, payload: dict[str, Any]) -> StepResult[ExploreObservation]:
        observation = ExploreObservation(**payload.get("observation", {}), reward=payload.get("reward"),
                                         done=payload.get("done", False))
        return StepResult(observation=observation, reward=payload.get("reward"), done=payload.get("done", False))

    def _parse_state(self, payload: dict[str, Any]) -> ExploreState:
        return ExploreState(**payload)
