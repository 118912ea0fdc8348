"""The typed messages of the OpenEnv environment: the env's observation fields only (the report, the
budget, the query history with exposed and detected counts, the texts of the top results), never an
item's label or id."""

from __future__ import annotations

from openenv.core.env_server.types import Action, Observation, State
from pydantic import Field


class ExploreAction(Action):
    """One step: a query, a list of queries, or a model answer in the paper's format."""

    query: str | list[str] = Field(description="a query, a list of queries, or an answer in the paper's format")


class ExploreObservation(Observation):
    """What the policy sees after a reset or a step (``reward`` and ``done`` as in OpenEnv)."""

    report_id: str = Field(default="", description="the episode's report")
    report: str = Field(default="", description="the reported listing's text")
    budget: int = Field(default=0, description="queries left in the episode")
    history: list[dict[str, str | int]] = Field(
        default_factory=list, description="this episode's queries with their exposed and detected counts")
    results: list[str] = Field(default_factory=list, description="texts of the last query's top exposed items")


class ExploreState(State):
    """The session's episode: its report, queries searched, budget left and summed reward."""

    report_id: str = Field(default="", description="the episode's report")
    budget: int = Field(default=0, description="queries left in the episode")
    queries: int = Field(default=0, description="queries searched this episode")
    total_reward: float = Field(default=0.0, description="the episode's rewards so far, summed")
