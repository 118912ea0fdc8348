"""qx-env: a search-engine-feedback simulation environment for query extraction in toxic-content
exploration, after the QExplorer paper."""

__version__ = "0.1.0"

from qx_env.errors import CorpusSourceError, IndexDataError, QxError, SnapshotError
from qx_env.snapshot import Snapshot, SnapshotMeta

__all__ = ["CorpusSourceError", "IndexDataError", "QxError", "Snapshot", "SnapshotError", "SnapshotMeta", "__version__"]


def __getattr__(name: str):
    # The search system pulls in the retrieval stack (JVM, faiss); import it on first use.
    if name == "SearchSystem":
        from qx_env.search import SearchSystem

        return SearchSystem
    raise AttributeError(f"module 'qx_env' has no attribute {name!r}")
