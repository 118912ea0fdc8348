"""Personalized PageRank by forward push (Andersen, Chung and Lang, "Local graph partitioning using
PageRank vectors", FOCS 2006): mass starts on the seeds and is pushed along edges only from nodes
whose residual is at least ``tolerance`` times their degree. The work depends on the seeds'
neighbourhood and the tolerance, not on the size of the graph, and every node the walk never
reaches keeps a score of exactly zero.

The estimate ``p`` and residual ``r`` keep the invariant ``ppr = p + sum_v r[v] * ppr_v`` (the
exact vector is the estimate plus the PageRank of what is still unpushed), so when pushing stops
every node's estimate is below its exact score by at most ``tolerance * degree`` per unit of seed
mass.

Pushes run in rounds: every node over its threshold pushes at once, which reaches the same fixed
point as pushing one node at a time. Two engines run the same rounds with the same floating-point
operations in the same order, so they give the same estimates to the bit: ``qx.ForwardPush``
(``indexes/java``, one JVM call per walk) where qx-env's Java compiled, numpy over CSR rows otherwise
(a dozen numpy calls per round: a walk at a million items about 25 ms, against 8.5 to 11 ms in
Java, where the walk's work itself dominates; see README "Cost against corpus size").
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

#: Probability of following an edge rather than restarting at a seed (PageRank's usual 0.85).
DAMPING = 0.85
_TINY = np.finfo(np.float64).tiny
ENGINES = ("auto", "java", "numpy")
_java_lock = threading.Lock()


@dataclass(frozen=True)
class PushGraph:
    """An undirected weighted graph as CSR arrays, ready for :func:`forward_push`."""

    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    degree: np.ndarray  # weighted degree of every node
    _scratch: threading.local = field(default_factory=threading.local, compare=False, repr=False)
    _java: list = field(default_factory=list, compare=False, repr=False)  # [qx.ForwardPush or None], once

    @classmethod
    def from_adjacency(cls, adjacency: sp.csr_array) -> PushGraph:
        adjacency = sp.csr_array(adjacency)
        degree = np.asarray(adjacency.sum(axis=1)).ravel().astype(np.float64)
        return cls(adjacency.indptr.astype(np.int64), adjacency.indices.astype(np.int64),
                   adjacency.data.astype(np.float64), degree)

    @property
    def size(self) -> int:
        return len(self.degree)

    def java(self):
        """This graph in ``qx.ForwardPush`` (made once; the JVM starts if it has not), or ``None`` when
        qx-env's Java did not compile."""
        with _java_lock:
            if not self._java:
                from indexes._java import helper_class

                engine = helper_class("qx.ForwardPush")
                unweighted = bool((self.weights == 1.0).all())
                self._java.append(None if engine is None else engine(
                    self.indptr.astype("<i4").tobytes(), self.indices.astype("<i4").tobytes(),
                    b"" if unweighted else self.weights.astype("<f8").tobytes(), self.degree.astype("<f8").tobytes(),
                    self.locality_order().astype("<i4").tobytes()))
        return self._java[0]

    def locality_order(self) -> np.ndarray:
        """Nodes in reverse Cuthill-McKee order (scipy): neighbours get nearby numbers, so a walk's
        nodes lie close together in memory (the Java engine stores them so; results do not change)."""
        from scipy.sparse.csgraph import reverse_cuthill_mckee

        adjacency = sp.csr_matrix((self.weights, self.indices, self.indptr), shape=(self.size, self.size))
        return np.asarray(reverse_cuthill_mckee(adjacency, symmetric_mode=True), dtype=np.int64)

    def scratch(self) -> tuple[np.ndarray, np.ndarray]:
        """Zeroed residual and estimate arrays of this thread (reused: only touched entries are
        reset, so a push costs nothing proportional to the graph's size)."""
        local = self._scratch
        if getattr(local, "arrays", None) is None:
            local.arrays = (np.zeros(self.size), np.zeros(self.size))
        return local.arrays


