"""qx-env: a search-engine-feedback simulation environment for query extraction in toxic-content
exploration, after the QExplorer paper."""

__version__ = "0.1.0"

from qx_env.errors import CorpusSourceError, IndexDataError, QxError, SnapshotError
from qx_env.snapshot import Snapshot, SnapshotMeta

__all__ = ["CorpusSourceError", "IndexDataError", "QxError", "Snapshot", "SnapshotError", "SnapshotMeta", "__version__"]


def _register() -> None:
    import gymnasium

    if "qx_env/Explore-v0" not in gymnasium.registry:
        gymnasium.register(id="qx_env/Explore-v0", entry_point="qx_env.envs:ExploreEnv")


_register()

_LAZY = {"SearchSystem": "qx_env.search", "ExploreEnv": "qx_env.envs", "Dynamics": "qx_env.search"}


def __getattr__(name: str):
    # The search system pulls in the retrieval stack (JVM, faiss): import it on first use.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'qx_env' has no attribute {name!r}")
