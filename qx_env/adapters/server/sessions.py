"""Sessions of the retrieval server: each holds one episode's removal state (the env's
:class:`~qx_env.envs.AuditedSearch` under the server's dynamics) over one shared search system, so
removal-on-detection works for many concurrent rollouts. Only the search worker thread calls in.

Under adaptive dynamics the search system is over the world of dormant versions and each session is a platform
run of its own (:class:`qx_env.envs.AdaptiveClock` on that world, the timeline of the server's seed): a reset
hands out the next report the run files, the session's queries take listings down for the rest of the run and
make the campaigns they hit reword, and session-less searches are refused (there is no clock outside a run)."""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from qx_env.adapters.server.config import ServerConfig
from qx_env.adapters.server.formats import BadRequest
from qx_env.envs import AdaptiveClock
from qx_env.online import OnlineWorld
from qx_env.search import AuditedSearch, SearchSystem

#: What a session counts (read only through the evaluation endpoint).
TOTALS = ("requests", "queries", "toxic_hits", "new_detections", "effective_queries")


@dataclass
class Session:
    """One episode: its auditor, its live-item mask between requests, and what it did (hidden)."""

    audit: AuditedSearch
    alive: np.ndarray
    last_used: float
    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOTALS, 0))
    #: Under adaptive dynamics: the session's platform run, its current report (id, text as posted) and the
    #: items its own queries detected.
    clock: AdaptiveClock | None = None
    report: tuple[str, str] | None = None
    found: list[int] = field(default_factory=list)