def forward_push(graph: PushGraph, seeds: np.ndarray, mass: np.ndarray, tolerance: float,
                 damping: float = DAMPING, below: int | None = None, at_least: float = 0.0,
                 engine: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """Approximate personalized PageRank of the restart distribution ``mass`` on ``seeds``
    (normalised to sum 1). Returns the nodes with a positive estimate (ascending; only those below
    ``below`` whose estimate is at least ``at_least``) and their estimates. A node with no edges keeps
    all the mass that reaches it (a walk there can only restart). ``engine``: ``java``, ``numpy``, or
    ``auto`` (Java where it compiled; see the module docstring)."""
    if tolerance <= 0:
        raise ValueError(f"the push tolerance must be positive, got {tolerance}")
    if engine not in ENGINES:
        raise ValueError(f"unknown push engine {engine!r}; choose from {', '.join(ENGINES)}")
    seeds = np.asarray(seeds, dtype=np.int64)
    mass = np.asarray(mass, dtype=np.float64)
    if len(seeds) == 0 or mass.sum() <= 0:
        return np.empty(0, np.int64), np.empty(0, np.float64)
    frontier, inverse = np.unique(seeds, return_inverse=True)
    start = np.bincount(inverse, weights=mass / mass.sum())
    below = graph.size if below is None else below
    java = graph.java() if engine != "numpy" else None
    if engine == "java" and java is None:
        raise RuntimeError("qx.ForwardPush is not available: qx-env's Java did not compile (no javac 17+)")
    if java is not None:
        found = java.push(frontier.astype("<i4").tobytes(), start.astype("<f8").tobytes(), float(tolerance),
                          float(damping), float(_TINY), int(below), float(at_least))
        found = found.tostring() if hasattr(found, "tostring") else bytes(found)  # pyjnius' ByteArray: one copy
        count = int(np.frombuffer(found, "<i4", 1)[0])
        nodes = np.frombuffer(found, "<i4", count, 4).astype(np.int64)
        return nodes, np.frombuffer(found, "<f8", count, 4 + 4 * count).copy()
    nodes, scores = _push_numpy(graph, frontier, start, tolerance, damping)
    keep = (nodes < below) & (scores >= at_least)
    return nodes[keep], scores[keep]


def _push_numpy(graph: PushGraph, frontier: np.ndarray, start: np.ndarray, tolerance: float,
                damping: float) -> tuple[np.ndarray, np.ndarray]:
    residual, estimate = graph.scratch()
    degree, indptr, indices, weights = graph.degree, graph.indptr, graph.indices, graph.weights
    residual[frontier] += start
    touched = [frontier]
    try:
        while len(frontier):
            pushed = residual[frontier].copy()
            residual[frontier] = 0.0
            deg = degree[frontier]
            isolated = deg <= 0
            estimate[frontier] += np.where(isolated, pushed, (1.0 - damping) * pushed)
            nodes, pushed, deg = frontier[~isolated], pushed[~isolated], deg[~isolated]
            if not len(nodes):
                break
            starts, counts = indptr[nodes], indptr[nodes + 1] - indptr[nodes]
            total = int(counts.sum())
            offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(counts)[:-1])), counts) + np.arange(total)
            targets, slots = np.unique(indices[offsets], return_inverse=True)
            residual[targets] += np.bincount(slots, weights=np.repeat(damping * pushed / deg, counts) * weights[offsets])
            touched.append(targets)
            # A node with no edges pushes whatever reaches it (into its own estimate).
            frontier = targets[residual[targets] >= np.maximum(tolerance * degree[targets], _TINY)]
        reached = np.unique(np.concatenate(touched))
        positive = reached[estimate[reached] > 0]
        return positive, estimate[positive].copy()
    finally:
        for nodes in touched:
            residual[nodes] = 0.0
            estimate[nodes] = 0.0
