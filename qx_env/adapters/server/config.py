"""What ``qx serve`` serves and the bounds it keeps: one dataclass, whose fields are the command's flags."""

from __future__ import annotations

from dataclasses import dataclass

from indexes import MAX_QUERY_CHARS
from qx_env.envs import ADAPTIVE
from qx_env.errors import QxError
from qx_env.flags import name_list
from qx_env.online import OnlineConfig
from qx_env.search import DYNAMICS, Dynamics, SearchSettings
from qx_env.specs import spec_options, split_spec


@dataclass
class ServerConfig:
    """Settings of the retrieval server (each field is a ``qx serve`` flag; ``modes`` and ``split`` also take
    one comma-separated string)."""

    host: str = "127.0.0.1"
    """Address to listen on (loopback by default; another address exposes the server to the network)."""
    port: int = 8000
    """TCP port to listen on (0 picks a free one)."""
    modes: tuple[str, ...] = ("keyword",)
    """Retrieval modes, comma-separated (keyword, embedding, graph) or hybrid."""
    k: int = 100
    """Items a query exposes to the simulated auditor (the platform's top k); responses carry the first topk."""
    candidates: int | None = None
    """Items retrieved per mode before ranking (default: the larger of k and 1,000)."""
    ranker: str = "retrieval"
    """Ranker spec: retrieval, risk, oracle[:auc=0.8], lm:path=DIR or scores:path=DIR."""
    match: str = "exact"
    """Keyword matching rule: exact or bm25."""
    dynamics: str = "removal"
    """What a session's detections do: static, removal (removal-on-detection) or delayed:delay=N, each with
    options recall=R, repost_rate=P (e.g. removal:recall=0.9); or adaptive[:days=N,report_rate=R,...] (the
    fields of qx_env.online.OnlineConfig): each session is a platform run of weeks online whose resets hand out
    the reports it files and whose takedowns make campaigns reword."""
    split: tuple[str, ...] = ("test",)
    """Split(s), comma-separated, whose reported items are known and taken down before any search (as in the
    env)."""
    hide_reported: bool = True
    """Take the split's reported items down in every session and in session-less searches."""
    topk: int = 3
    """Documents per query when a request names no topk (Search-R1's default)."""
    seed: int = 0
    """Seed of each session's auditor (used when the dynamics' recall is below 1)."""
    max_sessions: int = 1024
    """Sessions held at once; a new one beyond this gets 429 (idle ones past --session-ttl are dropped first)."""
    session_ttl: float = 3600.0
    """Seconds a session may stay idle before it may be dropped to make room."""
    auto_sessions: bool = False
    """Create a session on the first request that names it (otherwise POST /session/{id}/reset first)."""
    evaluation: bool = False
    """Open GET /session/{id}/evaluation (a session's toxic hits and detections; hidden information)."""
    max_body_bytes: int = 1 << 20
    """Largest request body accepted (413 beyond)."""
    max_queries: int = 256
    """Most queries in one request."""
    max_query_chars: int = MAX_QUERY_CHARS
    """Longest query accepted, in characters (by default what the indexes search: longer ones are cut)."""
    max_batch: int = 256
    """Most queued requests served in one pass of the search worker."""

    def __post_init__(self) -> None:
        self.modes, self.split = tuple(name_list(self.modes)), tuple(name_list(self.split))
        if not 0 <= self.port <= 65535:
            raise QxError(f"port must be in [0, 65535], got {self.port}")
        self.search_settings()  # the search settings' own checks
        if not 1 <= self.topk <= self.k:
            raise QxError(f"topk must be in [1, k={self.k}], got {self.topk}")
        for name in ("max_sessions", "max_body_bytes", "max_queries", "max_query_chars", "max_batch"):
            if getattr(self, name) < 1:
                raise QxError(f"{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.session_ttl <= 0:
            raise QxError(f"session-ttl must be positive, got {self.session_ttl}")
        self.parsed_dynamics()

    def search_settings(self, build: bool = False) -> SearchSettings:
        """How the server's search system searches (``build``: build missing indexes)."""
        return SearchSettings(modes=self.modes, k=self.k, candidates=self.candidates, ranker=self.ranker,
                              match=self.match, build=build)

    def parsed_dynamics(self) -> Dynamics:
        """The :class:`Dynamics` of ``dynamics`` (``kind[:key=value,...]``); a platform run's (removal) for
        adaptive."""
        kind, arguments = split_spec(self.dynamics)
        if kind == ADAPTIVE:
            self.online_config()
            return Dynamics(kind="removal")
        if kind not in DYNAMICS:
            raise QxError(f"unknown dynamics {kind!r}; choose from {', '.join((*DYNAMICS, ADAPTIVE))}")
        return Dynamics(kind=kind, **spec_options("dynamics", kind, arguments, Dynamics))

    def online_config(self) -> OnlineConfig | None:
        """The :class:`~qx_env.online.OnlineConfig` of ``adaptive[:key=value,...]`` dynamics; None for the others."""
        kind, arguments = split_spec(self.dynamics)
        if kind != ADAPTIVE:
            return None
        return OnlineConfig(**spec_options("dynamics", kind, arguments, OnlineConfig))