class SessionStore:
    """Sessions by id, at most ``config.max_sessions`` (idle ones past ``session_ttl`` make room)."""

    def __init__(self, system: SearchSystem, config: ServerConfig, world: OnlineWorld | None = None) -> None:
        self.system = system
        self.config = config
        self.dynamics = config.parsed_dynamics()
        #: The world of the sessions' platform runs (adaptive dynamics), else None.
        self.world = world
        snapshot = system.snapshot
        if config.hide_reported and world is None:
            item_ids = snapshot.reports_in(config.split).column("item_id").to_pylist()
            self.known = np.array([snapshot.position_of[i] for i in item_ids], dtype=np.int64)
        else:
            self.known = np.empty(0, np.int64)
        #: The live items of a session-less search: the snapshot less the known (reported) items.
        self.pristine = np.ones(len(snapshot), dtype=bool)
        self.pristine[self.known] = False
        self.sessions: OrderedDict[str, Session] = OrderedDict()

    # ---- lifecycle ------------------------------------------------------------------------
    def _seed(self, session_id: str) -> int:
        digest = hashlib.sha256(f"{self.config.seed}:{session_id}".encode()).digest()
        return int.from_bytes(digest[:8], "little")

    def _make_room(self) -> None:
        if len(self.sessions) < self.config.max_sessions:
            return
        now = time.monotonic()
        for session_id in [s for s, v in self.sessions.items() if now - v.last_used > self.config.session_ttl]:
            del self.sessions[session_id]
        if len(self.sessions) >= self.config.max_sessions:
            raise BadRequest(429, f"too many sessions ({len(self.sessions)} open, none idle for "
                                  f"{self.config.session_ttl:g} s); DELETE /session/{{id}} finished ones or "
                                  "raise qx serve --max-sessions")

    def reset(self, session_id: str) -> bool:
        """Start (or restart) a session on the snapshot; True when it is new. Under adaptive dynamics a new
        session starts a platform run and a reset of one moves its run on to the next report it files."""
        if self.world is not None:
            return self._next_report(session_id)
        session = self.sessions.get(session_id)
        if session is None:
            self._make_room()
            audit = AuditedSearch(self.system, self.dynamics, seed=self._seed(session_id), known=self.known)
            self.sessions[session_id] = Session(audit, self.system.alive.copy(), time.monotonic())
            return True
        session.audit.reset(full=True, rng=np.random.default_rng(self._seed(session_id)))
        session.alive[:] = self.system.alive
        session.totals = dict.fromkeys(TOTALS, 0)
        session.last_used = time.monotonic()
        return False

    def _next_report(self, session_id: str) -> bool:
        """The session's run moved on to its next filed report (a new session: a new run first)."""
        session = self.sessions.get(session_id)
        created = session is None
        if created:
            self._make_room()
            clock = AdaptiveClock.on_world(self.world, self.config.split)
            clock.restart(self.system, self.config.seed)  # takes everything down until its days bring it online
            session = Session(clock.platform.audit, self.system.alive.copy(), time.monotonic(), clock=clock)
            self.sessions[session_id] = session
        self.system.alive[:] = session.alive
        session.report = session.clock.next_report(self.system)
        session.audit = session.clock.platform.audit  # a run that reached its end started again
        session.alive[:] = self.system.alive
        session.last_used = time.monotonic()
        return created

    def report(self, session_id: str) -> dict:
        """The session's current report under adaptive dynamics (id and listing text as posted); else nothing."""
        session = self.sessions.get(session_id)
        if session is None or session.report is None:
            return {}
        return {"report_id": session.report[0], "report": session.report[1]}

    def drop(self, session_id: str) -> bool:
        """Forget a session; True when there was one."""
        return self.sessions.pop(session_id, None) is not None

    def get(self, session_id: str) -> Session:
        """A session, made on first use with ``auto_sessions``; otherwise an unknown one is a 404."""
        if session_id not in self.sessions:
            if not self.config.auto_sessions:
                raise BadRequest(404, f"unknown session {session_id!r}; start it with POST /session/"
                                      f"{session_id}/reset (or run qx serve --auto-sessions)")
            self.reset(session_id)
        session = self.sessions[session_id]
        session.last_used = time.monotonic()
        self.sessions.move_to_end(session_id)
        return session

    # ---- searching ------------------------------------------------------------------------
    def search_static(self, queries: list[str]) -> list[np.ndarray]:
        """Exposed item positions of session-less queries, searched in one batch call over the snapshot
        (known items down, nothing removed)."""
        if self.world is not None:
            raise BadRequest(400, "under adaptive dynamics every search belongs to a session's platform run: name a "
                                  "session (POST /session/{id}/reset, or the session header)")
        self.system.alive[:] = self.pristine
        return [hits.positions for hits in self.system.batch_search(queries)]

    def search(self, session_id: str, queries: list[str]) -> list[np.ndarray]:
        """One request of a session: its queries in order, each exposing the top k to the auditor,
        whose detections the dynamics remove from this session only; then one step of the clock."""
        session = self.get(session_id)
        self.system.alive[:] = session.alive
        if session.clock is not None:  # the run's sellers hear of what the queries took down
            outcomes = [session.clock.run(query) for query in queries]
            session.found += [int(x) for o in outcomes for x in o.new]
        else:
            outcomes = [session.audit.run(query) for query in queries]
        session.audit.tick()
        session.alive[:] = self.system.alive
        totals = session.totals
        totals["requests"] += 1
        for outcome in outcomes:
            totals["queries"] += 1
            totals["toxic_hits"] += outcome.toxic_hits
            totals["new_detections"] += len(outcome.new)
            totals["effective_queries"] += int(outcome.effective)
        return [o.exposed for o in outcomes]

    def evaluation(self, session_id: str) -> dict:
        """What a session found (hidden information: for evaluation only)."""
        session = self.get(session_id)
        if session.clock is not None:  # the run's filed reports are detected too: only the queries' finds count
            detected = np.zeros(len(self.system.snapshot), dtype=bool)
            detected[session.found] = True
        else:
            detected = session.audit.detected.copy()
            detected[self.known] = False
        ids = self.system.snapshot.ids
        return {"session_id": session_id, **session.totals,
                "detected_ids": [str(i) for i in ids[np.flatnonzero(detected)]]}
